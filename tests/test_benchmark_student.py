"""benchmarks/student.py's voice shift: the probe of whether the GRID lips follow a voice other than the speaker's."""

import numpy as np
import pytest

from conftest import load_example_script


def peak_frequency(audio, rate=16_000):
    return np.argmax(np.abs(np.fft.rfft(audio * np.hanning(len(audio))))) * rate / len(audio)


@pytest.mark.parametrize("semitones", [-4, 4, 12])
def test_shifted_voice_moves_every_frequency_and_keeps_the_tempo(semitones):
    benchmark = load_example_script("student", folder="benchmarks")
    rate, time = 16_000, np.arange(32_000) / 16_000
    syllables = (time % 0.5) < 0.25  # 250 ms of tone, 250 ms of silence, four times
    audio = (np.sin(2 * np.pi * 220 * time) * syllables).astype(np.float32)

    shifted = benchmark.shifted_voice(audio, semitones)

    assert shifted.shape == audio.shape and shifted.dtype == np.float32
    assert peak_frequency(shifted) == pytest.approx(220 * 2 ** (semitones / 12), rel=0.02)
    envelope = np.abs(shifted).reshape(-1, 400).mean(1)  # 25 ms steps
    by_lag = [np.corrcoef(np.roll(envelope, lag), np.abs(audio).reshape(-1, 400).mean(1))[0, 1] for lag in range(-2, 3)]
    assert np.argmax(by_lag) == 2 and by_lag[2] > 0.8  # the syllables where they were


def test_every_model_hears_a_clip_through_the_same_random_channel():
    """The probe's random microphones and rooms are fixed per clip, so two models are compared on the same
    sounds; clips get different ones."""
    benchmark = load_example_script("student", folder="benchmarks")
    audio = np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1

    first, again, other = (benchmark.heard_through_random_channels(audio, index) for index in (3, 3, 4))

    assert first.shape == audio.shape and np.isfinite(first).all()
    assert np.array_equal(first, again) and not np.allclose(first, other) and not np.allclose(first, audio)


def test_a_corpus_row_over_a_telephone_line_is_stored_as_the_corpus_stores_audio():
    """`--telephone` hears each SynthTalk clip as a recorded call: band-limited, then 16-bit like the corpus."""
    benchmark = load_example_script("student", folder="benchmarks")
    noise = np.random.default_rng(0).standard_normal(16_000) * 0.1
    row = {"audio": np.round(noise * 32767).astype(np.int16).tolist()}

    heard = benchmark.over_a_telephone_line(row)["audio"]

    assert heard.dtype == np.int16 and len(heard) == len(row["audio"])
    spectrum = np.abs(np.fft.rfft(heard / 32767.0))
    frequencies = np.fft.rfftfreq(len(heard), 1 / 16_000)
    assert spectrum[frequencies > 4500].mean() < 0.01 * spectrum[(frequencies > 500) & (frequencies < 3000)].mean()
