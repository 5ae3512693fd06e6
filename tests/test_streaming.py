"""Chunked generation: streaming equals the one-shot call, chunk seams neither drop nor repeat frames."""

import numpy as np
import pytest
import torch

from conftest import speech_like
from speech2video import Speech2VideoError, Speech2VideoStream, read_video
from speech2video.streaming import FrameStream


@pytest.mark.parametrize("seconds", [0.05, 1.23, 2.0])
def test_stream_equals_the_one_shot_call(tiny_pipeline, seconds):
    audio = speech_like(seconds, seed=1)
    video = tiny_pipeline(audio, sampling_rate=16_000, seed=3, frame_batch_size=7)
    stream = tiny_pipeline(audio, sampling_rate=16_000, seed=3, stream=True, frame_batch_size=7)
    assert isinstance(stream, Speech2VideoStream)
    assert stream.num_frames == round(seconds * 25) == len(video.frames)
    assert stream.emotion_probs == pytest.approx(video.emotion_probs)  # known before any frame is rendered
    chunks = list(stream)
    assert all(chunk.dtype == np.uint8 and len(chunk) <= 7 for chunk in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), video.frames)


def _frame_stream(model, audio, fps=25.0, **options):
    values = torch.from_numpy(audio)[None]
    num_frames = torch.tensor([round(len(audio) * fps / 16_000)])
    return FrameStream(model, values, torch.tensor([len(audio)]), num_frames, fps,
                       seeds=[0], **options)


@pytest.mark.parametrize("fps", [25.0, 29.97])
def test_chunk_seams_neither_drop_nor_repeat_frames(tiny_pipeline, fps):
    """Chunks of 0.3 s whose context spans the whole input give the one-pass frames, frame for frame:
    any off-by-one at a seam (content, motion or the generator's content context) would show."""
    audio = speech_like(2.1, seed=2)
    one_pass = torch.cat(list(_frame_stream(tiny_pipeline.model, audio, fps, chunk_seconds=60.0)), dim=1)
    chunked = torch.cat(list(_frame_stream(tiny_pipeline.model, audio, fps, chunk_seconds=0.3, context_seconds=5.0,
                                           frame_batch_size=4)), dim=1)
    assert chunked.shape[1] == round(2.1 * fps)
    torch.testing.assert_close(chunked, one_pass, atol=1e-4, rtol=0)


def test_short_context_changes_frames_only_a_little(tiny_pipeline):
    audio = speech_like(3.0, seed=4)
    one_pass = torch.cat(list(_frame_stream(tiny_pipeline.model, audio, chunk_seconds=60.0)), dim=1)
    chunked = torch.cat(list(_frame_stream(tiny_pipeline.model, audio, chunk_seconds=1.0, context_seconds=0.5)), dim=1)
    assert chunked.shape == one_pass.shape
    assert (chunked - one_pass).abs().mean() < 0.05


def test_stream_save_writes_a_valid_mp4_with_the_speech(tiny_pipeline, tmp_path):
    stream = tiny_pipeline(speech_like(1.0), sampling_rate=16_000, seed=0, stream=True)
    path = stream.save(tmp_path / "streamed.mp4")
    frames, fps = read_video(path)
    assert frames.shape == (25, 32, 32, 3) and fps == 25
    import av

    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 1


def test_stream_takes_one_input(tiny_pipeline):
    with pytest.raises(Speech2VideoError, match="one input"):
        tiny_pipeline([speech_like(0.5), speech_like(0.5)], sampling_rate=16_000, stream=True)


def test_identity_and_emotion_are_read_from_the_voice_after_a_long_silence():
    """8 s of digital silence, then 3 s of speech: the voice statistics are read from up to `VOICE_SECONDS` of
    audio, not from the first chunk, so the face is the voice's (as the one-pass encoder reads it), not the
    average voice that silence reads as. (The pooled heads, which read the first chunk, are zeroed, as in a
    student whose read-outs alone predict.)"""
    from conftest import tiny_config
    from speech2video import Speech2VideoModel
    from speech2video.modeling_speech2video import zero_mean_unit_variance

    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config(voice_statistics_bands=8, voice_statistics_pitch=True)).eval()
    for head in (model.encoder.identity_head, model.encoder.emotion_head):
        torch.nn.init.zeros_(head.projection.weight)
        torch.nn.init.zeros_(head.projection.bias)
    silence_then_speech = np.concatenate([np.zeros(8 * 16_000, np.float32), speech_like(3.0, seed=5)])
    audio = zero_mean_unit_variance(torch.from_numpy(silence_then_speech))  # as the feature extractor gives it
    stream = _frame_stream(model, audio.numpy())
    with torch.no_grad():
        one_pass = model.encode_speech(audio[None])
    torch.testing.assert_close(stream.identity_embeds, one_pass.identity_embeds)
    torch.testing.assert_close(stream.emotion_probs, one_pass.emotion_logits.softmax(-1))
    silence = model.encoder.identity_statistics_head.bias  # what statistics of silence (zeros) give
    assert (stream.identity_embeds[0] - silence).abs().max() > 0.1
