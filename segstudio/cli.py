"""The ``segstudio`` command line.

``segstudio [PATH]`` launches the app; ``segstudio COMMAND ...`` runs a
subcommand.  Each subcommand is a module in ``segstudio.commands`` with
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``; heavy
imports (torch, Qt) happen inside ``run`` so ``--help`` stays instant.

Exit status: 0 done, 2 the user's input is wrong (one line ``error: ...`` on
stderr, also for bad options), 1 a bug, 130 interrupted (Ctrl-C), 141 when
the reader of the output went away (``segstudio evaluate ... | head``: the
rest of the output is dropped quietly, as other command-line tools do).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

from segstudio import __version__
from segstudio.errors import SegStudioError

# Subcommand modules, in the order --help lists them.
COMMANDS = ["models", "predict", "import_", "export", "finetune", "evaluate"]


def _command_modules():
    return [importlib.import_module(f"segstudio.commands.{name}") for name in COMMANDS]


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head`
# Errors of the user's disk or permissions (with a file name) that no command turned into a message yet
USER_OS_ERRORS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG,
                  errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EIO}


class Parser(argparse.ArgumentParser):
    """Bad options give one line ``error: ...`` (what is wrong and where to read more) and status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="segstudio",
        usage="segstudio [PATH] | segstudio COMMAND [options]",
        description="Predict, correct and fine-tune segmentation masks. "
                    "`segstudio` alone opens the app; `segstudio PATH` opens it on an image, "
                    "a folder of images or a project.",
    )
    parser.add_argument("--version", action="version", version=f"segstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="segstudio")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.__doc__)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def wants_app(argv: list[str]) -> bool:
    """``segstudio`` alone or ``segstudio PATH`` (not a command, not an option) opens the app."""
    if not argv:
        return True
    if len(argv) != 1 or argv[0].startswith("-"):
        return False
    return argv[0] not in {mod.NAME for mod in _command_modules()}


def launch_app(path: str | None) -> int:
    """Import Qt only now, so --help and the commands never load it."""
    try:
        from segstudio.app.main import launch
    except ImportError as e:
        print(f"error: the app needs PySide6 ({e}); install it with pip install PySide6-Essentials",
              file=sys.stderr)
        return 2
    return launch(path)


def _quiet_output() -> None:
    """The reader of stdout went away: drop what is still buffered instead of failing again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")  # a file name that is not UTF-8 never kills a print
    if wants_app(argv):
        return launch_app(argv[0] if argv else None)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        status = int(args._run(args) or 0)
        sys.stdout.flush()
        return status
    except SegStudioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_output()
        return EXIT_BROKEN_PIPE
    except OSError as e:
        if e.errno not in USER_OS_ERRORS or e.filename is None:
            raise
        from segstudio.formats.fileaccess import os_error_text

        print(f"error: {os.fsdecode(e.filename)}: {os_error_text(e)}", file=sys.stderr)  # the disk, not a bug
        return 2


if __name__ == "__main__":
    sys.exit(main())
