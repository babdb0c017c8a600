"""torch, torchvision and pydensecrf: models, weights, prediction, CRF and training.

Nothing here is imported at start-up; torch loads when a model is first needed.
"""
