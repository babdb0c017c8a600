"""Where the files that ship with segstudio live: model cards, icons, sample images.

In the source repository they are the top-level ``models/`` and ``resources/``
folders (one copy in git).  Building a wheel or an sdist copies them into the
package as ``segstudio/_data/models`` and ``segstudio/_data/resources``
(see ``setup.py``), so an installed segstudio (``pip install .``, ``pipx``, a
wheel, the PyInstaller bundle) reads them as package data through
``importlib.resources``.  A source checkout (editable install, or the package
on ``PYTHONPATH``) has no packaged copy and uses the folders beside the
package.  Qt-free and torch-free: the registry and the app both use it.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

PACKAGED = "_data"             # folder inside the package that builds fill
ASSETS = ("models", "resources")


def packaged_dir(name: str) -> Path | None:
    """The packaged copy of ``name`` (``models`` or ``resources``), if this segstudio has one."""
    try:
        found = importlib.resources.files("segstudio").joinpath(PACKAGED, name)
    except (ModuleNotFoundError, TypeError):
        return None
    # Installed packages (wheels, the PyInstaller bundle) live on disk as plain
    # files; the folder is handed out as a Path for shutil, Qt and json.
    return found if isinstance(found, Path) and found.is_dir() else None


def checkout_dir(name: str) -> Path | None:
    """``name`` beside the package in a source checkout (the folder holding ``pyproject.toml``)."""
    import segstudio

    root = Path(segstudio.__file__).resolve().parent.parent
    folder = root / name
    return folder if folder.is_dir() and (root / "pyproject.toml").is_file() else None


def asset_dir(name: str) -> Path | None:
    """The folder of ``name`` shipped with this segstudio: the packaged copy, else the checkout's."""
    if name not in ASSETS:
        raise ValueError(f"unknown asset folder {name!r}; one of {', '.join(ASSETS)}")
    return packaged_dir(name) or checkout_dir(name)


def searched(name: str) -> str:
    """Where ``asset_dir`` looked, for error messages."""
    import segstudio

    pkg = Path(segstudio.__file__).resolve().parent
    return f"{pkg / PACKAGED / name} and {pkg.parent / name}"
