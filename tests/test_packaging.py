"""The sdist and the wheel carry everything an installed segstudio needs.

Builds both from a copy of the source tree with setuptools' PEP 517 backend
directly (no isolation, no dependency resolution: a few seconds), the wheel
from the unpacked sdist as ``python -m build`` does, then checks the wheel's
contents and runs the unpacked wheel in a child interpreter: model cards,
icons and samples are found as package data.  Needs the source tree, so it
is skipped where the tests run against an installed wheel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1]
IN_SOURCE_TREE = (SOURCE / "setup.py").is_file() and (SOURCE / "segstudio" / "__init__.py").is_file()
pytestmark = pytest.mark.skipif(not IN_SOURCE_TREE, reason="needs segstudio's source tree (setup.py)")

TREE = ("setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "constraints.txt", "conftest.py",
        "segstudio", "models", "resources", "tests", "packaging", "docs")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info", ".venv*")

BUILD = """
import sys, tarfile
from pathlib import Path
from setuptools import build_meta
out = Path(sys.argv[1])
sdist = build_meta.build_sdist(str(out))
with tarfile.open(out / sdist) as t:
    t.extractall(out / "unpacked", filter="data")
import os
os.chdir(out / "unpacked" / sdist[:-len(".tar.gz")])
print(sdist, build_meta.build_wheel(str(out)))
"""

PROBE = """
import json
from segstudio.ml import registry
from segstudio.app.resources import icon_path, samples_dir
print(json.dumps({"models_dir": str(registry.models_dir()), "cards": registry.model_names(),
                  "samples": str(samples_dir()), "icon": str(icon_path("segstudio"))}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in TREE:
        p = SOURCE / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=JUNK)
        elif p.is_file():
            shutil.copy2(p, src / name)
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-c", BUILD, str(out)], cwd=src, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    sdist, wheel = r.stdout.split()[-2:]
    return out / sdist, out / wheel


def _icons_the_app_uses() -> set[str]:
    from segstudio.app.actions import ACTIONS

    return {f"{a.icon}.svg" for a in ACTIONS if a.icon} | {"segstudio.svg"}


def test_wheel_holds_the_package_and_its_data(built):
    _, wheel = built
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    modules = {p.relative_to(SOURCE).as_posix() for p in (SOURCE / "segstudio").rglob("*.py")}
    assert modules <= names
    cards = {f"segstudio/_data/models/{p.name}" for p in (SOURCE / "models").glob("*.json")}
    assert cards and cards <= names            # every card, whatever its name
    icons = {f"segstudio/_data/resources/icons/{n}" for n in _icons_the_app_uses()}
    assert icons <= names
    samples = {n for n in names if n.startswith("segstudio/_data/resources/samples/")}
    assert len(samples) >= 2 and "segstudio/_data/resources/README.md" in names   # images + licence note
    assert "segstudio/_data/resources/click_net.npz" in names   # click to correct's network
    assert not [n for n in names if n.startswith("segstudio/_data/") and n.endswith(".py")]
    assert not [n for n in names if n.startswith(("tests/", "models/", "resources/"))]
    assert "segstudio = segstudio.cli:main" in entry_points


def test_sdist_can_rebuild_everything(built):
    sdist, _ = built
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for needed in ("setup.py", "pyproject.toml", "constraints.txt", "models", "resources/icons/segstudio.svg",
                   "tests/test_packaging.py", "segstudio/assets.py"):
        assert needed in names, needed
    assert {f"models/{p.name}" for p in (SOURCE / "models").glob("*.json")} <= names


def test_installed_wheel_finds_cards_icons_and_samples(built, tmp_path):
    _, wheel = built
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    packaged = site / "segstudio" / "_data"
    assert Path(found["models_dir"]) == packaged / "models"
    assert sorted(found["cards"]) == sorted(p.stem for p in (SOURCE / "models").glob("*.json"))
    assert Path(found["samples"]) == packaged / "resources" / "samples"
    assert Path(found["icon"]).is_file() and Path(found["icon"]).is_relative_to(packaged)
