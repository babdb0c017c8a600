"""The registry, the panoptic merge and the command modules load without torch."""

import subprocess
import sys

from tests import child


def test_no_torch_on_import():
    code = ("import sys; import segstudio.ml.registry, segstudio.ml.classmap, segstudio.core.panoptic, "
            "segstudio.commands.predict, segstudio.commands.models, segstudio.cli; "
            "segstudio.cli.build_parser(); "
            "print(sorted(m for m in ('torch', 'torchvision', 'PySide6', 'pydensecrf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=child.CWD, env=child.env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
