"""Pitch (F0) tracking for the student's voice statistics, batched in torch.

YIN's cumulative mean normalised difference (de Cheveigné & Kawahara, JASA 2002) on 40 ms frames every
10 ms; the first dip below a threshold between `fmin` and `fmax` gives F0 (the lowest value when none is),
its value there the frame's aperiodicity (near 0 for a clean periodic voice, near 1 for noise). No
smoothing across frames: for utterance statistics, not for a pitch contour a listener would trust.
With `highpass_hz`, the tracker hears the audio above that frequency only: mains hum, rumble and the bass of
background music lie below it, and the period of a low voice stays in its harmonics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

PITCH_FRAME_LENGTH = 640  # 40 ms at 16 kHz, every `hop_length` samples


@dataclass
class PitchTrack:
    """Per analysis frame (B, N): f0 in Hz, aperiodicity in [0, ~1], voiced (bool) and valid (bool, the
    frame lies inside the real samples); frame_rate: analysis frames per second."""

    f0: torch.Tensor
    aperiodicity: torch.Tensor
    voiced: torch.Tensor
    valid: torch.Tensor
    frame_rate: float


def track_pitch(input_values: torch.Tensor, lengths: torch.Tensor, sampling_rate: int = 16_000,
                frame_length: int = PITCH_FRAME_LENGTH, hop_length: int = 160, fmin: float = 60.0, fmax: float = 500.0,
                threshold: float = 0.25, min_energy: float = 0.05, highpass_hz: float = 0.0) -> PitchTrack:
    """input_values (B, L) audio, lengths (B,) real samples per item -> `PitchTrack` with N frames.

    A frame is voiced when its aperiodicity is below `threshold` and its energy above `min_energy` times
    the item's loudest frame (so the gain of the recording does not matter). `highpass_hz` > 0 first
    removes what lies below that frequency (`highpass`).
    """
    values = input_values.float()
    if highpass_hz > 0:
        real = torch.arange(values.shape[1], device=values.device) < lengths.to(values.device)[:, None]
        values = highpass(values, highpass_hz, sampling_rate) * real
    values = F.pad(values, (0, max(0, frame_length - values.shape[1])))
    frames = values.unfold(1, frame_length, hop_length)  # (B, N, W)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    power = frames.square()
    spectrum = torch.fft.rfft(frames, n=2 * frame_length)
    autocorrelation = torch.fft.irfft(spectrum.abs().square(), n=2 * frame_length)[..., :frame_length]
    # difference d(lag) = sum over j < W - lag of (x_j - x_{j+lag})^2 = head(lag) + tail(lag) - 2 r(lag)
    tail = power.flip(-1).cumsum(-1).flip(-1)  # sum of x_j^2 for j >= lag
    head = power.sum(-1, keepdim=True) - F.pad(power.flip(-1).cumsum(-1)[..., :-1], (1, 0))  # j < W - lag
    difference = (head + tail - 2 * autocorrelation).clamp_min(0)[..., 1:]  # lags 1 .. W-1
    normalised = difference * torch.arange(1, frame_length, device=values.device) / difference.cumsum(-1).clamp_min(1e-8)
    shortest, longest = math.ceil(sampling_rate / fmax), math.floor(sampling_rate / fmin)
    candidates = normalised[..., shortest - 1 : longest]  # (B, N, K): lags shortest .. longest
    lags = torch.arange(shortest, longest + 1, device=values.device)
    # YIN: the dip that follows the first lag below `threshold` (later dips are octave errors); without one,
    # the lowest value
    below = candidates < threshold
    first = lags[below.float().argmax(dim=-1)][..., None]  # (B, N, 1)
    dip = candidates.masked_fill((lags < first) | (lags >= 1.5 * first), float("inf")).min(dim=-1)
    lowest = candidates.min(dim=-1)
    periodic = below.any(dim=-1)
    aperiodicity = torch.where(periodic, dip.values, lowest.values)
    f0 = sampling_rate / lags[torch.where(periodic, dip.indices, lowest.indices)].float()

    count = ((lengths.to(values.device) - frame_length) // hop_length + 1).clamp_min(1)
    valid = torch.arange(frames.shape[1], device=values.device) < count[:, None]
    energy = power.sum(-1)
    loudest = energy.masked_fill(~valid, 0).amax(dim=1, keepdim=True)
    voiced = valid & (aperiodicity < threshold) & (energy > min_energy * loudest)
    return PitchTrack(f0, aperiodicity, voiced, valid, frame_rate=sampling_rate / hop_length)


def highpass(values: torch.Tensor, cutoff_hz: float, sampling_rate: int = 16_000) -> torch.Tensor:
    """values (B, L) without what lies below `cutoff_hz`: zero-phase, in the frequency domain, with a raised-cosine
    transition from half the cutoff (stopped) to the cutoff (passed)."""
    spectrum = torch.fft.rfft(values, dim=-1)
    frequencies = torch.fft.rfftfreq(values.shape[-1], 1 / sampling_rate).to(values.device)
    transition = ((frequencies - cutoff_hz / 2) / (cutoff_hz / 2)).clamp(0, 1)
    return torch.fft.irfft(spectrum * (0.5 - 0.5 * torch.cos(math.pi * transition)), n=values.shape[-1], dim=-1)
