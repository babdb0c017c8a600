"""Child interpreters that import the same segstudio as this test run.

Tests start ``python -m segstudio`` or ``python -c ...`` in subprocesses.  They
must find the segstudio under test wherever it is: a source checkout, an
editable install, or a wheel installed in site-packages (the test suite does
not assume a checkout).  ``PKG_ROOT`` is the folder that holds the imported
``segstudio`` package; ``env()`` puts it first on ``PYTHONPATH`` and
``CWD`` is a working folder that shadows nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

import segstudio

PKG_ROOT = Path(segstudio.__file__).resolve().parents[1]
CWD = str(PKG_ROOT)


def env(**extra: str) -> dict[str, str]:
    """The current environment with ``PKG_ROOT`` first on ``PYTHONPATH`` (plus ``extra``)."""
    e = dict(os.environ, **extra)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(PKG_ROOT), e.get("PYTHONPATH", "")) if p)
    return e
