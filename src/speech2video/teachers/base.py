"""The interface every face teacher shares: aligned face frames in, one vector per frame out.

Teachers read the square crops made by `alignment.align_clip`. Each teacher states which part of that crop
it looks at (`crop_box`, fractions of the crop) and the square size its network expects (`input_size`);
`prepare` cuts that box out and resizes it, so any crop size works.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FaceTeacher(nn.Module):
    """A pretrained face network used as a teacher (frozen, eval mode).

    Subclasses set `input_size` (square side in pixels their network expects), `classes` (the names of the
    output dimensions when they are class probabilities, else None), `output_dim` and `crop_box`
    ((top, left, bottom, right) as fractions of the aligned crop), and implement `forward`:
    frames (N, 3, H, W) float in [0, 1] -> (N, output_dim).
    """

    input_size: int
    classes: list[str] | None
    output_dim: int
    crop_box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)

    def prepare(self, frames: torch.Tensor) -> torch.Tensor:
        """Cut `crop_box` out of aligned frames (N, 3, H, W) and resize to (N, 3, input_size, input_size)."""
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must have shape (N, 3, H, W), got {tuple(frames.shape)}")
        height, width = frames.shape[-2:]
        top, left, bottom, right = self.crop_box
        frames = frames[..., round(top * height):round(bottom * height), round(left * width):round(right * width)]
        if frames.shape[-2:] == (self.input_size, self.input_size):
            return frames
        return F.interpolate(frames, size=(self.input_size, self.input_size), mode="bilinear",
                             align_corners=False, antialias=True)

    def train(self, mode: bool = True) -> FaceTeacher:
        """Teachers stay in eval mode (frozen batch-norm statistics) even inside a model being trained."""
        return super().train(False)

    @torch.no_grad()
    def predict(self, frames: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """`forward` in batches of `batch_size` without gradients: (N, 3, H, W) -> (N, output_dim)."""
        if len(frames) == 0:
            return torch.zeros(0, self.output_dim)
        return torch.cat([self(frames[start:start + batch_size]) for start in range(0, len(frames), batch_size)])
