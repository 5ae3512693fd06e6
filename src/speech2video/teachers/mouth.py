"""A landmark-free lip teacher for real corpora: per-frame mouth opening read from aligned face crops.

Real corpora have no mouth-opening truth, and the landmark model that places the lips (dlib's 68 points) is
licensed for non-commercial use only, so it is kept for evaluation. This teacher reads the mouth from the
pixels instead: the first principal component of the grey mouth region of the corpus's own aligned crops
(fitted on its training frames). On one speaker, that component is mostly how far the mouth is open (the
dark cavity and the teeth appear); its sign is chosen so that it grows with the share of dark pixels, and it
is scaled so the 5th and 95th percentiles of the training frames map to 0 and 1, the range of SynthTalk's
mouth targets. On held-out GRID sentences it correlates at about 0.7 with the inner-lip gap of the 68
landmarks. It is per corpus (fitted on one framing and, ideally, one speaker), not a general mouth reader.
"""

from __future__ import annotations

import torch

from ..evaluation.image import LUMA
from .synthtalk import TeacherOutput

# The mouth region of an aligned crop (alignment.py framing), (top, left, bottom, right) as fractions.
MOUTH_BOX = (0.64, 0.31, 0.875, 0.69)


def mouth_regions(frames: torch.Tensor) -> torch.Tensor:
    """Aligned crops (N, 3, S, S) in [0, 1] -> grey mouth regions (N, K) flattened, at half resolution."""
    size = frames.shape[-1]
    top, left, bottom, right = (round(f * size) for f in MOUTH_BOX)
    grey = torch.einsum("nchw,c->nhw", frames[:, :, top:bottom, left:right], frames.new_tensor(LUMA))
    return grey[:, ::2, ::2].flatten(1)


class MouthAppearanceTeacher:
    """Mouth opening (N,) from aligned face crops (N, 3, S, S) in [0, 1]: see the module docstring."""

    def __init__(self, mean: torch.Tensor, component: torch.Tensor, low: float, high: float):
        self.mean, self.component, self.low, self.high = mean, component, low, high

    @classmethod
    def fit(cls, frames: torch.Tensor) -> MouthAppearanceTeacher:
        """Fit on training frames (N, 3, S, S) in [0, 1] (a few thousand from many clips are enough)."""
        regions = mouth_regions(frames.float()).double()
        mean = regions.mean(0)
        _, _, components = torch.linalg.svd(regions - mean, full_matrices=False)
        component = components[0]
        scores = (regions - mean) @ component
        dark = (regions < regions.quantile(0.15)).double().mean(1)  # an open mouth shows its dark cavity
        if torch.corrcoef(torch.stack([scores, dark]))[0, 1] < 0:
            component, scores = -component, -scores
        low, high = (float(q) for q in scores.quantile(torch.tensor([0.05, 0.95], dtype=scores.dtype)))
        return cls(mean.float(), component.float(), low, high)

    def predict(self, frames: torch.Tensor, batch_size: int = 64) -> TeacherOutput:
        scores = (mouth_regions(frames.float()) - self.mean) @ self.component
        return TeacherOutput(mouth_open=((scores - self.low) / (self.high - self.low)).clamp(0, 1))
