"""Festival's voices in SynthTalk: phones read as the visemes of the same sounds, the mouth truth in time with the
audio, and a corpus voiced by them; the voices a corpus may use are never the ones the benchmark listens to."""

import numpy as np
import pytest

from speech2video import Speech2VideoError
from speech2video.audio import frame_energy
from speech2video.data.synthtalk import build_corpus
from speech2video.data.synthtalk.animation import mouth_track, viseme_of
from speech2video.data.synthtalk.festival import EVALUATION_VOICES, TRAINING_VOICES, espeak_mnemonic, is_installed, speak

needs_festival = pytest.mark.skipif(not all(map(is_installed, TRAINING_VOICES)),
                                    reason="Festival's training voices are not installed (make system-deps)")


@pytest.mark.parametrize("phone, language, viseme", [
    ("aa", "english", "open_vowel"), ("ay", "english", "open_vowel"), ("iy", "english", "close_vowel"),
    ("uw", "english", "round_vowel"), ("ow", "english", "round_vowel"), ("eh", "english", "mid_vowel"),
    ("p", "english", "p_b_m"), ("b", "english", "p_b_m"), ("th", "english", "th"), ("ch", "english", "sh_ch"),
    ("ng", "english", "k_g_ng"), ("y", "english", "y"), ("pau", "english", "silence"),
    ("ch", "czech", "k_g_ng"), ("c~", "czech", "sh_ch"), ("a:", "finnish", "open_vowel"), ("y", "finnish", "round_vowel"),
    ("p:", "finnish", "p_b_m"), ("a1", "catalan", "open_vowel"), ("J", "catalan", "t_d_n_l"),
    ("bb", "russian", "p_b_m"), ("uu", "russian", "round_vowel"), ("sh", "russian", "sh_ch"), ("##", "finnish", "silence"),
])
def test_festival_phones_become_the_visemes_of_the_same_sounds(phone, language, viseme):
    assert viseme_of(espeak_mnemonic(phone, language)) == viseme


def test_an_unknown_phone_is_an_error_not_a_guess():
    with pytest.raises(Speech2VideoError, match="'qq' of the czech phone set"):
        espeak_mnemonic("qq", "czech")


def test_no_corpus_voice_is_a_benchmark_voice():
    assert not {voice.name for voice in TRAINING_VOICES} & {voice.name for voice in EVALUATION_VOICES}
    assert {voice.sex for voice in TRAINING_VOICES} == {voice.sex for voice in EVALUATION_VOICES} == {"female", "male"}


@pytest.mark.parametrize("voice", TRAINING_VOICES + EVALUATION_VOICES, ids=lambda voice: voice.name)
def test_every_voice_speaks_with_a_mouth_truth_in_time_with_its_audio(voice):
    if not is_installed(voice):
        pytest.skip(f"{voice.package} is not installed (make system-deps)")
    for text in ("Bob bought a map of the big harbour.", "Maybe we should paint the lamp by Monday."):
        audio, phones, starts = speak(text, voice)
        duration = len(audio) / 16_000
        num_frames = round(duration * 25)
        assert 1.0 < duration < 6.0 and np.abs(audio).max() > 0.05
        assert np.all(np.diff(starts) > 0) and starts[-1] < duration
        assert sum(viseme_of(p) == "p_b_m" for p in phones) >= 4
        opening = mouth_track(phones, starts, duration, num_frames, 25).opening
        loudness = frame_energy(audio, num_frames, 25)
        by_lag = {lag: np.corrcoef(np.roll(loudness, lag)[3:-3], opening[3:-3])[0, 1] for lag in range(-3, 4)}
        assert by_lag[0] > 0.3 and max(by_lag, key=by_lag.get) in (-1, 0, 1), by_lag


@needs_festival
def test_a_festival_voiced_corpus_speaks_neutrally_in_voices_of_the_faces_sex(tmp_path):
    corpus = build_corpus(tmp_path / "corpus", num_clips=6, num_speakers=6, image_size=32, seed=3, num_proc=1,
                          voices="festival")
    sexes = {f"festival:{voice.name}": voice.sex for voice in TRAINING_VOICES}
    for split in corpus.values():
        for row in split:
            assert sexes[row["accent"]] == row["gender"] and row["emotion"] == "neutral"
            assert row["num_frames"] == len(row["mouth_open"]) == round(len(row["audio"]) / 16_000 * 25)
            assert max(row["mouth_open"]) > 0.5 and min(row["mouth_open"]) == 0.0
