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
COMMANDS = ["evaluate", "models", "predict", "finetune"]


def _command_modules():
    return [importlib.import_module(f"segstudio.commands.{name}") for name in COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segstudio",
        description="Predict, correct and fine-tune segmentation masks. "
                    "Run without a command to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"segstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.__doc__)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
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
