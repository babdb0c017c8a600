"""U-Net, PSPNet and DeepLabV3+ from segmentation-models-pytorch (imported only when built).

The library's encoders for ResNet and MobileNetV2 are torchvision's networks,
so torchvision's ImageNet classification weights fill them key for key (the
cards' ``encoder_weights``); smp's own downloads are never used
(``encoder_weights=None``).  ``options`` of a card are passed to the class:
``encoder_name``, ``encoder_depth``, ``decoder_channels``, ``upsampling``,
``output_stride`` (PSPNet: a dilated encoder, as in the paper), ...
"""

from __future__ import annotations

from typing import Any

from segstudio.errors import ModelError

CLASSES = ("Unet", "PSPNet", "DeepLabV3Plus")


def _import_smp():
    try:
        import segmentation_models_pytorch as smp
    except ImportError as e:
        raise ModelError(f"this model needs segmentation-models-pytorch ({e}); install it with "
                         "pip install segmentation-models-pytorch") from None
    return smp


def build_smp(name: str, options: dict[str, Any], num_outputs: int):
    from segstudio.ml.architectures.padded import PaddedSegmentation

    if name not in CLASSES:
        raise ModelError(f"segmentation-models-pytorch model '{name}' is not supported here "
                         f"(supported: {', '.join(CLASSES)}); check the model card")
    smp = _import_smp()
    options = dict(options)
    for key in ("encoder_weights", "classes", "activation", "aux_params"):
        if key in options:
            raise ModelError(f"the model card's options must not set {key}: segstudio sets it")
    net = getattr(smp, name)(encoder_weights=None, classes=num_outputs, activation=None, **options)
    # the encoder's stride is min(2 ** depth, dilated stride): U-Net's decoder joins every stage
    return PaddedSegmentation(net, net.encoder.output_stride, "encoder")
