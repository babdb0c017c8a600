"""Importers: build a new segstudio project from another tool's dataset.

Each function creates the project folder (it must not exist or be empty),
copies the images into it (sources are never modified), saves one annotation
per image, and returns the opened ``Project``; ``project.settings["import"]``
records the source and the notes a user should read (overlaps resolved,
images without masks...).  All take ``progress(done, total, message)`` and
``cancelled() -> bool`` callbacks; a cancelled or failed import leaves nothing.
"""

from segstudio.formats.imports.coco import import_coco
from segstudio.formats.imports.labelme import import_labelme
from segstudio.formats.imports.masks import import_masks
from segstudio.formats.imports.voc import import_voc

__all__ = ["import_coco", "import_labelme", "import_masks", "import_voc"]
