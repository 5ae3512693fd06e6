"""A new student in front of a trained generator: the content map, its folding and `attach_student.py`."""

import json

import numpy as np
import pytest
import torch
from conftest import load_example_script, tiny_config

from speech2video import Speech2VideoModel
from speech2video.data.synthtalk import EMOTIONS
from speech2video.training.content_map import apply_content_map, fit_content_map, fold_content_map


def test_the_fit_recovers_an_affine_map_with_context():
    """Targets made from each frame and its neighbours (edges repeated) give back the map that made them."""
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal((length, 6)) for length in (40, 55, 70)]
    matrix, bias = rng.standard_normal((3, 6, 4)), rng.standard_normal(4)
    targets = [apply_content_map(clip, matrix, bias) for clip in clips]
    fitted_matrix, fitted_bias = fit_content_map(clips, targets, context=1, ridge=1e-12)
    np.testing.assert_allclose(fitted_matrix, matrix, atol=1e-6)
    np.testing.assert_allclose(fitted_bias, bias, atol=1e-6)
    with pytest.raises(ValueError, match="more of them than inputs"):
        fit_content_map(clips[:1], targets[:1], context=3)


@pytest.mark.parametrize("context", [0, 2])
def test_the_folded_generator_reads_new_features_as_the_old_ones_they_map_to(context):
    """Styles from features c through the folded generator equal the original's from the map of c, but at
    the frames within the original convolution's padding of the ends (2 here), where only the map's
    context-free part is exact."""
    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config()).eval()
    channels, padding = model.config.content_dim, model.config.content_context
    rng = np.random.default_rng(1)
    matrix, bias = rng.standard_normal((2 * context + 1, channels, channels)) / 8, rng.standard_normal(channels)
    content = torch.randn(2, 12, channels)
    identity, emotion = torch.randn(2, model.config.identity_dim), torch.rand(2, model.config.num_emotions)
    motion = torch.randn(2, 12, model.config.motion_dim)
    mapped = torch.tensor(np.stack([apply_content_map(clip, matrix, bias) for clip in content.numpy()]),
                          dtype=torch.float32)
    with torch.no_grad():
        expected = model.generator.styles(mapped, identity, emotion, motion)
        model.generator.content_context = fold_content_map(model.generator.content_context, matrix, bias)
        folded = model.generator.styles(content, identity, emotion, motion)
    assert model.generator.content_context.kernel_size[0] == 2 * (padding + context) + 1
    inner = slice(padding, -padding) if context else slice(None)
    torch.testing.assert_close(folded[:, inner], expected[:, inner], atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="does not fit a generator"):
        fold_content_map(model.generator.content_context, np.zeros((1, channels, channels + 1)), np.zeros(channels + 1))


def test_attach_student_saves_the_model_with_the_new_students_encoder(corpus_with_targets, tmp_path, capsys):
    """The saved model has the student's encoder and the model's generator with the map folded in; attaching a
    model's own student maps its features onto themselves (R² 1) and leaves the generator as it was."""
    config = dict(identity_dim=14, emotion_labels=list(EMOTIONS))
    torch.manual_seed(0)
    Speech2VideoModel(tiny_config(**config)).save_pretrained(tmp_path / "model")
    torch.manual_seed(1)  # a student with read-outs of voice statistics the model does not have
    voice = dict(voice_statistics_bands=40, voice_statistics_pitch=True, voice_statistics_formants=True,
                 voice_statistics_narrowband=True)
    Speech2VideoModel(tiny_config(**config, **voice)).save_pretrained(tmp_path / "student")
    corpus = str(corpus_with_targets / "targets")
    script = load_example_script("attach_student")

    def attach(student, output, *extra):
        script.main(["--student", str(tmp_path / student), "--model", str(tmp_path / "model"), "--dataset_path",
                     corpus, "--output_dir", str(tmp_path / output), "--max_clips", "16", *extra])
        return json.loads(capsys.readouterr().out)[corpus], Speech2VideoModel.from_pretrained(tmp_path / output)

    report, attached = attach("model", "itself", "--ridge", "0", "--context", "0")
    assert report["r2_variance_weighted"] > 0.999 and report["train_frames"] > 16 * 10
    original = Speech2VideoModel.from_pretrained(tmp_path / "model")
    for name, tensor in original.state_dict().items():
        torch.testing.assert_close(attached.state_dict()[name], tensor, atol=1e-3, rtol=1e-3, msg=name)

    report, attached = attach("student", "new")  # with two frames of context on each side, the default
    assert report["r2_variance_weighted"] < 0.999  # another student's features are not the model's
    assert attached.config.content_context == original.config.content_context + 2
    student = Speech2VideoModel.from_pretrained(tmp_path / "student")
    assert all(getattr(attached.config, field) == value for field, value in voice.items())
    assert attached.encoder.state_dict().keys() == student.encoder.state_dict().keys()
    for name, tensor in student.encoder.state_dict().items():
        assert torch.equal(attached.encoder.state_dict()[name], tensor), name
    for name, tensor in original.generator.state_dict().items():
        if not name.startswith("content_context"):
            assert torch.equal(attached.generator.state_dict()[name], tensor), name

    with pytest.raises(SystemExit, match="already holds a model"):
        attach("student", "new")
    raw_corpus = str(corpus_with_targets / "synthtalk")  # as built, without teacher targets: audio is enough
    script.main(["--student", str(tmp_path / "student"), "--model", str(tmp_path / "model"), "--dataset_path",
                 raw_corpus, "--output_dir", str(tmp_path / "from-raw"), "--max_clips", "16"])
    assert json.loads(capsys.readouterr().out)[raw_corpus]["r2_variance_weighted"] == pytest.approx(
        report["r2_variance_weighted"], abs=1e-6)  # the same clips
    Speech2VideoModel(tiny_config(content_dim=8, **config)).save_pretrained(tmp_path / "narrow")
    with pytest.raises(SystemExit, match=r"content_dim \(8\) is not the model's \(16\)"):
        attach("narrow", "narrow-attached")
