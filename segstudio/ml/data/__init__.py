"""Training and evaluation data: datasets over a segstudio project, a Pascal
VOC root, image + mask folders, or a COCO instances JSON, and the
deterministic train/val split.  Datasets return numpy arrays; the tensors and
augmentation live in ``segstudio.ml.training.transforms``."""

from segstudio.ml.data.semantic import SemanticDataset, SemanticSample
from segstudio.ml.data.sources import DataSpec, open_data
from segstudio.ml.data.split import split_keys

__all__ = ["SemanticDataset", "SemanticSample", "DataSpec", "open_data", "split_keys"]
