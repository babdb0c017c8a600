"""`segstudio` / `segstudio PATH` launch the app; --help and commands never load Qt or torch."""

from __future__ import annotations

import subprocess
import sys

from tests import child


def test_help_does_not_import_qt_or_torch():
    code = ("import sys\nfrom segstudio.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED', 'PySide6' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=child.CWD, env=child.env(), capture_output=True, text=True,
                         timeout=60)
    assert "segstudio [PATH]" in out.stdout
    assert "LOADED False False" in out.stdout


def test_path_or_nothing_launches_the_app(monkeypatch):
    from segstudio import cli
    calls = []
    monkeypatch.setattr(cli, "launch_app", lambda path: calls.append(path) or 0)
    assert cli.main([]) == 0
    assert cli.main(["some/folder"]) == 0
    assert calls == [None, "some/folder"]
    assert cli.wants_app(["evaluate"]) is False
    assert cli.wants_app(["import"]) is False and cli.wants_app(["export"]) is False
    assert cli.wants_app(["--version"]) is False


def test_segstudio_path_opens_the_window_on_a_folder(image_folder, config_dir):
    env = child.env(QT_QPA_PLATFORM="offscreen", SEGSTUDIO_CONFIG_DIR=str(config_dir),
                    SEGSTUDIO_EXIT_AFTER_SHOW="1")
    out = subprocess.run([sys.executable, "-m", "segstudio", str(image_folder / "img1.png")], cwd=child.CWD,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "image img1; torch loaded False" in out.stdout
    # no argument: the last folder is opened again
    out = subprocess.run([sys.executable, "-m", "segstudio"], cwd=child.CWD, env=env, capture_output=True,
                         text=True, timeout=120)
    assert "image img0;" in out.stdout, out.stdout + out.stderr


def test_first_launch_opens_the_bundled_samples(config_dir):
    from segstudio.app.main import start_path
    from segstudio.app.resources import samples_dir
    from segstudio.app.settings import Settings
    from segstudio.formats.project import scan_images
    settings = Settings(config_dir)
    first = start_path(None, settings)
    assert first == str(config_dir / "samples")  # a copy: annotations never go into resources/
    assert len(scan_images(first)) == len(scan_images(samples_dir())) >= 2
    assert start_path("x.png", settings) == "x.png"
