"""Why a file cannot be read, said the way a user can act on it.

``file_problem`` looks at a path without opening it (opening a named pipe
would block forever) and tells apart a missing file, a broken link, a link
loop, a folder, a pipe or device, and a path the user may not enter.
``os_error_text`` words an ``OSError`` raised while reading, so that
"permission denied" is never reported as a damaged file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def os_error_text(e: OSError) -> str:
    """A short description of an OS error with what to do, without the file name."""
    code = e.errno
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied; check the permissions of the file and of the folders above it"
    if code == errno.ELOOP:
        return "a symbolic link loop (the link leads back to itself); fix or remove the link"
    if code == errno.ENOENT:
        return "not found"
    if code == errno.EISDIR:
        return "is a folder, not a file"
    if code == errno.ENAMETOOLONG:
        return "the path is too long for this system"
    if code == errno.ENOSPC:
        return "no space left on the disk; free some space or choose another folder"
    if code == errno.EIO:
        return "input/output error (the disk or network share failed); check the device"
    return str(e.strerror or e)


def missing_problem(path: str | os.PathLike, what: str = "file") -> str | None:
    """None if ``path`` exists (file or folder); else why it cannot be reached: not found, a broken
    link, a link loop, a folder on the way that may not be entered."""
    try:
        os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"is a broken symbolic link (its target {os.readlink(path)!r} does not exist)"
        return f"{what} not found"
    except OSError as e:
        return os_error_text(e)
    except ValueError:  # an embedded NUL character
        return f"is not a valid path for a {what}"
    return None


def file_problem(path: str | os.PathLike, what: str = "file") -> str | None:
    """None if ``path`` is a regular file that exists; else what is wrong (without the path)."""
    problem = missing_problem(path, what)
    if problem is not None:
        return problem
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        return f"is a folder, not a {what}"
    for test, kind in _KINDS:
        if test(st.st_mode):
            return f"is {kind}, not a regular file; give a {what}"
    return None


def open_problem(path: Path, what: str = "file") -> str | None:
    """``file_problem``, and for an empty regular file that it is empty."""
    problem = file_problem(path, what)
    if problem is None and os.stat(path).st_size == 0:
        return f"the {what} is empty (0 bytes); re-copy or re-export it"
    return problem
