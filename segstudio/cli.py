"""The ``segstudio`` command line.

``segstudio [PATH]`` launches the app; ``segstudio COMMAND ...`` runs a
subcommand.  Each subcommand is a module in ``segstudio.commands`` with
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``; heavy
imports (torch, Qt) happen inside ``run`` so ``--help`` stays instant.

Exit status: 0 done, 2 the user's input is wrong (``error: ...`` on stderr),
1 a bug.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from segstudio import __version__
from segstudio.errors import SegStudioError

# Subcommand modules, in the order --help lists them.
COMMANDS = ["models", "predict", "import_", "export", "finetune", "evaluate"]


def _command_modules():
    return [importlib.import_module(f"segstudio.commands.{name}") for name in COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen (packaged) app's training child process starts here
    argv = list(sys.argv[1:] if argv is None else argv)
    if wants_app(argv):
        return launch_app(argv[0] if argv else None)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except SegStudioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
