"""One reader per dataset format, shared by everything that reads it.

``readers.coco`` (COCO instances JSON) and ``readers.voc`` (Pascal VOC
folders) find, check and decode a dataset; the importers
(``formats.imports``), training (``ml.data``) and ``segstudio evaluate``
all go through them, so a dataset means the same classes and masks
everywhere.  No torch here: ``ml`` wraps these readers in its datasets.
"""
