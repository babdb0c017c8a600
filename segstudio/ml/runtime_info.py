"""What segstudio runs on: torch, its CUDA build, the device ``auto`` picks, the weights cache.

Imports torch, so the app calls ``describe()`` from a worker thread (the About
dialog), never on the GUI thread at start-up.
"""

from __future__ import annotations


def describe() -> dict[str, str]:
    """Plain strings: ``torch``, ``cuda`` (build / not built), ``device`` (what ``auto`` picks,
    with the GPU's name), ``hub_cache`` (where ``--weights default`` downloads go)."""
    import torch

    from segstudio.ml.devices import pick_device
    from segstudio.ml.download import cache_dir

    device = pick_device("auto")
    if device.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(device)}, {torch.cuda.device_count()} GPU(s))"
    else:
        name = device.type
    cuda = torch.version.cuda
    return {"torch": torch.__version__,
            "cuda": f"CUDA {cuda} build" if cuda else "CPU-only build",
            "device": name,
            "hub_cache": str(cache_dir())}
