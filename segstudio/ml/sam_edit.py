"""Segment Anything as an edit: prompts -> mask -> one ``Patch`` on the ``Annotation``.

``sam_edit(doc, session, positive, negative, box, class_id, new_instance)``
decodes the prompts with a ``SamSession`` (model + this image's embedding)
and writes the mask as a region of ``class_id`` or as a new instance of it.
``apply_mask`` is the numpy half (no torch): the app decodes in a worker and
applies the mask it previewed on the GUI thread with it.

Pixels painted by hand earlier (``doc.user_mask``) keep their labels unless
``keep_user=False``: the rule of accepting a model's prediction, which a SAM
mask is.  The pixels written become the user's (``user_mask``), like any
other tool's.

``SamClickTool`` is the form the robot annotator's tool table wants: a
positive click at a point with a class -> Patch, one embedding per image.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from segstudio.core.annotation import Annotation, Patch
from segstudio.core.edits import create_instance, paint_mask
from segstudio.errors import EditError

Point = tuple[float, float]


def writable_mask(doc: Annotation, mask: np.ndarray, offset: tuple[int, int], keep_user: bool = True) -> np.ndarray:
    """``mask`` less the hand-painted pixels it would overwrite (when ``keep_user``)."""
    if not keep_user:
        return mask
    y0, x0 = offset
    h, w = mask.shape
    user = doc.user_mask[max(0, y0):y0 + h, max(0, x0):x0 + w]
    if not user.any():
        return mask
    out = mask.copy()
    out[max(0, -y0):max(0, -y0) + user.shape[0], max(0, -x0):max(0, -x0) + user.shape[1]] &= ~user
    return out


def apply_mask(doc: Annotation, mask: np.ndarray, offset: tuple[int, int], class_id: int,
               new_instance: bool = False, keep_user: bool = True) -> Patch | None:
    """Write a mask as a region of ``class_id`` (leaving any instance) or as a new instance of it.

    Returns the patch (``None`` if nothing changed); a new instance's id is the
    key of ``patch.new_instances``.
    """
    mask = writable_mask(doc, np.asarray(mask, dtype=bool), offset, keep_user)
    if not mask.any():
        return None
    if new_instance:
        patch, _ = create_instance(doc, class_id, mask, offset)
        return patch
    return paint_mask(doc, mask, offset, class_id=class_id)


def sam_edit(doc: Annotation, session, positive: Sequence[Point] = (), negative: Sequence[Point] = (),
             box: Sequence[float] | None = None, class_id: int = 1, new_instance: bool = False,
             keep_user: bool = True) -> Patch | None:
    """Decode the prompts with ``session`` (a ``segstudio.ml.sam.SamSession``) and apply the mask."""
    if tuple(session.image_size) != doc.shape:
        h, w = session.image_size
        raise EditError(f"the Segment Anything embedding is of a {w}×{h} image but the annotation is "
                        f"{doc.width}×{doc.height}; compute the embedding of this image")
    result = session.predict(positive, negative, box)
    if result is None:
        return None
    return apply_mask(doc, result.mask, result.offset, class_id, new_instance, keep_user)


def image_fingerprint(rgb: np.ndarray) -> str:
    """A key that tells images apart (size + content hash)."""
    h = hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=16)
    return f"{rgb.shape}:{h.hexdigest()}"


class SamClickTool:
    """``tool(doc, image, point, class_id) -> Patch``: one positive click, for the robot annotator.

    The model is loaded on first use; each image's embedding is computed once
    and kept in an ``EmbeddingCache`` (pass ``key=`` to skip hashing the image).
    """

    def __init__(self, variant: str = "vit_b", weights: str = "default", loaded=None, cache=None,
                 keep_user: bool = True):
        from segstudio.ml.sam_cache import EmbeddingCache

        self.variant, self.weights, self._loaded = variant, weights, loaded
        self.cache = cache if cache is not None else EmbeddingCache()
        self.keep_user = keep_user

    @property
    def loaded(self):
        if self._loaded is None:
            from segstudio.ml.sam import load_cached
            self._loaded = load_cached(self.variant, self.weights)
        return self._loaded

    def session(self, image: np.ndarray, key=None):
        from segstudio.ml.sam import SamSession, embed

        loaded = self.loaded
        ck = (key if key is not None else image_fingerprint(image), loaded.ident)
        emb = self.cache.get(ck)
        if emb is None:
            emb = embed(loaded, image)
            self.cache.put(ck, emb)
        return SamSession(loaded, emb)

    def __call__(self, doc: Annotation, image: np.ndarray, point: Point, class_id: int, key=None) -> Patch | None:
        return sam_edit(doc, self.session(image, key), [point], class_id=class_id, keep_user=self.keep_user)
