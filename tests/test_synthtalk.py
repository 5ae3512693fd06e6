"""SynthTalk: determinism, splits, timing ground truth, lip closure, audio-mouth sync, emotion cues."""

import numpy as np
import pytest

from speech2video.data.synthtalk import EMOTIONS, Speaker, build_corpus, make_clip
from speech2video.data.synthtalk.animation import closure_intervals
from speech2video.data.synthtalk.corpus import split_speakers
from speech2video.data.synthtalk.face import FaceLook
from speech2video.data.synthtalk.sentences import is_test_sentence, sentence_pool
from speech2video import OutputError
from speech2video.data.schema import decode_audio, decode_frames

SENTENCE = "Please bring my brown bag to the big meeting by the bay."
MOUTH_INTERIOR = np.array([71, 15, 20])  # the renderer's mouth-cavity colour


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("synthtalk") / "corpus", num_clips=20, num_speakers=10,
                        image_size=64, seed=1, num_proc=2)


def test_same_seed_gives_byte_identical_clips(tmp_path, corpus):
    again = build_corpus(tmp_path / "again", num_clips=20, num_speakers=10, image_size=64, seed=1, num_proc=1)
    for split in corpus:
        assert corpus[split]["audio"] == again[split]["audio"]
        assert corpus[split]["video"] == again[split]["video"]


def test_a_killed_build_restarts_from_its_finished_shards(tmp_path, corpus, monkeypatch):
    """SIGKILL a build of the module's corpus after its second shard, rerun it: the finished shards are kept
    (not rebuilt) and the result is byte-identical to the uninterrupted build."""
    import signal
    import subprocess
    import sys
    import time

    output = tmp_path / "killed"
    shards = output / ".shards"
    code = (f"from speech2video.data.synthtalk import build_corpus\n"
            f"build_corpus({str(output)!r}, num_clips=20, num_speakers=10, image_size=64, seed=1, num_proc=1, shard_size=3)")
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(shards.glob("train-0000[0-9]"))) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the build finished before it could be killed"
    kept = {path.name: path.stat().st_mtime_ns for path in shards.glob("train-*") if not path.name.endswith(".tmp")}
    assert len(kept) >= 2

    with pytest.raises(OutputError, match="not empty"):  # other settings: not a restart of that build
        build_corpus(output, num_clips=20, num_speakers=10, image_size=64, seed=2, num_proc=1, shard_size=3)
    from speech2video.data import shards as shards_module

    built = []
    original = shards_module.ShardedBuild.run

    def counting_run(self, name, items, make_shard, shard_size):
        return original(self, name, items, lambda shard: built.append((name, len(shard))) or make_shard(shard), shard_size)

    monkeypatch.setattr(shards_module.ShardedBuild, "run", counting_run)
    again = build_corpus(output, num_clips=20, num_speakers=10, image_size=64, seed=1, num_proc=1, shard_size=3)
    assert sum(n for name, n in built if name == "train") == len(corpus["train"]) - 3 * len(kept)
    assert not shards.exists()
    for split in corpus:
        assert again[split]["audio"] == corpus[split]["audio"] and again[split]["video"] == corpus[split]["video"]


def test_every_split_gets_speakers_even_from_a_few():
    for num_speakers in range(3, 40):
        splits = split_speakers(num_speakers)
        assert all(len(speakers) > 0 for speakers in splits.values()), (num_speakers, splits)
        assert [i for split in ("train", "validation", "test") for i in splits[split]] == list(range(num_speakers))
    assert [len(split_speakers(n)["train"]) for n in (10, 25, 500)] == [8, 20, 400]  # as before for larger corpora


def test_splits_have_disjoint_speakers_and_train_test_disjoint_sentences(corpus):
    speakers = {split: set(corpus[split]["speaker_id"]) for split in corpus}
    assert not speakers["train"] & speakers["test"] and not speakers["train"] & speakers["validation"]
    assert not speakers["validation"] & speakers["test"]
    assert not set(corpus["train"]["text"]) & set(corpus["test"]["text"])
    assert not set(sentence_pool("train", 500)) & set(sentence_pool("test", 100))
    assert all(is_test_sentence(s) for s in sentence_pool("test", 50))


def test_rows_decode_to_consistent_audio_and_frames(corpus):
    row = corpus["train"][0]
    audio, frames = decode_audio(row), decode_frames(row)
    assert frames.shape == (row["num_frames"], 64, 64, 3)
    assert abs(len(audio) / 16_000 * 25 - len(frames)) <= 1
    for key in ("mouth_open", "mouth_width", "viseme", "blink", "head_pose"):
        assert len(row[key]) == len(frames), key


def test_phoneme_times_are_monotonic_and_inside_the_audio(corpus):
    for row in corpus["train"]:
        times = np.array(row["phoneme_times"])
        assert len(times) == len(row["phonemes"]) > 3
        assert np.all(np.diff(times) >= 0) and times[0] >= 0 and times[-1] <= len(row["audio"]) / 16_000


