"""Formant tracking for the student's voice statistics, batched in torch.

Linear prediction (the autocorrelation method) on 25 ms Hamming frames of pre-emphasised speech, centred on the
pitch tracker's 40 ms frames (`speech2video.pitch`), so its voicing decides which frames count. The formants are
the resonances of the prediction filter: the angles of its complex poles with a bandwidth below
`MAX_BANDWIDTH_HZ`, lowest first. They are set by the vocal tract's length (a longer tract, lower formants: a
man's are about 15 % below a woman's) and by the vowel; over an utterance their medians describe the tract, and
unlike the long-term spectrum they hardly move when a microphone or a room colours the sound.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .pitch import PITCH_FRAME_LENGTH

MIN_FORMANT_HZ = 150.0
MAX_FORMANT_HZ = 5500.0
MAX_BANDWIDTH_HZ = 500.0
PRE_EMPHASIS = 0.97


@dataclass
class FormantTrack:
    """frequencies (B, N, K) in Hz of the K lowest formants per analysis frame, NaN where the frame was not
    analysed (unvoiced) or has fewer resonances; frame n is centred on the pitch tracker's frame n."""

    frequencies: torch.Tensor


def track_formants(input_values: torch.Tensor, voiced: torch.Tensor, sampling_rate: int = 16_000,
                   num_formants: int = 4, order: int = 18, frame_length: int = 400, hop_length: int = 160) -> FormantTrack:
    """input_values (B, L) audio, voiced (B, N) the pitch tracker's voiced frames -> `FormantTrack` (B, N, K).

    `order` 18 suits 16 kHz (two poles per kilohertz of band and two for the glottis and the lips' radiation).
    """
    values = input_values.double()
    values = F.pad(values, (0, max(0, PITCH_FRAME_LENGTH - values.shape[1])))
    emphasised = torch.cat([values[:, :1], values[:, 1:] - PRE_EMPHASIS * values[:, :-1]], dim=1)
    offset = (PITCH_FRAME_LENGTH - frame_length) // 2
    frames = emphasised[:, offset:].unfold(1, frame_length, hop_length)[:, : voiced.shape[1]]  # (B, N, W), N as voiced
    track = torch.full((*voiced.shape, num_formants), torch.nan, dtype=torch.float32, device=values.device)
    if not voiced.any():
        return FormantTrack(track)
    frames = frames[voiced] * torch.hamming_window(frame_length, periodic=False, dtype=frames.dtype, device=frames.device)
    spectrum = torch.fft.rfft(frames, n=2 * frame_length)
    autocorrelation = torch.fft.irfft(spectrum.abs().square(), n=2 * frame_length)[:, : order + 1]  # (M, p + 1)
    lags = (torch.arange(order)[:, None] - torch.arange(order)[None]).abs().to(frames.device)
    toeplitz = autocorrelation[:, lags]  # (M, p, p)
    toeplitz = toeplitz + (1e-6 * autocorrelation[:, :1, None] + 1e-12) * torch.eye(order, dtype=frames.dtype, device=frames.device)
    predictor = torch.linalg.solve(toeplitz, autocorrelation[:, 1:, None])[..., 0]  # x_t ~ sum_k a_k x_{t-k}
    companion = torch.zeros(len(predictor), order, order, dtype=frames.dtype, device=frames.device)
    companion[:, 0] = predictor
    companion[:, torch.arange(1, order), torch.arange(order - 1)] = 1.0
    poles = torch.linalg.eigvals(companion)  # (M, p) complex
    frequency = poles.angle() * sampling_rate / (2 * torch.pi)
    bandwidth = -poles.abs().clamp_min(1e-12).log() * sampling_rate / torch.pi
    resonance = (frequency > MIN_FORMANT_HZ) & (frequency < MAX_FORMANT_HZ) & (bandwidth < MAX_BANDWIDTH_HZ)
    lowest = frequency.masked_fill(~resonance, torch.inf).sort(dim=1).values[:, :num_formants]
    lowest = F.pad(lowest, (0, num_formants - lowest.shape[1]), value=torch.inf)
    track[voiced] = lowest.float().masked_fill(lowest.isinf(), torch.nan)
    return FormantTrack(track)
