"""A new student in front of a trained generator: the content map, its folding and `attach_student.py`."""

import json

import numpy as np
import pytest
import torch
from conftest import load_example_script, tiny_config

from speech2video import Speech2VideoModel
from speech2video.data.synthtalk import EMOTIONS
from speech2video.training.content_map import fit_content_map, fold_content_map


def test_the_fit_recovers_an_affine_map_between_feature_spaces():
    rng = np.random.default_rng(0)
    source = rng.standard_normal((500, 6))
    matrix, bias = rng.standard_normal((6, 4)), rng.standard_normal(4)
    fitted_matrix, fitted_bias = fit_content_map(source, source @ matrix + bias, ridge=1e-9)
    np.testing.assert_allclose(fitted_matrix, matrix, atol=1e-6)
    np.testing.assert_allclose(fitted_bias, bias, atol=1e-6)
    with pytest.raises(ValueError, match="more paired frames"):
        fit_content_map(source[:5], source[:5] @ matrix)


def test_the_folded_generator_reads_new_features_as_the_old_ones_they_map_to():
    """Styles from features c through the folded generator equal the original's from c @ matrix + bias,
    edges included (the convolution replicates the first and last frames)."""
    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config()).eval()
    channels = model.config.content_dim
    matrix, bias = np.random.default_rng(1).standard_normal((2, channels, channels)) / 4
    content = torch.randn(2, 9, channels)
    identity, emotion = torch.randn(2, model.config.identity_dim), torch.rand(2, model.config.num_emotions)
    motion = torch.randn(2, 9, model.config.motion_dim)
    mapped = content @ torch.tensor(matrix, dtype=torch.float32) + torch.tensor(bias[0], dtype=torch.float32)
    with torch.no_grad():
        expected = model.generator.styles(mapped, identity, emotion, motion)
        fold_content_map(model.generator.content_context, matrix, bias[0])
        folded = model.generator.styles(content, identity, emotion, motion)
    torch.testing.assert_close(folded, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="does not fit a generator"):
        fold_content_map(model.generator.content_context, np.eye(channels + 1), np.zeros(channels + 1))


def test_attach_student_saves_the_model_with_the_new_students_encoder(corpus_with_targets, tmp_path, capsys):
    """The saved model has the student's encoder and the model's generator with the map folded in; attaching a
    model's own student maps its features onto themselves (R² 1) and leaves the generator as it was."""
    config = dict(identity_dim=14, emotion_labels=list(EMOTIONS))
    torch.manual_seed(0)
    Speech2VideoModel(tiny_config(**config)).save_pretrained(tmp_path / "model")
    torch.manual_seed(1)
    Speech2VideoModel(tiny_config(**config)).save_pretrained(tmp_path / "student")
    corpus = str(corpus_with_targets / "targets")
    script = load_example_script("attach_student")

    def attach(student, output, *extra):
        script.main(["--student", str(tmp_path / student), "--model", str(tmp_path / "model"), "--dataset_path",
                     corpus, "--output_dir", str(tmp_path / output), "--max_clips", "16", *extra])
        return json.loads(capsys.readouterr().out)[corpus], Speech2VideoModel.from_pretrained(tmp_path / output)

    report, attached = attach("model", "itself", "--ridge", "0")
    assert report["r2_variance_weighted"] > 0.999 and report["train_frames"] > 16 * 10
    original = Speech2VideoModel.from_pretrained(tmp_path / "model")
    for name, tensor in original.state_dict().items():
        torch.testing.assert_close(attached.state_dict()[name], tensor, atol=1e-3, rtol=1e-3, msg=name)

    report, attached = attach("student", "new")
    assert report["r2_variance_weighted"] < 0.999  # another student's features are not the model's
    student = Speech2VideoModel.from_pretrained(tmp_path / "student")
    for name, tensor in student.encoder.state_dict().items():
        assert torch.equal(attached.encoder.state_dict()[name], tensor), name
    assert not torch.equal(attached.generator.content_context.weight, original.generator.content_context.weight)
    for name, tensor in original.generator.state_dict().items():
        if not name.startswith("content_context"):
            assert torch.equal(attached.generator.state_dict()[name], tensor), name

    with pytest.raises(SystemExit, match="already holds a model"):
        attach("student", "new")
    Speech2VideoModel(tiny_config(content_dim=8, **config)).save_pretrained(tmp_path / "narrow")
    with pytest.raises(SystemExit, match=r"content_dim \(8\) is not the model's \(16\)"):
        attach("narrow", "narrow-attached")