def test_bilabials_close_the_mouth_in_the_frames_they_span():
    clip = make_clip(Speaker.from_seed(2), "neutral", 0.0, SENTENCE, seed=0)
    duration = len(clip.audio) / 16_000
    centres = (np.arange(len(clip.frames)) + 0.5) / 25
    intervals = closure_intervals(clip.phonemes, clip.phoneme_times, duration)
    assert len(intervals) == sum(p in ("p", "b", "m") for p in clip.phonemes) >= 8
    for lo, hi in intervals:
        spanned = np.flatnonzero((centres >= lo) & (centres <= hi))
        assert len(spanned) >= 1
        assert np.all(clip.mouth_open[spanned] == 0)
        for t in spanned:  # and the rendered frame shows no mouth cavity
            assert _cavity_pixels(clip.frames[t]) == 0
    assert _cavity_pixels(clip.frames[int(np.argmax(clip.mouth_open))]) > 20


def _cavity_pixels(frame):
    return int((np.abs(frame.astype(int) - MOUTH_INTERIOR).sum(axis=-1) < 30).sum())


def test_audio_energy_and_mouth_opening_peak_at_lag_zero():
    correlations = {lag: [] for lag in (-2, 0, 2)}
    for i, sentence in enumerate(sentence_pool("train", 6)):
        clip = make_clip(Speaker.from_seed(10 + i), "neutral", 0.0, sentence, seed=i)
        hop = 16_000 // 25
        energy = np.array([np.sqrt(np.mean(clip.audio[t * hop:(t + 1) * hop] ** 2)) for t in range(len(clip.frames))])
        for lag in correlations:
            a, b = (energy[lag:], clip.mouth_open[:len(energy) - lag]) if lag >= 0 else (energy[:lag], clip.mouth_open[-lag:])
            correlations[lag].append(np.corrcoef(a, b)[0, 1])
    mean = {lag: np.mean(values) for lag, values in correlations.items()}
    assert mean[0] > 0.3 and mean[0] > mean[2] and mean[0] > mean[-2]


def _f0(audio: np.ndarray) -> float:
    """Median F0 (Hz) of the voiced frames (`speech2video.pitch`)."""
    import torch

    from speech2video.pitch import track_pitch

    track = track_pitch(torch.from_numpy(audio)[None], torch.tensor([len(audio)]))
    return track.f0[track.voiced].median().item()


@pytest.mark.parametrize("emotion", [e for e in EMOTIONS if e != "neutral"])
def test_every_emotion_changes_voice_and_face_in_its_direction(emotion):
    speaker, style = Speaker.from_seed(0), EMOTIONS[emotion]
    neutral = make_clip(speaker, "neutral", 0.0, SENTENCE, seed=0)
    emotional = make_clip(speaker, emotion, 1.0, SENTENCE, seed=0)
    rms = lambda clip: np.sqrt(np.mean(clip.audio**2))  # noqa: E731
    assert np.sign(rms(emotional) / rms(neutral) - 1) == np.sign(style.volume - 1)
    assert np.sign(len(neutral.audio) / len(emotional.audio) - 1) == np.sign(style.rate - 1)
    assert np.sign(_f0(emotional.audio) / _f0(neutral.audio) - 1) == np.sign(style.pitch - 1)
    look, neutral_look = (FaceLook.from_identity(speaker.identity, EMOTIONS[e], i) for e, i in ((emotion, 1.0), ("neutral", 0.0)))
    assert np.sign(look.smile - neutral_look.smile) == np.sign(style.smile)
    assert np.sign(look.brow_raise - neutral_look.brow_raise) == np.sign(style.brow_raise)
    assert np.sign(look.eye_open - neutral_look.eye_open) == np.sign(style.eye_open)
    assert not np.array_equal(emotional.frames[0], neutral.frames[0])


def test_voice_linked_face_follows_the_voice_and_control_does_not():
    speakers = [Speaker.from_seed(i) for i in range(400)]
    identity = np.stack([s.identity for s in speakers])
    pitch = np.log([s.voice.pitch_hz for s in speakers])
    formants = np.array([s.voice.formant_percent for s in speakers])
    assert np.corrcoef(pitch, identity[:, 0])[0, 1] > 0.8        # gender
    assert np.corrcoef(formants, identity[:, 1])[0, 1] < -0.6    # face size <- vocal tract
    for control in range(8, 14):
        assert abs(np.corrcoef(pitch, identity[:, control])[0, 1]) < 0.15


def test_voices_are_pitched_like_adult_read_speech():
    """Median F0 of neutral speech near real adults' (~210 Hz women, ~125 Hz men, as on LibriSpeech)."""
    from speech2video.data.synthtalk.corpus import speak

    medians = {"female": [], "male": []}
    for speaker in (Speaker.from_seed(i) for i in range(16)):
        medians[speaker.voice.gender].append(_f0(speak(speaker, "neutral", 0.0, SENTENCE, seed=0)[0]))
    assert 180 < np.mean(medians["female"]) < 245 and 105 < np.mean(medians["male"]) < 150


def test_an_emotion_scales_the_speakers_own_voice():
    voice, sad = Speaker.from_seed(3).voice, EMOTIONS["sad"]
    assert voice.expressing(sad, 0.0) == voice
    half, full = voice.expressing(sad, 0.5), voice.expressing(sad, 1.0)
    assert full.pitch_hz == pytest.approx(voice.pitch_hz * sad.pitch) and half.pitch_hz == pytest.approx(voice.pitch_hz * sad.pitch**0.5)
    assert full.words_per_minute < half.words_per_minute < voice.words_per_minute
    assert full.breath == pytest.approx(voice.breath + sad.breath) and full.accent == voice.accent
