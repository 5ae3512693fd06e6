"""Mouth landmarks on aligned face crops, for the mouth landmark distance (LMD) on real faces.

dlib's 68-point shape predictor (from `face-recognition-models`) places the 20 mouth points (48-67). The
crops made by `speech2video.teachers.alignment` (and the generator's frames, which imitate them) all frame
the face the same way, so the predictor is given that fixed face box instead of running a detector (dlib's
HOG detector misses faces that fill a 128 px crop). Evaluation only: the 68-point model is trained on
iBUG 300-W, whose license excludes commercial use; no released model is trained with it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..teachers.alignment import dlib_model_path
from .image import as_float_frames

# dlib's HOG face box inside an aligned crop, (top, left, bottom, right) as fractions of the side
# (measured on GRID and real_multi faces; see alignment.FACE_BOX).
HOG_BOX = (0.266, 0.201, 0.881, 0.798)
MOUTH_POINTS = slice(48, 68)


@lru_cache(maxsize=1)
def _predictor():
    import dlib

    return dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat")))


def mouth_landmarks(frames) -> np.ndarray:
    """Aligned face crops (T, S, S, 3) (uint8, or float in [0, 1]) -> mouth landmarks (T, 20, 2) in pixels (x, y)."""
    import dlib

    frames = np.ascontiguousarray(np.round(as_float_frames(frames) * 255).astype(np.uint8))
    size = frames.shape[1]
    top, left, bottom, right = (round(f * size) for f in HOG_BOX)
    box = dlib.rectangle(left, top, right, bottom)
    predictor = _predictor()
    points = []
    for frame in frames:
        shape = predictor(frame, box)
        points.append([(shape.part(i).x, shape.part(i).y) for i in range(MOUTH_POINTS.start, MOUTH_POINTS.stop)])
    return np.asarray(points, np.float32)
