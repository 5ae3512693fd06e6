"""The formant tracker and the formant statistics the student's identity read-outs can take."""

import numpy as np
import pytest
import torch
from scipy.signal import lfilter

from speech2video.configuration_speech2video import Speech2VideoConfig
from speech2video.formants import track_formants
from speech2video.modeling_speech2video import NEUTRAL_TRACT_FORMANTS_HZ, VoiceStatistics, formant_statistics

RATE = 16_000
VOWEL_A = (730.0, 1090.0, 2440.0, 3400.0)  # a man's /a/ (Peterson & Barney)


def vowel(formants, f0: float = 120.0, seconds: float = 1.0) -> torch.Tensor:
    """A glottal pulse train at f0 through one resonance (bandwidth 80-200 Hz) per formant, (L,)."""
    source = np.zeros(int(seconds * RATE))
    source[:: round(RATE / f0)] = 1.0
    source = lfilter([1.0], [1.0, -0.95], source)  # the glottal pulse's spectral slope
    for frequency, bandwidth in zip(formants, (80.0, 100.0, 150.0, 200.0)):
        radius = np.exp(-np.pi * bandwidth / RATE)
        source = lfilter([1.0], [1.0, -2 * radius * np.cos(2 * np.pi * frequency / RATE), radius**2], source)
    return torch.from_numpy(source / np.abs(source).max()).float()


def statistics(audio: torch.Tensor) -> torch.Tensor:
    """(5,) formant statistics of a fully voiced item."""
    frames = (len(audio) - 640) // 160 + 1
    return formant_statistics(track_formants(audio[None], torch.ones(1, frames, dtype=torch.bool)))[0]


def test_finds_the_formants_of_a_synthetic_vowel():
    found = statistics(vowel(VOWEL_A)).exp()
    assert torch.allclose(found[:4], torch.tensor(VOWEL_A), rtol=0.05)
    assert found[4] == pytest.approx((VOWEL_A[3] - VOWEL_A[0]) / 3, rel=0.08)


def test_a_longer_tract_reads_lower_whatever_the_gain_and_pitch():
    reference = statistics(vowel(VOWEL_A))
    longer = statistics(vowel([f * 0.85 for f in VOWEL_A], f0=100.0))
    assert torch.allclose(longer - reference, torch.tensor(np.log(0.85)).float(), atol=0.04)
    assert torch.allclose(statistics(0.01 * vowel(VOWEL_A)), reference, atol=1e-3)


def test_a_microphone_colour_hardly_moves_them():
    audio = vowel(VOWEL_A)
    tilted = torch.from_numpy(lfilter([1.0, -0.6], [1.0], audio.numpy())).float()  # +8 dB per decade above 1 kHz
    assert torch.allclose(statistics(tilted), statistics(audio), atol=0.05)


def test_only_voiced_frames_are_analysed_and_an_unvoiced_item_reads_as_a_neutral_tract():
    audio = vowel(VOWEL_A)[None]
    frames = (audio.shape[1] - 640) // 160 + 1
    voiced = torch.zeros(1, frames, dtype=torch.bool)
    voiced[0, 10:20] = True
    track = track_formants(audio, voiced)
    assert track.frequencies[0, 10:20].isfinite().all() and track.frequencies[0, :10].isnan().all()
    silent = formant_statistics(track_formants(audio, torch.zeros(1, frames, dtype=torch.bool)))[0]
    neutral = torch.tensor(NEUTRAL_TRACT_FORMANTS_HZ)
    assert torch.allclose(silent.exp(), torch.cat([neutral, (neutral[3:] - neutral[:1]) / 3]), rtol=1e-4)


def test_voice_statistics_with_formants_grow_by_five_and_need_pitch():
    plain = VoiceStatistics(8, RATE, pitch=True)
    with_formants = VoiceStatistics(8, RATE, pitch=True, formants=True)
    assert with_formants.size == plain.size + 5
    audio = torch.stack([vowel(VOWEL_A), 0.5 * vowel(VOWEL_A)])
    mask = torch.ones_like(audio, dtype=torch.long)
    values = with_formants.statistics(audio, mask)
    assert torch.allclose(values[:, : plain.size], plain.statistics(audio, mask))
    assert torch.allclose(values[:, -5:-1].exp(), torch.tensor(VOWEL_A), rtol=0.05)
    with pytest.raises(ValueError, match="voice_statistics_pitch"):
        Speech2VideoConfig(voice_statistics_bands=8, voice_statistics_formants=True)
