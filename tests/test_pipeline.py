import subprocess
import sys

import av
import numpy as np
import pytest
import soundfile

from conftest import speech_like, tiny_config
from speech2video import AudioError, OutputError, Speech2VideoError, Speech2VideoPipeline, read_video


def test_task_pipeline_and_from_pretrained_give_identical_frames(tiny_model_dir, wav_file):
    import speech2video  # noqa: F401  (registers the task)
    from transformers import pipeline

    by_task = pipeline("speech-to-video", model=str(tiny_model_dir))
    by_class = Speech2VideoPipeline.from_pretrained(tiny_model_dir)
    assert isinstance(by_task, Speech2VideoPipeline)
    np.testing.assert_array_equal(by_task(str(wav_file), seed=7).frames, by_class(str(wav_file), seed=7).frames)


def test_task_registration_works_in_a_fresh_offline_interpreter(tiny_model_dir):
    code = (
        "import speech2video, numpy as np\n"
        "from transformers import pipeline\n"
        f"pipe = pipeline('speech-to-video', model={str(tiny_model_dir)!r})\n"
        "video = pipe(np.zeros(16000, np.float32), sampling_rate=16000, seed=0)\n"
        "print(video.frames.shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert "(25, 32, 32, 3)" in result.stdout


def test_output_frames_and_inferred_features(tiny_pipeline, wav_file):
    video = tiny_pipeline(str(wav_file), seed=0)
    assert video.frames.shape == (30, 32, 32, 3) and video.frames.dtype == np.uint8
    assert video.fps == 25 and video.sampling_rate == 16_000
    assert sum(video.emotion_probs.values()) == pytest.approx(1.0, abs=1e-4)
    assert video.identity_embedding.shape == (8,)
    assert video.emotion in video.emotion_probs


def test_seed_reproduces_and_changes_motion(tiny_pipeline, wav_file):
    first, again, other = (tiny_pipeline(str(wav_file), seed=s).frames for s in (1, 1, 2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    for seed in (-(2**63) - 1, 2**64):  # outside what torch's generators take (found by the fuzz test)
        with pytest.raises(Speech2VideoError, match="seed must be an integer from"):
            tiny_pipeline(str(wav_file), seed=seed)


def test_motion_scale_zero_is_a_still_face_whatever_the_seed(tiny_pipeline, wav_file):
    still, still_other_seed = (tiny_pipeline(str(wav_file), seed=s, motion_scale=0).frames for s in (1, 2))
    np.testing.assert_array_equal(still, still_other_seed)
    np.testing.assert_array_equal(still, tiny_pipeline(str(wav_file), seed=1, motion_scale=np.float32(0)).frames)
    default, explicit = (tiny_pipeline(str(wav_file), seed=1, **kw).frames for kw in ({}, {"motion_scale": 1.0}))
    np.testing.assert_array_equal(default, explicit)  # the tiny model's config.motion_scale is 1
    assert not np.array_equal(still, default)


def test_emotion_override(tiny_pipeline, wav_file):
    video = tiny_pipeline(str(wav_file), emotion="Happy", seed=0)
    assert video.emotion_probs["happy"] == 1.0 and video.emotion == "happy"
    with pytest.raises(Speech2VideoError, match="unknown emotion 'bored'"):
        tiny_pipeline(str(wav_file), emotion="bored")


def test_a_model_that_does_not_infer_the_speaker_reports_no_emotion(tiny_model_dir, wav_file, tmp_path):
    from speech2video import Speech2VideoModel

    lips_only = Speech2VideoModel.from_pretrained(tiny_model_dir)
    lips_only.config.infers_speaker = False
    lips_only.save_pretrained(tmp_path / "lips-only")
    video = Speech2VideoPipeline.from_pretrained(tmp_path / "lips-only")(str(wav_file), seed=0)
    assert video.emotion_probs == {} and video.emotion is None and video.frames.shape[0] == 30
    with pytest.raises(Speech2VideoError, match="takes no emotion"):
        Speech2VideoPipeline.from_pretrained(tmp_path / "lips-only")(str(wav_file), emotion="happy")


@pytest.mark.parametrize("rate,channels", [(44_100, 2), (8_000, 1), (48_000, 6)])
def test_any_rate_and_channel_count(tiny_pipeline, tmp_path, rate, channels):
    path = tmp_path / "in.wav"
    soundfile.write(path, speech_like(0.8, rate, channels), rate)
    assert len(tiny_pipeline(str(path), seed=0).frames) == 20


def test_array_bytes_and_fps_inputs(tiny_pipeline, wav_file):
    samples, rate = soundfile.read(wav_file, dtype="float32")
    from_array = tiny_pipeline(samples, sampling_rate=rate, seed=0)
    from_bytes = tiny_pipeline(wav_file.read_bytes(), seed=0)
    np.testing.assert_array_equal(from_array.frames, from_bytes.frames)
    assert len(tiny_pipeline(samples, sampling_rate=rate, fps=10, seed=0).frames) == 12


def test_saved_mp4_has_the_frames_and_the_speech(tiny_pipeline, wav_file, tmp_path):
    video = tiny_pipeline(str(wav_file), seed=0)
    path = video.save(tmp_path / "out.mp4")
    frames, fps = read_video(path)
    assert abs(len(frames) - 1.2 * 25) <= 1 and fps == 25
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac" and container.streams.video[0].codec_context.name == "h264"
        assert float(audio.duration * audio.time_base) == pytest.approx(1.2, abs=0.05)
    with pytest.raises(OutputError, match="already exists"):
        video.save(path)
    video.save(path, overwrite=True)
    with pytest.raises(OutputError, match="folder does not exist"):
        video.save(tmp_path / "missing" / "out.mp4")


def test_list_input_with_batch_size_matches_one_by_one(tiny_pipeline, tmp_path):
    inputs = [{"array": speech_like(s, seed=i), "sampling_rate": 16_000} for i, s in enumerate((1.0, 0.5, 0.7))]
    batched = tiny_pipeline(inputs, batch_size=2, seed=0)
    for item, video in zip(inputs, batched):
        alone = tiny_pipeline(item, seed=0)
        assert video.frames.shape == alone.frames.shape
        assert np.abs(video.frames.astype(int) - alone.frames).max() <= 1
        np.testing.assert_array_equal(video.audio, alone.audio)


@pytest.mark.parametrize(
    "make_input,message",
    [
        (lambda tmp: np.zeros(300, np.float32), "at least one video frame"),
        (lambda tmp: np.full(16_000, np.nan, np.float32), "NaN"),
        (lambda tmp: str(tmp / "missing.wav"), "not found"),
    ],
)
def test_bad_inputs_raise_clear_errors(tiny_pipeline, tmp_path, make_input, message):
    with pytest.raises(AudioError, match=message):
        tiny_pipeline(make_input(tmp_path), sampling_rate=16_000)


@pytest.mark.parametrize("kwargs", [dict(fps=0), dict(fps=500), dict(seed="x"), dict(frame_batch_size=0),
                                    dict(motion_scale=-0.5), dict(motion_scale=10), dict(motion_scale="big")])
def test_bad_options_raise_clear_errors(tiny_pipeline, kwargs):
    with pytest.raises(Speech2VideoError):
        tiny_pipeline(np.zeros(16_000, np.float32), sampling_rate=16_000, **kwargs)


def test_silent_audio_still_gives_a_video(tiny_pipeline):
    assert len(tiny_pipeline(np.zeros(16_000, np.float32), sampling_rate=16_000, seed=0).frames) == 25


def test_identity_embedding_keeps_one_face_across_recordings(tiny_pipeline):
    first = tiny_pipeline(speech_like(1.0, seed=1), sampling_rate=16_000, seed=0)
    other_voice = speech_like(1.0, seed=2)
    own = tiny_pipeline(other_voice, sampling_rate=16_000, seed=0)
    borrowed = tiny_pipeline(other_voice, sampling_rate=16_000, seed=0, identity_embedding=first.identity_embedding)
    np.testing.assert_allclose(borrowed.identity_embedding, first.identity_embedding, rtol=1e-6)
    assert not np.array_equal(borrowed.frames, own.frames)
    for bad in (first.identity_embedding[:-1], np.full_like(first.identity_embedding, np.nan)):
        with pytest.raises(Speech2VideoError, match="identity_embedding must be"):
            tiny_pipeline(other_voice, sampling_rate=16_000, identity_embedding=bad)


def test_output_says_whether_the_voice_was_heard_over_a_telephone(tiny_pipeline, tmp_path):
    """`narrowband` is True for speech over a telephone line, False for wideband speech (also in a batch and
    streamed), and None for a model without voice statistics, which cannot tell."""
    from speech2video import Speech2VideoModel
    from speech2video.training.distillation import telephone_line

    Speech2VideoModel(tiny_config(voice_statistics_bands=40)).save_pretrained(tmp_path)
    pipe = Speech2VideoPipeline.from_pretrained(tmp_path)
    speech = speech_like(1.0)
    inputs = [{"array": a, "sampling_rate": 16_000} for a in (speech, telephone_line(speech))]
    assert [video.narrowband for video in pipe(inputs, batch_size=2, seed=0)] == [False, True]
    assert pipe(telephone_line(speech), sampling_rate=16_000, stream=True).narrowband is True
    assert tiny_pipeline(speech, sampling_rate=16_000).narrowband is None


def test_importing_wav2vec2_after_speech2video_works_and_registers(tiny_model_dir):
    """The registration hook must not import our model while transformers is half-way through wav2vec2."""
    code = (
        "import speech2video\n"
        "from transformers import Wav2Vec2Model\n"  # first: wav2vec2 loads the auto module half-way through
        "from transformers import AutoModel\n"
        f"print(type(AutoModel.from_pretrained({str(tiny_model_dir)!r})).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Speech2VideoModel" in result.stdout
