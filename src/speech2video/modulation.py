"""Amplitude-modulation statistics of speech, batched in torch: how the loudness envelope flutters.

The envelope (Hann-weighted RMS over 30 ms, every 2.5 ms: smooth enough that the ripple of the voice's own
pitch, at F0 and above, does not alias into the bands) is cut into 0.32 s segments; each segment is divided by its own
mean (so the recording's gain does not matter), windowed, and its power spectrum summed in modulation bands.
Syllables live at 2-8 Hz; a rough or creaky voice (shimmer, as in anger) adds energy at 20-60 Hz, where
speech itself has little. Only segments inside the real samples and within 10 dB of the loudest count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MODULATION_BANDS_HZ = ((2.0, 8.0), (8.0, 20.0), (20.0, 40.0), (40.0, 60.0))
ENVELOPE_RATE_HZ = 400


def modulation_statistics(input_values: torch.Tensor, lengths: torch.Tensor, sampling_rate: int = 16_000,
                          segment_seconds: float = 0.32) -> torch.Tensor:
    """input_values (B, L) audio, lengths (B,) real samples per item -> (B, len(MODULATION_BANDS_HZ)):
    log of the mean modulation power per band over the item's loud segments.

    An item shorter than one segment is measured over its one (zero-padded) segment.
    """
    hop = sampling_rate // ENVELOPE_RATE_HZ
    window = 12 * hop
    segment = round(segment_seconds * ENVELOPE_RATE_HZ)
    lengths = lengths.to(input_values.device)
    real = torch.arange(input_values.shape[1], device=input_values.device) < lengths[:, None]
    values = F.pad(input_values.float() * real, (0, max(0, window - input_values.shape[1])))
    weights = torch.hann_window(window, periodic=False, device=values.device)
    envelope = (values.unfold(1, window, hop).square() @ (weights / weights.sum())).sqrt()  # (B, M)
    envelope = F.pad(envelope, (0, max(0, segment - envelope.shape[1])))
    segments = envelope.unfold(1, segment, segment // 2)  # (B, S, segment)

    envelope_frames = ((lengths - window) // hop + 1).clamp_min(segment)
    starts = torch.arange(segments.shape[1], device=values.device) * (segment // 2)
    inside = starts + segment <= envelope_frames[:, None]  # (B, S)
    level = segments.mean(dim=-1)
    loudest = level.masked_fill(~inside, 0).amax(dim=1, keepdim=True)
    counted = (inside & (level > 0.3 * loudest)).float()

    relative = (segments / level.clamp_min(1e-8)[..., None] - 1) * torch.hann_window(segment, device=values.device)
    power = torch.fft.rfft(relative).abs().square()  # (B, S, F)
    frequencies = torch.fft.rfftfreq(segment, 1 / ENVELOPE_RATE_HZ).to(values.device)
    per_band = torch.stack(
        [power[..., (frequencies >= low) & (frequencies < high)].mean(dim=-1) for low, high in MODULATION_BANDS_HZ], dim=-1
    )  # (B, S, K)
    mean = (per_band * counted[..., None]).sum(dim=1) / counted.sum(dim=1, keepdim=True).clamp_min(1)
    return torch.log(mean + 1e-8)
