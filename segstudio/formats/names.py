"""File names taken from datasets, and file names given to exported images.

Names read from a dataset (a COCO ``file_name``, a labelme ``imagePath``) are
untrusted: ``safe_relpath`` refuses absolute paths, drive letters, ``..``
and control characters, and ``inside`` refuses a path that leaves its folder
through a symbolic link, so nothing is ever read or written outside the
folders the user chose.  Non-ASCII names are fine.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from segstudio.errors import FormatError

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relpath(name: object, source: str, field: str = "file_name") -> str:
    """A dataset-relative path as a clean posix string, or FormatError naming ``source``."""
    if not isinstance(name, str) or not name.strip():
        raise FormatError(f"{source}: {field} {name!r} is not a file name")
    if any(ord(c) < 32 for c in name) or "\x7f" in name:
        raise FormatError(f"{source}: {field} {name!r} contains control characters; rename the file")
    text = name.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise FormatError(f"{source}: {field} {name!r} is an absolute path; it is refused, nothing outside "
                          "the chosen folder is read. Make it relative to the image folder")
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise FormatError(f"{source}: {field} {name!r} contains '..'; it is refused, nothing outside the "
                          "chosen folder is read. Make it relative to the image folder, without '..'")
    if not parts:
        raise FormatError(f"{source}: {field} {name!r} is not a file name")
    return "/".join(parts)


def inside(root: Path, rel: str, source: str) -> Path:
    """``root / rel``, refused if it resolves (e.g. through a symlink) outside ``root``."""
    path = root / rel
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        raise FormatError(f"{source}: {rel!r} leads outside {root} (through a link); it is refused") from None
    return path


def _utf8(name: str) -> str:
    """``name`` with undecodable bytes (lone surrogates from ``os.fsdecode``) written as ``%XX``."""
    if not any("\udc80" <= c <= "\udcff" for c in name):
        return name
    return "".join(f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else c for c in name)


def flat_names(keys: list[str]) -> dict[str, str]:
    """A unique flat file stem per project key (``street/0001`` -> ``street__0001``).

    Dataset formats such as Pascal VOC want one folder of files named by an id.
    Names that would clash (also when compared without case, as on macOS and
    Windows) get a ``~2``, ``~3`` ... suffix; leading/trailing spaces are removed
    because VOC list files are read line by line and stripped.  Bytes of a file
    name that is not UTF-8 on disk become ``%XX``, so the lists are UTF-8 text.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for key in keys:
        base = "__".join(part.strip() for part in _utf8(key).split("/")) or "image"
        name, n = base, 1
        while name.casefold() in used:
            n += 1
            name = f"{base}~{n}"
        used.add(name.casefold())
        out[key] = name
    return out
