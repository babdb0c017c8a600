"""The layers stay light: core and formats never load torch or Qt, and --help is instant."""

import subprocess
import sys

from tests import child

PROBE = """
import sys
{body}
heavy = sorted(m for m in ("torch", "torchvision", "PySide6", "shiboken6", "pydensecrf") if m in sys.modules)
print("LOADED:" + ",".join(heavy))
"""


def _loaded(body: str) -> list[str]:
    r = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], cwd=child.CWD, env=child.env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("LOADED:")][-1]
    return [m for m in line[len("LOADED:"):].split(",") if m]


def test_core_and_formats_load_neither_torch_nor_qt():
    body = "\n".join([
        "import pkgutil, importlib, segstudio.core, segstudio.formats",
        "for pkg in (segstudio.core, segstudio.formats):",
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):",
        "        importlib.import_module(m.name)",
    ])
    assert _loaded(body) == []


def test_cli_help_loads_neither_torch_nor_qt():
    body = "\n".join([
        "from segstudio.cli import main",
        "import contextlib, io",
        "try:",
        "    with contextlib.redirect_stdout(io.StringIO()):",
        "        main(['--help'])",
        "except SystemExit:",
        "    pass",
        "from segstudio.cli import COMMANDS",
        "for name in COMMANDS:",
        "    try:",
        "        with contextlib.redirect_stdout(io.StringIO()):",
        "            main([name, '--help'])",
        "    except SystemExit:",
        "        pass",
    ])
    assert _loaded(body) == []
