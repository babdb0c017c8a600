"""Option types for the commands: each checks a value when the command line is read.

A bad value ends in one line ``error: segstudio CMD: argument --opt: ...``
and exit status 2 before any work starts (``cli.Parser``), instead of a
traceback later or a value silently ignored.  Use them as ``type=``::

    p.add_argument("--resize", type=int_range(0), ...)
    p.add_argument("--score-threshold", type=float_range(0, 1), ...)

Numbers are finite (``nan`` and ``inf`` are refused).  ``output_file`` and
``output_dir`` refuse paths that cannot be what they name (a folder given
for a file, a file given for a folder).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def _fail(text: str):
    raise argparse.ArgumentTypeError(text)


def int_range(lo: int | None = None, hi: int | None = None):
    """An integer in [lo, hi] (either bound optional)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            _fail(f"{text!r} is not a whole number")
        if lo is not None and value < lo or hi is not None and value > hi:
            _fail(f"{value} is out of range; give {_range(lo, hi)}")
        return value

    parse.__name__ = "integer"
    return parse


def float_range(lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False):
    """A finite number in [lo, hi]; ``lo_open``/``hi_open`` exclude the bound itself."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            _fail(f"{text!r} is not a number")
        if not math.isfinite(value):
            _fail(f"{text} is not a finite number")
        if lo is not None and (value < lo or lo_open and value == lo) or \
                hi is not None and (value > hi or hi_open and value == hi):
            _fail(f"{text} is out of range; give {_range(lo, hi, lo_open, hi_open)}")
        return value

    parse.__name__ = "number"
    return parse


def _range(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"a value {'>' if lo_open else '≥'} {lo} and {'<' if hi_open else '≤'} {hi}"
    if lo is not None:
        return f"a value {'>' if lo_open else '≥'} {lo}"
    return f"a value {'<' if hi_open else '≤'} {hi}"


def output_file(text: str) -> str:
    """A file to write: not an existing folder, and its folder (if it exists) is a folder."""
    path = Path(text)
    if not text.strip():
        _fail("an empty file name")
    if path.is_dir():
        _fail(f"{text} is a folder; give a file name, e.g. {path / 'metrics.json'}")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        _fail(f"{parent} is a file, so {text} cannot be created")
    return text


def output_dir(text: str) -> str:
    """A folder to write into: not an existing file."""
    if not text.strip():
        _fail("an empty folder name")
    if os.path.lexists(text) and not os.path.isdir(text):
        _fail(f"{text} is a file; give a folder (it is created if it does not exist)")
    return text
