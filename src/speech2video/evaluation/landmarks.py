"""Face landmarks on aligned face crops: the mouth for the mouth landmark distance (LMD), the eyes for blinks.

dlib's 68-point shape predictor (from `face-recognition-models`) places the 20 mouth points (48-67) and six
points around each eye (36-47). The
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
EYE_POINTS = (slice(36, 42), slice(42, 48))  # each: corner, two upper lid points, corner, two lower lid points


@lru_cache(maxsize=1)
def _predictor():
    import dlib

    return dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat")))


def face_landmarks(frames) -> np.ndarray:
    """Aligned face crops (T, S, S, 3) (uint8, or float in [0, 1]) -> the 68 landmarks (T, 68, 2) in pixels (x, y)."""
    import dlib

    frames = np.ascontiguousarray(np.round(as_float_frames(frames) * 255).astype(np.uint8))
    size = frames.shape[1]
    top, left, bottom, right = (round(f * size) for f in HOG_BOX)
    box = dlib.rectangle(left, top, right, bottom)
    predictor = _predictor()
    points = []
    for frame in frames:
        shape = predictor(frame, box)
        points.append([(shape.part(i).x, shape.part(i).y) for i in range(68)])
    return np.asarray(points, np.float32)


def mouth_landmarks(frames) -> np.ndarray:
    """Aligned face crops (T, S, S, 3) -> mouth landmarks (T, 20, 2) in pixels (x, y)."""
    return face_landmarks(frames)[:, MOUTH_POINTS]


def eye_openness(frames, landmarks) -> np.ndarray:
    """Eye openness (T,) of face crops (T, S, S, 3) with their 68 landmarks (T, 68, 2): the contrast (grey
    standard deviation, range [0, 0.5]) in a box around each eye, both eyes averaged.

    An open eye shows dark iris on white sclera, a shut one only lid skin, so the contrast dips on blinks.
    The landmarks only place the boxes (half the eye's width across, 0.4 of it high), since their lid points
    do not follow drawn or painted-out lids. On SynthTalk it follows the true blinks (correlation -0.71 with
    the rendered blink over 18 test clips); at 128 px on GRID the eyes are ~14 px wide and it does not.
    """
    grey = as_float_frames(frames).mean(axis=-1)
    landmarks = np.asarray(landmarks, np.float64)
    openness = np.zeros(len(grey))
    for eye in EYE_POINTS:
        points = landmarks[:, eye]
        centres = points.mean(axis=1)
        widths = np.linalg.norm(points[:, 0] - points[:, 3], axis=-1)
        for t, ((x, y), width) in enumerate(zip(centres, widths)):
            top, left = max(round(y - 0.2 * width), 0), max(round(x - 0.5 * width), 0)
            box = grey[t, top:round(y + 0.2 * width) + 1, left:round(x + 0.5 * width) + 1]
            openness[t] += box.std() / len(EYE_POINTS) if box.size else 0.0
    return openness
