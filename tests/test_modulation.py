"""Amplitude-modulation statistics: rhythm and shimmer show in their bands, gain and padding do not."""

import math

import torch

from speech2video.modulation import MODULATION_BANDS_HZ, modulation_statistics

RATE = 16_000
TIME = torch.arange(2 * RATE) / RATE
TONE = torch.sin(2 * math.pi * 180 * TIME) + 0.5 * torch.sin(2 * math.pi * 360 * TIME)


def band(low: float) -> int:
    return [lo for lo, _ in MODULATION_BANDS_HZ].index(low)


def test_syllable_rhythm_and_shimmer_raise_their_own_bands():
    syllables = TONE * (1 + 0.8 * torch.sin(2 * math.pi * 4 * TIME))
    shimmer = TONE * (1 + 0.3 * torch.sin(2 * math.pi * 50 * TIME))
    stats = modulation_statistics(torch.stack([TONE, syllables, shimmer]), torch.full((3,), 2 * RATE))
    steady, rhythmic, rough = stats
    assert rhythmic.argmax() == band(2.0) and rough.argmax() == band(40.0)
    assert rhythmic[band(2.0)] > steady[band(2.0)] + 10 and rough[band(40.0)] > steady[band(40.0)] + 10  # log power


def test_the_ripple_of_a_low_voice_does_not_pass_for_shimmer():
    low_voice = sum(torch.sin(2 * math.pi * 75 * k * TIME) / k for k in range(1, 6))
    shimmer = low_voice * (1 + 0.1 * torch.sin(2 * math.pi * 45 * TIME))
    steady, rough = modulation_statistics(torch.stack([low_voice, shimmer]), torch.full((2,), 2 * RATE))
    assert rough[band(40.0)] > steady[band(40.0)] + 5


def test_gain_and_padding_do_not_change_the_statistics():
    noise = torch.randn(2 * RATE, generator=torch.Generator().manual_seed(0))
    speechlike = TONE * (1 + 0.8 * torch.sin(2 * math.pi * 5 * TIME)) + 0.05 * noise
    alone = modulation_statistics(speechlike[None], torch.tensor([2 * RATE]))
    louder = modulation_statistics(10 * speechlike[None], torch.tensor([2 * RATE]))
    assert torch.allclose(alone, louder, atol=1e-4)
    short = speechlike[: RATE]
    batch = torch.stack([speechlike, torch.cat([short, noise[: RATE]])])  # the second item's tail is padding
    batched = modulation_statistics(batch, torch.tensor([2 * RATE, RATE]))
    assert torch.allclose(batched[0], alone[0], atol=1e-4)
    assert torch.allclose(batched[1], modulation_statistics(short[None], torch.tensor([RATE]))[0], atol=1e-4)


def test_a_clip_shorter_than_one_segment_gives_finite_statistics():
    stats = modulation_statistics(TONE[None, :2000], torch.tensor([2000]))
    assert stats.shape == (1, len(MODULATION_BANDS_HZ)) and torch.isfinite(stats).all()
