"""Log-mel spectrogram in plain torch (no torchaudio): the sync expert's audio features."""

from __future__ import annotations

import numpy as np
import torch

LOG_FLOOR = 1e-6  # added to the mel power before the log, so silence stays finite


def hz_to_mel(hz):
    """Frequency in Hz -> HTK mel scale (1000 Hz ~ 1000 mel)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel):
    """HTK mel scale -> frequency in Hz (inverse of `hz_to_mel`)."""
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def mel_edges(n_mels: int, sampling_rate: int) -> np.ndarray:
    """(n_mels + 2,) frequencies in Hz evenly spaced on the mel scale from 0 to Nyquist: filter m's centre is
    edge m + 1, its feet edges m and m + 2."""
    return mel_to_hz(np.linspace(0.0, hz_to_mel(sampling_rate / 2), n_mels + 2))


def mel_filterbank(n_mels: int, n_fft: int, sampling_rate: int) -> torch.Tensor:
    """Triangular filters evenly spaced on the mel scale from 0 Hz to Nyquist, shape (n_mels, n_fft // 2 + 1).

    Filter m rises from centre m-1 to a peak of 1 at centre m and falls to 0 at centre m+1.
    """
    edges = mel_edges(n_mels, sampling_rate)
    bins = np.linspace(0.0, sampling_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising, falling = (bins - lower) / (centre - lower), (upper - bins) / (upper - centre)
    return torch.from_numpy(np.clip(np.minimum(rising, falling), 0.0, None)).float()


def log_mel_spectrogram(audio, sampling_rate: int = 16_000, n_fft: int = 400, hop_length: int = 160,
                        n_mels: int = 40) -> torch.Tensor:
    """Natural log of mel-band power of mono `audio` (L,), shape (1 + L // hop_length, n_mels).

    Hann-windowed frames of `n_fft` samples (25 ms at 16 kHz); frame i is centred on sample i * hop_length
    (every 10 ms), the signal being reflected at its ends.
    """
    audio = torch.as_tensor(np.asarray(audio, np.float32))
    if audio.ndim != 1 or audio.numel() <= n_fft // 2:
        raise ValueError(f"need mono audio longer than {n_fft // 2} samples, got shape {tuple(audio.shape)}")
    spectrum = torch.stft(audio, n_fft, hop_length, window=torch.hann_window(n_fft), center=True,
                          return_complex=True).abs().square()  # (n_fft // 2 + 1, frames)
    return torch.log(mel_filterbank(n_mels, n_fft, sampling_rate) @ spectrum + LOG_FLOOR).T
