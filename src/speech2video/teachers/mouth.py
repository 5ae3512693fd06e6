"""A landmark-free lip teacher for real corpora: per-frame mouth opening read from aligned face crops.

Real corpora have no mouth-opening truth, and the landmark model that places the lips (dlib's 68 points) is
licensed for non-commercial use only, so it is kept for evaluation. This teacher reads the mouth from the
pixels instead, as one direction in the space of the grey mouth region of the corpus's own aligned crops
(fitted on its training frames):

- with the speech heard at each frame (`speech_windows`), the direction, among the leading principal
  components, that the speech predicts best (a ridge-regularised canonical correlation): what in the mouth
  region moves with the words is the lips, while lighting, small head turns and blinks do not follow them.
  On GRID's 93 validation sentences it correlates at 0.886 with the inner-lip gap of the 68 landmarks
  (0.877 with the ridge of 100 used until 2026-12-06; 0.899 and 0.890 on the 115 test sentences);
- without, the first principal component (0.76 on 40 held-out sentences): on one speaker mostly how far
  the mouth is open (the dark cavity and the teeth appear), but also whatever else changes the region most.

The sign is chosen so that the reading grows with the share of dark pixels, and it is scaled so the 5th and
95th percentiles of the training frames map to 0 and 1, the range of SynthTalk's mouth targets. It is per
corpus (fitted on one framing and, ideally, one speaker), not a general mouth reader.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.schema import decode_audio, decode_frames
from ..evaluation.image import LUMA
from ..evaluation.sync import audio_windows
from .synthtalk import TeacherOutput

# The mouth region of an aligned crop (alignment.py framing), (top, left, bottom, right) as fractions.
MOUTH_BOX = (0.64, 0.31, 0.875, 0.69)


def mouth_regions(frames: torch.Tensor) -> torch.Tensor:
    """Aligned crops (N, 3, S, S) in [0, 1] -> grey mouth regions (N, K) flattened, at half resolution."""
    size = frames.shape[-1]
    top, left, bottom, right = (round(f * size) for f in MOUTH_BOX)
    grey = torch.einsum("nchw,c->nhw", frames[:, :, top:bottom, left:right], frames.new_tensor(LUMA))
    return grey[:, ::2, ::2].flatten(1)


def speech_windows(audio, num_frames: int) -> torch.Tensor:
    """What is heard around each video frame: the 0.2 s log-mel window centred on each of `num_frames` frames
    of a clip (16 kHz mono `audio` (L,), 25 fps), 40 bands x 5 steps of 40 ms, flattened: (num_frames, 200)."""
    windows = audio_windows(audio, num_frames)  # (T, 40, 20)
    return windows.unflatten(-1, (5, 4)).mean(-1).flatten(1)


def sample_frames(dataset, num_clips: int, frames_per_clip: int, seed: int = 0, with_speech: bool = False):
    """Up to `frames_per_clip` random frames of each of up to `num_clips` random clips of a corpus split:
    frames (N, 3, S, S) in [0, 1] and, `with_speech`, the `speech_windows` heard at each (N, 200), else None."""
    rng = np.random.default_rng(seed)
    frames, speech = [], []
    for clip in rng.choice(len(dataset), min(num_clips, len(dataset)), replace=False):
        row = dataset[int(clip)]
        clip_frames = decode_frames(row)
        chosen = rng.choice(len(clip_frames), min(frames_per_clip, len(clip_frames)), replace=False)
        frames.append(clip_frames[chosen])
        if with_speech:
            speech.append(speech_windows(decode_audio(row), len(clip_frames))[chosen])
    frames = torch.from_numpy(np.concatenate(frames)).permute(0, 3, 1, 2).float() / 255
    return frames, torch.cat(speech) if with_speech else None


class MouthAppearanceTeacher:
    """Mouth opening (N,) from aligned face crops (N, 3, S, S) in [0, 1]: see the module docstring."""

    def __init__(self, mean: torch.Tensor, component: torch.Tensor, low: float, high: float):
        self.mean, self.component, self.low, self.high = mean, component, low, high

    @classmethod
    def fit(cls, frames: torch.Tensor, speech: torch.Tensor | None = None, num_components: int = 10,
            ridge: float = 10.0) -> MouthAppearanceTeacher:
        """Fit on training frames (N, 3, S, S) in [0, 1] (a few thousand from many clips are enough) and,
        optionally, the speech heard at each of them (N, F), e.g. `speech_windows`: see the module docstring."""
        regions = mouth_regions(frames.float()).double()
        mean = regions.mean(0)
        _, _, components = torch.linalg.svd(regions - mean, full_matrices=False)
        component = components[0] if speech is None else _best_predicted_direction(
            regions - mean, components[:num_components], speech.double(), ridge)
        scores = (regions - mean) @ component
        dark = (regions < regions.quantile(0.15)).double().mean(1)  # an open mouth shows its dark cavity
        if torch.corrcoef(torch.stack([scores, dark]))[0, 1] < 0:
            component, scores = -component, -scores
        low, high = (float(q) for q in scores.quantile(torch.tensor([0.05, 0.95], dtype=scores.dtype)))
        return cls(mean.float(), component.float(), low, high)

    def predict(self, frames: torch.Tensor, batch_size: int = 64) -> TeacherOutput:
        scores = (mouth_regions(frames.float()) - self.mean) @ self.component
        return TeacherOutput(mouth_open=((scores - self.low) / (self.high - self.low)).clamp(0, 1))


def _best_predicted_direction(centred: torch.Tensor, components: torch.Tensor, speech: torch.Tensor,
                              ridge: float) -> torch.Tensor:
    """The unit pixel direction (K,) in the span of the principal `components` (C, K) of the `centred` regions
    (N, K) whose projection a ridge regression from `speech` (N, F) predicts best."""
    scores = centred @ components.T  # (N, C), uncorrelated: principal components of these very regions
    spread = scores.std(0)
    heard = (speech - speech.mean(0)) / (speech.std(0) + 1e-6)
    weights = torch.linalg.solve(heard.T @ heard + ridge * torch.eye(heard.shape[1], dtype=heard.dtype),
                                 heard.T @ (scores / spread))
    predicted = heard @ weights  # (N, C): the part of each standardised score the speech explains
    # the standardised scores are uncorrelated, so the best-predicted combination is the top eigenvector of
    # the predicted part's covariance
    combination = torch.linalg.eigh(predicted.T @ predicted).eigenvectors[:, -1]
    pixel = (combination / spread) @ components
    return pixel / pixel.norm()
