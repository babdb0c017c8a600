"""The registry, the panoptic merge and the command modules load without torch."""

import subprocess
import sys

from tests import child


def test_no_torch_on_import():
    code = ("import sys; import segstudio.ml.registry, segstudio.ml.classmap, segstudio.core.panoptic, "
            "segstudio.ml.architectures, segstudio.ml.weights, "
            "segstudio.commands.predict, segstudio.commands.models, segstudio.commands.finetune, segstudio.cli; "
            "segstudio.cli.build_parser(); segstudio.ml.registry.list_cards(); "
            "print(sorted(m for m in ('torch', 'torchvision', 'PySide6', 'pydensecrf', "
            "'segmentation_models_pytorch', 'timm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=child.CWD, env=child.env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
