"""The static-image baseline path: `pipe(audio, reference_image=...)` takes identity from a picture, and a
model with reference frames also renders from its pixels."""

import numpy as np
import pytest
import torch

from conftest import speech_like, tiny_config
from speech2video import Speech2VideoError, Speech2VideoModel, Speech2VideoPipeline
from speech2video.teachers.reference import pixels_from_image
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


def _reference_frame_model(skip_value=None):
    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config(reference_frame=True)).eval()
    if skip_value is not None:  # as if trained: the picture's features reach the decoder
        with torch.no_grad():
            for skip in model.generator.reference.skips:
                skip.weight.fill_(skip_value)
    return model


def test_a_new_reference_encoder_changes_nothing_until_trained(tmp_path):
    """Its skips start at zero, also when added to a model saved without one (fine-tuning starts from it)."""
    model = _reference_frame_model()
    audio, picture = torch.from_numpy(speech_like(0.5))[None], torch.rand(1, 3, 32, 32)
    with_picture = model(audio, reference_pixels=picture, generator=torch.Generator().manual_seed(0)).frames
    without = model(audio, generator=torch.Generator().manual_seed(0)).frames
    torch.testing.assert_close(with_picture, without)
    plain = Speech2VideoModel(tiny_config()).eval()
    plain.save_pretrained(tmp_path / "plain")
    grown = Speech2VideoModel.from_pretrained(tmp_path / "plain", reference_frame=True).eval()
    assert all(not skip.weight.any() for skip in grown.generator.reference.skips)
    torch.testing.assert_close(grown.generator.to_rgb.weight, plain.generator.to_rgb.weight)  # the rest as saved


def test_reference_image_pixels_reach_a_reference_frame_model(tmp_path):
    pipe = Speech2VideoPipeline(model=_reference_frame_model(skip_value=0.5), task="speech-to-video")
    audio = speech_like(0.5)
    dark, light = np.full((64, 64, 3), 20, np.uint8), np.full((32, 32, 3), 230, np.uint8)  # any size is resized
    from_voice = pipe(audio, sampling_rate=16_000, seed=0)
    with_dark = pipe(audio, sampling_rate=16_000, seed=0, reference_image=dark)
    with_light = pipe(audio, sampling_rate=16_000, seed=0, reference_image=light)
    assert not np.array_equal(with_light.frames, with_dark.frames)
    assert not np.array_equal(with_dark.frames, from_voice.frames)
    torch.testing.assert_close(pixels_from_image(dark, 32), torch.full((1, 3, 32, 32), 20 / 255))
    np.testing.assert_array_equal(with_dark.identity_embedding, from_voice.identity_embedding)  # no identity teacher
    streamed = np.concatenate(list(pipe(audio, sampling_rate=16_000, seed=0, reference_image=dark, stream=True)))
    np.testing.assert_array_equal(streamed, with_dark.frames)
    pipe.model.save_pretrained(tmp_path / "model")  # the config says so after a round trip
    assert Speech2VideoModel.from_pretrained(tmp_path / "model").config.reference_frame


def test_reference_mouth_box_hides_the_pictures_mouth():
    """With `reference_mouth_box`, what the picture shows inside the box changes nothing; outside it does."""
    model = _reference_frame_model(skip_value=0.5)
    model.config.reference_mouth_box = [0.5, 0.25, 0.875, 0.75]  # rows 16-28, columns 8-24 of 32
    audio, picture = torch.from_numpy(speech_like(0.5))[None], torch.rand(1, 3, 32, 32)
    other_mouth, other_hair = picture.clone(), picture.clone()
    other_mouth[..., 16:28, 8:24] = torch.rand(3, 12, 16)
    other_hair[..., :8, :] = torch.rand(3, 8, 32)
    frames = {name: model(audio, reference_pixels=p, generator=torch.Generator().manual_seed(0)).frames
              for name, p in [("picture", picture), ("other mouth", other_mouth), ("other hair", other_hair)]}
    torch.testing.assert_close(frames["other mouth"], frames["picture"])
    assert not torch.allclose(frames["other hair"], frames["picture"])
    with pytest.raises(ValueError, match="reference_mouth_box"):
        tiny_config(reference_frame=True, reference_mouth_box=[0.9, 0.2, 0.5, 0.8])


def test_reference_pixels_errors_are_specific(tiny_model_dir):
    audio = torch.from_numpy(speech_like(0.5))[None]
    with pytest.raises(ValueError, match=r"must be \(B, 3, 32, 32\)"):
        _reference_frame_model()(audio, reference_pixels=torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="not trained with reference frames"):
        Speech2VideoModel.from_pretrained(tiny_model_dir)(audio, reference_pixels=torch.rand(1, 3, 32, 32))
