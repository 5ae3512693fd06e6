"""The pitch tracker and the pitch statistics the student's identity and emotion heads read."""

import math

import pytest
import torch

from speech2video.modeling_speech2video import pitch_statistics
from speech2video.pitch import track_pitch

RATE = 16_000


def harmonic_tone(f0: torch.Tensor) -> torch.Tensor:
    """Five harmonics of a (possibly gliding) fundamental f0 (L,) in Hz -> audio (L,)."""
    phase = 2 * math.pi * torch.cumsum(f0, dim=0) / RATE
    return sum(torch.sin(k * phase) / k for k in range(1, 6))


@pytest.mark.parametrize("f0", [70.0, 110.0, 220.0, 330.0, 450.0])
def test_tracks_the_fundamental_of_a_harmonic_tone_without_octave_errors(f0):
    track = track_pitch(harmonic_tone(torch.full((RATE,), f0))[None], torch.tensor([RATE]))
    assert track.voiced.all()
    assert torch.allclose(track.f0[track.voiced], torch.tensor(f0), rtol=0.03)


def test_noise_and_silence_are_unvoiced_and_padding_is_not_analysed():
    noise = torch.randn(RATE, generator=torch.Generator().manual_seed(0))
    assert not track_pitch(noise[None], torch.tensor([RATE])).voiced.any()
    padded = torch.cat([harmonic_tone(torch.full((RATE // 2,), 150.0)), torch.zeros(RATE // 2)])[None]
    track = track_pitch(padded, torch.tensor([RATE // 2]))
    assert track.valid.sum() == (RATE // 2 - 640) // 160 + 1 and track.voiced.sum() == track.valid.sum()


def test_pitch_statistics_tell_level_range_and_rhythm_apart():
    steady = harmonic_tone(torch.full((2 * RATE,), 120.0))
    higher = harmonic_tone(torch.full((2 * RATE,), 240.0))
    glide = harmonic_tone(torch.linspace(100.0, 250.0, 2 * RATE))
    bursts = steady * (torch.arange(2 * RATE) % (RATE // 4) < RATE // 8)  # 4 tone bursts a second
    lengths = torch.full((4,), 2 * RATE)
    stats = pitch_statistics(track_pitch(torch.stack([steady, higher, glide, bursts]), lengths))
    mean, spread, jump, fraction, onsets, aperiodicity = stats.T
    assert mean[1] - mean[0] == pytest.approx(math.log(2), abs=0.05)
    assert spread[2] > 5 * spread[0] and jump[2] > jump[0]
    assert fraction[0] > 0.95 and fraction[3] < 0.6
    assert onsets[0] < 1 and 3 <= onsets[3] <= 5
    assert (aperiodicity < 0.1).all()


def test_highpass_keeps_a_voice_from_hum_and_bass_and_a_low_voice_from_its_harmonics():
    time = torch.arange(RATE) / RATE
    hum = 3 * sum(torch.sin(2 * math.pi * 50 * k * time) / k for k in (1, 2))  # mains hum, louder than the voice
    voice = harmonic_tone(torch.full((RATE,), 220.0))
    low_voice = harmonic_tone(torch.full((RATE,), 90.0))
    lengths = torch.tensor([RATE, RATE])
    plain = track_pitch(torch.stack([voice + hum, low_voice]), lengths)
    filtered = track_pitch(torch.stack([voice + hum, low_voice]), lengths, highpass_hz=150.0)
    assert not torch.allclose(plain.f0[0][plain.voiced[0]].median(), torch.tensor(220.0), rtol=0.03)
    assert filtered.voiced.float().mean() > 0.9
    assert torch.allclose(filtered.f0[0][filtered.voiced[0]], torch.tensor(220.0), rtol=0.03)
    assert torch.allclose(filtered.f0[1][filtered.voiced[1]], torch.tensor(90.0), rtol=0.03)


def test_the_median_level_ignores_octave_slips_that_pull_the_mean():
    slips = torch.cat([harmonic_tone(torch.full((RATE,), 200.0)), harmonic_tone(torch.full((RATE // 2,), 100.0))])
    track = track_pitch(slips[None], torch.tensor([len(slips)]))
    mean, median = pitch_statistics(track)[0, 0], pitch_statistics(track, median_level=True)[0, 0]
    assert median == pytest.approx(math.log(200.0), abs=0.03)
    assert mean < math.log(200.0) - 0.15
