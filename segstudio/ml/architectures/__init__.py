"""Build the network a model card describes, whatever library it comes from.

``build_network(card, num_outputs, aux_loss)`` is the one place that turns a
card into an ``nn.Module``; the card's ``source`` picks the builder:

* ``torchvision``: ``torchvision.models.get_model_builder(card.builder)``
  (FCN, DeepLabV3, LR-ASPP, Mask R-CNN), used as torchvision returns it;
* ``smp``: a segmentation-models-pytorch class (``Unet``, ``PSPNet``,
  ``DeepLabV3Plus``) with ``card.options`` (encoder, depth, ...), always
  without downloading anything (``encoder_weights=None``);
* ``segstudio``: segstudio's own architectures (``segnet``).

Networks from the last two are wrapped in ``PaddedSegmentation``: the input
is padded to the multiple of the network's output stride and the logits are
cropped back, and the output is ``{"out": logits}`` like torchvision's
segmentation models, so predictor, tiling, CRF, evaluation and training need
no per-model code.  Every network is built with random weights; loading
weights is ``segstudio.ml.weights``' job.
"""

from __future__ import annotations

from typing import Any

from segstudio.errors import ModelError


def _torchvision(card, num_outputs: int, aux_loss: bool):
    from torchvision.models import get_model_builder

    kwargs: dict[str, Any] = {"weights": None, "weights_backbone": None, "num_classes": num_outputs,
                              **card.options}
    if card.aux_head:
        kwargs["aux_loss"] = aux_loss
    try:
        builder = get_model_builder(card.builder)
    except ValueError as e:
        raise ModelError(f"torchvision has no model '{card.builder}' ({e}); check the model card") from None
    return builder(**kwargs)


def _smp(card, num_outputs: int, aux_loss: bool):
    from segstudio.ml.architectures.smp import build_smp

    return build_smp(card.builder, card.options, num_outputs)


def _segstudio(card, num_outputs: int, aux_loss: bool):
    from segstudio.ml.architectures.padded import PaddedSegmentation
    from segstudio.ml.architectures.segnet import SegNet

    own = {"segnet": SegNet}
    if card.builder not in own:
        raise ModelError(f"segstudio has no architecture '{card.builder}' (it has {', '.join(own)}); "
                         "check the model card")
    net = own[card.builder](num_outputs, **card.options)
    return PaddedSegmentation(net, net.input_multiple, "encoder")


BUILDERS = {"torchvision": _torchvision, "smp": _smp, "segstudio": _segstudio}


def build_network(card, num_outputs: int, aux_loss: bool = False):
    """The card's architecture with ``num_outputs`` classes and random weights (never downloads)."""
    try:
        build = BUILDERS[card.source]
    except KeyError:
        raise ModelError(f"{card.name}: unknown model source '{card.source}' "
                         f"(known: {', '.join(BUILDERS)})") from None
    try:
        return build(card, num_outputs, aux_loss)
    except (TypeError, ValueError, KeyError) as e:
        raise ModelError(f"cannot build {card.name}: {e}; check the model card's builder and options") from None


def count_parameters(card, num_outputs: int = 21) -> int:
    """Parameters of the architecture with ``num_outputs`` classes (built on the meta device: no memory)."""
    import torch

    with torch.device("meta"):
        model = build_network(card, num_outputs)
    return sum(p.numel() for p in model.parameters())
