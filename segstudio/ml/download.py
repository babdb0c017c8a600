"""Download published weights into the torch hub cache, safely.

The file lands in ``<torch hub dir>/checkpoints/<file name>`` (the place
``torch.hub.load_state_dict_from_url`` uses, so both share the cache).  It is
streamed into a temporary file in the same folder, its SHA-256 is checked
against the prefix torchvision puts in the file name (``name-<hash>.pth``) or
an explicit digest, and only then moved into place with ``os.replace``: the
cache never holds a half-written or corrupt file.  A progress callback
``progress(done_bytes, total_bytes_or_None)`` feeds CLI and app progress bars.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from segstudio.errors import ModelError

Progress = Callable[[int, "int | None"], None]
HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,64})\.")
CHUNK = 1 << 20


def cache_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def file_name(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def cached_path(url: str, folder: str | os.PathLike | None = None) -> Path:
    return Path(folder if folder is not None else cache_dir()) / file_name(url)


def is_cached(url: str, folder: str | os.PathLike | None = None) -> bool:
    return cached_path(url, folder).is_file()


def expected_hash(url: str) -> str | None:
    """The SHA-256 prefix torchvision encodes in its file names, if any."""
    m = HASH_IN_NAME.search(file_name(url))
    return m.group(1) if m else None


def download(url: str, folder: str | os.PathLike | None = None, progress: Progress | None = None,
             sha256: str | None = None, timeout: float = 30.0) -> Path:
    """Return the cached file for ``url``, downloading it first if needed.

    ``sha256`` is a full digest or a prefix; by default the prefix in the file
    name is checked.  Raises ``ModelError`` when offline (naming the URL and
    where to put the file by hand) or when the download is corrupt.
    """
    dest = cached_path(url, folder)
    if dest.is_file():
        return dest
    want = (sha256 or expected_hash(url) or "").lower() or None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"cannot create the weights cache {dest.parent} ({e.strerror}); "
                         f"set TORCH_HOME to a writable folder") from None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    length = resp.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    done = 0
                    if progress:
                        progress(0, total)
                    while True:
                        chunk = resp.read(CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            except urllib.error.HTTPError as e:
                raise ModelError(f"cannot download the weights from {url}: the server answered HTTP {e.code} "
                                 f"({e.reason}); copy the file by hand to {dest}") from None
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
                reason = getattr(e, "reason", None) or e
                raise ModelError(
                    f"cannot download the weights from {url} ({reason}); this machine seems to be "
                    f"offline. Download the file elsewhere and copy it to {dest}, "
                    f"or use --weights FILE / --weights none") from None
            if total is not None and done != total:
                raise ModelError(f"the download of {url} stopped after {done} of {total} bytes; "
                                 f"try again, or copy the file by hand to {dest}")
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if want and not got.startswith(want):
            raise ModelError(f"the file downloaded from {url} is corrupt (SHA-256 {got[:16]}..., expected "
                             f"{want}...); it was discarded. Try again, or copy a good copy to {dest}")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest
