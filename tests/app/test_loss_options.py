"""The Train tab offers the loss, class weights and border weights, and hands them to the run."""

from __future__ import annotations

from segstudio.app.panels.train_panel import TrainPanel
from segstudio.app.train import TrainController
from segstudio.ml.training.trainer import TrainConfig
from tests.ml.training_data import make_mask_folders


def test_train_tab_passes_the_loss_choices_to_the_run(qtbot, tmp_path):
    images, masks, labels = make_mask_folders(tmp_path / "data", n=4, size=32)
    panel = TrainPanel()
    qtbot.addWidget(panel)
    ctl = TrainController(panel)
    panel.set_project(None)
    panel.data_path.setText(str(images))
    panel.masks_path.setText(str(masks))
    panel.labels_path.setText(str(labels))
    assert panel.model.findText("unet_resnet34") >= 0 and panel.model.findText("segnet_vgg16_bn") >= 0
    panel.model.setCurrentText("unet_resnet34")
    opts = panel.loss_options
    assert not opts.sigma.isEnabled()                       # border weights off: σ means nothing
    config, _ = panel.form_kwargs()
    assert (config["loss"], config["class_weights"], config["border_weight"]) == ("ce", "none", None)
    opts.set_loss("ce+dice")
    opts.weights.setEditText("median-frequency")
    opts.border.setValue(10)
    opts.sigma.setValue(3)
    assert opts.sigma.isEnabled()
    config, _ = panel.form_kwargs()
    assert (config["loss"], config["class_weights"], config["border_weight"], config["border_sigma"]) == \
        ("ce+dice", "median-frequency", 10.0, 3.0)
    cfg = TrainConfig(**config)
    assert cfg.loss == "ce+dice" and cfg.border_weight == 10.0
    opts.set_loss("dice")                                   # border weights weigh the cross-entropy
    assert not ctl.start()
    assert "border weight weighs the cross-entropy" in ctl.last_error
    panel.model.setCurrentText("maskrcnn_resnet50_fpn")     # instance models have their own losses
    config, _ = panel.form_kwargs()
    assert "loss" not in config
