"""A prediction that changes no pixel leaves the document alone: status and model included."""

from __future__ import annotations

import numpy as np

from segstudio.core.annotation import Annotation
from segstudio.core.edits import apply_prediction


def test_keeping_every_labelled_pixel_changes_nothing():
    gt = np.zeros((20, 30), np.uint8)
    gt[5:15, 5:20] = 7
    doc = Annotation(gt.copy(), user_mask=np.ones(gt.shape, bool), status="reviewed", model=None)
    pred = np.full(gt.shape, 3, np.uint8)
    assert apply_prediction(doc, pred, keep_user=True, model="m@1") is None
    assert doc.status == "reviewed" and doc.model is None
    np.testing.assert_array_equal(doc.class_map, gt)
    # the same prediction again on a predicted image: nothing changes either
    doc2 = Annotation(pred.copy(), status="predicted", model="m@1")
    assert apply_prediction(doc2, pred, keep_user=True, model="m@2") is None and doc2.model == "m@1"
    # replacing the labels does change them
    patch = apply_prediction(doc, pred, keep_user=False, model="m@1")
    assert patch is not None and doc.status == "predicted" and (doc.class_map == 3).all()
