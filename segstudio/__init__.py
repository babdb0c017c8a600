"""segstudio: predict, correct and fine-tune segmentation masks on one desktop."""

__version__ = "0.1.0"
