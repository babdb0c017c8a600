"""torchvision's compiled ops (nms, roi_align, ...) and image codecs.

torchvision loads ``_C_stable.so`` / ``image_stable.so`` (``_C.so`` in older
releases) with ``torch.ops.load_library`` from its own folder, not by import,
so PyInstaller never sees them; without them ``import torchvision`` fails (its
fake-kernel registrations need the ops).  Collect every shared library of the
package into ``torchvision/``; their own dependencies (libtorch, CUDA) are then
found by PyInstaller's binary analysis.
"""

from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = collect_dynamic_libs("torchvision", search_patterns=["*.so", "*.so.*", "*.pyd", "*.dll", "*.dylib"])
