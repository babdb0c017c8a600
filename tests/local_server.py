"""A folder served over HTTP on 127.0.0.1: the real download code is tested against it (no internet here)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Slow(_Quiet):
    def copyfile(self, source, outputfile):  # a slow line, so a Cancel lands mid-download
        while chunk := source.read(256 * 1024):
            outputfile.write(chunk)
            time.sleep(0.005)


@contextlib.contextmanager
def serving(folder, slow: bool = False):
    """The base URL (``http://127.0.0.1:PORT``) of ``folder`` while the block runs."""
    handler = functools.partial(_Slow if slow else _Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
