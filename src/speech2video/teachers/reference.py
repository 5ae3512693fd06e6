"""A reference picture, the static-image baseline's input (`pipe(audio, reference_image=...)`): the identity
a face teacher reads from it, and its pixels for a generator with reference frames."""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import Speech2VideoError

TEACHERS = ("synthtalk", "dlib")


def identity_from_image(teacher_name: str | None, image) -> torch.Tensor:
    """The named identity teacher's embedding (1, D) of `image`: a path (any format PyAV reads) or an
    (H, W, 3) uint8 array showing an aligned face crop, like the training corpus's frames."""
    if teacher_name not in TEACHERS:
        raise Speech2VideoError(
            f"this model has no identity teacher (config.identity_teacher={teacher_name!r}), so it cannot read "
            f"identity from a reference image; models trained with one of {', '.join(TEACHERS)} can"
        )
    frame = pixels_from_image(image)
    teacher = _load_teacher(teacher_name)
    return teacher.predict(frame).identity if teacher_name == "synthtalk" else teacher.predict(frame)


def pixels_from_image(image, size: int | None = None) -> torch.Tensor:
    """`image` (a path or an (H, W, 3) uint8 array of an aligned face crop) as (1, 3, H, W) in [0, 1]; with
    `size`, resized with antialiasing to size x size if it is not already."""
    frame = torch.from_numpy(load_image(image)).permute(2, 0, 1)[None].float() / 255
    if size is not None and frame.shape[-2:] != (size, size):
        frame = F.interpolate(frame, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        frame = frame.clamp(0, 1)
    return frame


@functools.lru_cache(maxsize=None)
def _load_teacher(teacher_name: str):
    """Each teacher is loaded once per process (the static-image baseline calls this for every video)."""
    if teacher_name == "synthtalk":
        from .synthtalk import SynthTalkTeacher

        return SynthTalkTeacher.from_pretrained()
    from .identity import IdentityTeacher

    return IdentityTeacher()


def load_image(image) -> np.ndarray:
    """A picture given as a path (any format PyAV reads) or an (H, W, 3) uint8 array, as that array."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise Speech2VideoError(f"reference_image must be an (H, W, 3) uint8 array, got {image.dtype} {image.shape}")
        return image
    from ..video import read_video

    try:
        frames, _ = read_video(str(image))
    except (OSError, ValueError) as error:
        raise Speech2VideoError(f"cannot read the reference image {image}: {error}") from None
    return frames[0]
