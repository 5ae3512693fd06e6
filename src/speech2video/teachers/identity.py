"""Identity teacher: dlib's ResNet face embedding (128-d; same person < 0.6 apart, the usual threshold).

The network (`dlib_face_recognition_resnet_model_v1.dat` from `face-recognition-models`, trained by
Davis King on ~3 million faces) expects dlib's 150x150 face chips. Given an aligned crop from
`alignment.align_clip`, the chip is not recomputed from new landmarks: `CHIP_BOX`, the place of dlib's chip
inside our crop (measured on 156 faces, std 0.001 of the crop), is cut out and resized to 150x150. Both
alignments fit a similarity to the same 5 landmarks, so this matches dlib's `get_face_chip` closely.
Runs in dlib on the CPU: not differentiable, ~100 ms per face on one core.
"""

from __future__ import annotations

import numpy as np
import torch

from .alignment import CHIP_BOX, dlib_model_path
from .base import FaceTeacher


class IdentityTeacher(FaceTeacher):
    """Face embedding per frame: (N, 3, H, W) in [0, 1] -> (N, 128), compare with Euclidean distance."""

    input_size = 150
    classes = None
    output_dim = 128

    def __init__(self, crop_box: tuple[float, float, float, float] = CHIP_BOX):
        super().__init__()
        import dlib

        self.crop_box = crop_box
        self.network = dlib.face_recognition_model_v1(str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        chips = (self.prepare(frames.detach().float().cpu()).clamp(0, 1) * 255).round().to(torch.uint8)
        chips = list(np.ascontiguousarray(chips.permute(0, 2, 3, 1).numpy()))  # dlib takes C-ordered (S, S, 3) only
        return torch.from_numpy(np.array(self.network.compute_face_descriptor(chips), dtype=np.float32)).to(frames.device)
