"""The app's log file: uncaught errors and job failures land in ``<settings folder>/logs``.

A desktop launcher (the ``.desktop`` entry, the bundle) has no terminal, so a
bug's traceback would otherwise vanish.  ``setup()`` adds a rotating file
handler to the ``segstudio`` logger and routes uncaught exceptions (GUI thread
and other threads) and Python warnings there; messages still reach stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from pathlib import Path

LOG_NAME = "segstudio.log"
log = logging.getLogger("segstudio")


def log_dir(settings_folder: str | Path) -> Path:
    return Path(settings_folder) / "logs"


def setup(settings_folder: str | Path) -> Path | None:
    """Log to ``log_dir(settings_folder)/segstudio.log`` (1 MB × 3 files); returns the file, or
    None when the folder cannot be written (the app still runs)."""
    path = log_dir(settings_folder) / LOG_NAME
    if any(getattr(h, "baseFilename", None) == str(path) for h in log.handlers):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1 << 20, backupCount=3, encoding="utf-8")
    except OSError as e:
        print(f"segstudio: cannot write the log {path} ({e.strerror or e}); logging to stderr only",
              file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    if not any(isinstance(h, logging.StreamHandler) and not hasattr(h, "baseFilename") for h in log.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.WARNING)
        log.addHandler(console)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(handler)

    def excepthook(kind, value, tb):
        log.error("uncaught exception", exc_info=(kind, value, tb))

    def thread_excepthook(args):
        if args.exc_type is not SystemExit:
            log.error("uncaught exception in thread %s", getattr(args.thread, "name", "?"),
                      exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    return path
