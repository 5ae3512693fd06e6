"""The static-image baseline path: `pipe(audio, reference_image=...)` takes identity from a picture."""

import numpy as np
import pytest
import torch

from conftest import speech_like, tiny_config
from speech2video import Speech2VideoError, Speech2VideoModel, Speech2VideoPipeline
from speech2video.teachers.synthtalk import SynthTalkTeacher


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config(identity_dim=14, identity_teacher="synthtalk")).eval()
    return Speech2VideoPipeline(model=model, task="speech-to-video")


def test_reference_image_sets_the_identity_from_the_face_teacher(pipe):
    face = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    audio = speech_like(0.5)
    with_image = pipe(audio, sampling_rate=16_000, seed=0, reference_image=face)
    from_voice = pipe(audio, sampling_rate=16_000, seed=0)
    expected = SynthTalkTeacher.from_pretrained().predict(torch.from_numpy(face).permute(2, 0, 1)[None] / 255.0).identity[0]
    np.testing.assert_allclose(with_image.identity_embedding, expected.numpy(), atol=1e-6)
    assert not np.array_equal(with_image.frames, from_voice.frames)


def test_reference_image_errors_are_specific(pipe, tiny_pipeline, tmp_path):
    audio = speech_like(0.5)
    with pytest.raises(Speech2VideoError, match="uint8"):
        pipe(audio, sampling_rate=16_000, reference_image=np.zeros((8, 8), np.float32))
    with pytest.raises(Speech2VideoError, match="cannot read the reference image"):
        pipe(audio, sampling_rate=16_000, reference_image=tmp_path / "missing.png")
    with pytest.raises(Speech2VideoError, match="no identity teacher"):
        tiny_pipeline(audio, sampling_rate=16_000, reference_image=np.zeros((8, 8, 3), np.uint8))
