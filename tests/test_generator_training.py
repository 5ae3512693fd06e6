"""Stage 2 script: a few adversarial steps on a tiny SynthTalk corpus are finite, learn and resume."""

import json
import math
import os

import pytest
import torch
from safetensors.torch import load_file

from conftest import load_example_script, speech_like, tiny_config
from speech2video import Speech2VideoModel
from speech2video.data.synthtalk import EMOTIONS
from speech2video.teachers.synthtalk import SynthTalkTeacher
from speech2video.training import generator as generator_training
from speech2video.teachers.mouth import MOUTH_BOX
from speech2video.training.generator import (
    MouthShapes, perceptual_loss, random_view, student_features, widen_generator,
)


def test_generator_training_is_finite_learns_and_resumes(corpus_with_targets, tmp_path):
    torch.manual_seed(0)
    student = tmp_path / "student"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(student)
    output = tmp_path / "generator"
    common = ["--dataset_path", str(corpus_with_targets / "targets"), "--student_model_path", str(student),
              "--output_dir", str(output), "--train_batch_size", "2", "--motion_frames", "16",
              "--learning_rate", "2e-3", "--adversarial_start_step", "20", "--checkpointing_steps", "13",
              "--validation_steps", "13", "--seed", "0", "--cache_dir", str(tmp_path / "cache"),
              "--teacher_weight", "0"]  # computed and logged, but at 32 px its pull would hide the L1's fall in 20 steps
    script = load_example_script("train_generator")
    script.main([*common, "--max_train_steps", "26"])

    logs = [json.loads(line) for line in (output / "losses.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in logs] == list(range(1, 27))
    assert all(math.isfinite(value) for entry in logs for value in entry.values())
    adversarial = [entry for entry in logs if "loss_d" in entry]
    assert len(adversarial) == 6 and {"loss_sync", "loss_adversarial", "loss_motion_prior"} <= set(adversarial[0])
    assert "loss_kl" not in logs[0]  # normalised motion codes (the default) have no KL
    first, last = (sum(entry["loss_l1"] for entry in part) / 5 for part in (logs[:5], logs[15:20]))  # warm-up
    assert last < 0.85 * first, (first, last)
    assert (output / "samples" / "step-13.mp4").stat().st_size > 0 and (output / "samples" / "final.mp4").exists()
    assert not (output / "samples" / "step-26.mp4").exists()  # the last step's sample is final.mp4, written once
    validated = {entry["step"]: entry["val_l1"] for entry in logs if "val_l1" in entry}  # the EMA generator's
    assert list(validated) == [13, 26] and all(0 < error < 0.5 for error in validated.values()), validated
    assert len(list((tmp_path / "cache" / "student-features").glob("*.safetensors"))) == 2  # training, validation clips

    model = Speech2VideoModel.from_pretrained(output)  # the EMA generator with the untouched student
    trained = Speech2VideoModel.from_pretrained(student)
    assert torch.equal(model.encoder.wav2vec2.feature_extractor.conv_layers[0].conv.weight,
                       trained.encoder.wav2vec2.feature_extractor.conv_layers[0].conv.weight)

    # an earlier step kept as a model: the checkpoint's live weights with the run's configuration
    export = load_example_script("export_checkpoint")
    export.main(["--checkpoint", str(output / "checkpoint-13"), "--config_model", str(output), "--output_dir",
                 str(tmp_path / "step-13")])
    step_13 = Speech2VideoModel.from_pretrained(tmp_path / "step-13")
    saved = load_file(output / "checkpoint-13" / "model.safetensors")
    assert torch.equal(step_13.generator.to_rgb.weight, saved["generator.to_rgb.weight"])
    assert not torch.equal(step_13.generator.to_rgb.weight, model.generator.to_rgb.weight)
    with pytest.raises(SystemExit, match="already holds a model"):
        export.main(["--checkpoint", str(output / "checkpoint-13"), "--config_model", str(output), "--output_dir",
                     str(tmp_path / "step-13")])

    script.main([*common, "--max_train_steps", "28", "--resume_from_checkpoint", "latest", "--lr_scheduler", "linear"])
    logs = [json.loads(line) for line in (output / "losses.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in logs[-2:]] == [27, 28]  # resumed from checkpoint-26
    assert [entry["lr"] for entry in logs[-2:]] == pytest.approx([2e-3 * 2 / 28, 2e-3 / 28])  # the schedule at its step


def few_steps(corpus, student, output, steps: int, adversarial_start: int) -> list[str]:
    """train_generator.py's arguments for a few steps on a tiny corpus, without the student-feature cache."""
    return ["--dataset_path", str(corpus), "--student_model_path", str(student), "--output_dir", str(output),
            "--train_batch_size", "2", "--motion_frames", "16", "--max_train_steps", str(steps),
            "--adversarial_start_step", str(adversarial_start), "--validation_steps", "100",
            "--checkpointing_steps", "100", "--cache_dir", ""]


def test_a_corpus_without_teacher_targets_trains_on_the_students_outputs(corpus_with_targets, tmp_path):
    """A real single-speaker corpus (GRID) has no teacher columns: --teacher none --conditioning student."""
    from datasets import load_from_disk

    corpus = load_from_disk(str(corpus_with_targets / "targets"))
    plain = tmp_path / "plain"
    corpus.remove_columns(["teacher_identity", "teacher_emotion", "teacher_mouth_open"]).save_to_disk(str(plain))
    student = tmp_path / "student"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(student)
    common = few_steps(plain, student, tmp_path / "g", steps=4, adversarial_start=2)
    script = load_example_script("train_generator")
    with pytest.raises(SystemExit, match="no teacher targets.*--teacher none --conditioning student"):
        script.main(common)
    with pytest.raises(SystemExit, match="--perceptual_weight needs a face teacher"):
        script.main([*common, "--teacher", "none", "--conditioning", "student", "--perceptual_weight", "1"])
    script.main([*common, "--teacher", "none", "--conditioning", "student", "--lr_scheduler", "linear",
                 "--motion_codes", "variational", "--lip_weight", "4", "--mouth_shape_weight", "1"])
    logs = [json.loads(line) for line in (tmp_path / "g" / "losses.jsonl").read_text().splitlines()]
    assert len(logs) == 4 and {"loss_sync", "loss_kl", "loss_mouth_shape"} <= set(logs[-1])
    assert "loss_teacher" not in logs[-1]
    assert [entry["lr"] for entry in logs] == pytest.approx([2e-4, 1.5e-4, 1e-4, 0.5e-4])  # decays to zero at the end
    assert all(math.isfinite(value) for entry in logs for value in entry.values())
    # it learnt the student's outputs, not a teacher's space: a reference picture cannot stand in for them
    config = Speech2VideoModel.from_pretrained(tmp_path / "g").config
    assert config.identity_teacher is None and config.emotion_temperature == 1  # renders the student's probabilities


def test_a_real_face_corpus_trains_without_the_synthtalk_teacher(corpus_with_targets, tmp_path):
    """Targets of dlib and FER (`cache_teacher_targets.py --teacher face`) are spaces the SynthTalk teacher cannot
    read: by default the generator then trains without it, and asking for it is refused before any step."""
    import numpy as np
    from datasets import load_from_disk

    from speech2video.teachers.emotion import FER2013_CLASSES
    from speech2video.teachers.targets import TARGETS_INFO

    rng = np.random.default_rng(0)
    corpus = load_from_disk(str(corpus_with_targets / "targets")).map(lambda row: {
        "teacher_identity": rng.normal(0, 0.1, 128).tolist(), "teacher_emotion": rng.dirichlet(np.ones(7)).tolist()})
    real = tmp_path / "real-targets"
    corpus.save_to_disk(str(real))
    (real / TARGETS_INFO).write_text(json.dumps({"teacher": "FaceTeacherPair", "emotion_classes": FER2013_CLASSES}))
    student = tmp_path / "student"
    Speech2VideoModel(tiny_config(identity_dim=128, emotion_labels=FER2013_CLASSES,
                                  identity_teacher="dlib")).save_pretrained(student)
    common = few_steps(real, student, tmp_path / "g", steps=2, adversarial_start=1)
    script = load_example_script("train_generator")
    with pytest.raises(SystemExit, match="FaceTeacherPair's.*--teacher none"):
        script.main([*common, "--teacher", "synthtalk"])
    synthtalk_student = tmp_path / "synthtalk-student"  # a student of SynthTalk's spaces cannot stand in for dlib's
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(synthtalk_student)
    with pytest.raises(SystemExit, match="128-d identities and 7 emotions.*predicts 14-d identities and 6 emotions"):
        script.main(few_steps(real, synthtalk_student, tmp_path / "g", steps=2, adversarial_start=1))
    script.main(common)
    logs = [json.loads(line) for line in (tmp_path / "g" / "losses.jsonl").read_text().splitlines()]
    assert len(logs) == 2 and "loss_teacher" not in logs[-1]
    assert all(math.isfinite(value) for entry in logs for value in entry.values())
    assert Speech2VideoModel.from_pretrained(tmp_path / "g").config.identity_teacher == "dlib"  # pictures read by dlib


def test_reference_frames_train_a_picture_encoder_beside_the_speech_path(corpus_with_targets, tmp_path):
    """--reference_frames grows a reference encoder on a saved model (--generator_channels widens it) and trains
    it; the result renders with and without a picture."""
    student = tmp_path / "student"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(student)
    script = load_example_script("train_generator")
    common = ["--dataset_path", str(corpus_with_targets / "targets"), "--student_model_path", str(student),
              "--output_dir", str(tmp_path / "g"), "--train_batch_size", "2", "--motion_frames", "16",
              "--max_train_steps", "4", "--adversarial_start_step", "2", "--validation_steps", "100",
              "--checkpointing_steps", "100", "--cache_dir", "", "--reference_frames", "--reference_dropout", "0.25",
              "--teacher_augmentation", "--perceptual_weight", "0.5", "--generator_channels"]
    with pytest.raises(SystemExit, match="--generator_channels: .* not narrow any level"):
        script.main([*common, "16", "16", "4", "8"])
    script.main([*common, "16", "16", "12", "8"])
    logs = [json.loads(line) for line in (tmp_path / "g" / "losses.jsonl").read_text().splitlines()]
    assert len(logs) == 4 and all(math.isfinite(value) for entry in logs for value in entry.values())
    assert all(entry["loss_perceptual"] > 0 for entry in logs)
    model = Speech2VideoModel.from_pretrained(tmp_path / "g").eval()
    assert model.config.reference_frame and model.config.generator_channels == [16, 16, 12, 8]
    assert model.config.emotion_temperature == 0  # learnt from the teacher's near one-hot emotion readings
    assert any(skip.weight.any() for skip in model.generator.reference.skips)  # it learnt to use the picture
    audio = torch.from_numpy(speech_like(0.5))[None]
    plain = model(audio, generator=torch.Generator().manual_seed(0)).frames
    picture = torch.rand(1, 3, 32, 32)
    pictured = model(audio, reference_pixels=picture, generator=torch.Generator().manual_seed(0)).frames
    assert plain.shape == pictured.shape and not torch.equal(plain, pictured)


def test_train_only_flags_change_only_their_layers(corpus_with_targets, tmp_path):
    student = tmp_path / "student"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(student)
    common = ["--dataset_path", str(corpus_with_targets / "targets"), "--student_model_path", str(student),
              "--train_batch_size", "2", "--motion_frames", "16", "--max_train_steps", "3",
              "--adversarial_start_step", "1", "--validation_steps", "100", "--checkpointing_steps", "100",
              "--reference_dropout", "0", "--cache_dir", ""]
    script = load_example_script("train_generator")
    with pytest.raises(SystemExit, match="needs --reference_frames"):
        script.main([*common, "--output_dir", str(tmp_path / "g"), "--train_only_reference"])
    with pytest.raises(SystemExit, match="exclude each other"):
        script.main([*common, "--output_dir", str(tmp_path / "g"), "--reference_frames", "--train_only_reference",
                     "--train_only_mapping"])
    script.main([*common, "--output_dir", str(tmp_path / "g"), "--train_only_reference", "--reference_frames",
                 "--reference_mouth_box", "0.6", "0.3", "0.9", "0.7"])
    script.main([*common, "--output_dir", str(tmp_path / "m"), "--train_only_mapping"])
    assert Speech2VideoModel.from_pretrained(tmp_path / "g").config.reference_mouth_box == [0.6, 0.3, 0.9, 0.7]
    before = load_file(str(student / "model.safetensors"))
    for output, trained in (("g", ("generator.reference.",)), ("m", ("generator.content_context.", "generator.mapping."))):
        after = load_file(str(tmp_path / output / "model.safetensors"))
        changed = {name for name, value in after.items() if name not in before or not torch.equal(value, before[name])}
        assert changed and all(name.startswith(trained) for name in changed), output
    assert {name.split(".")[1] for name in changed} == {"content_context", "mapping"}  # both learn


def test_background_batch_workers_train_the_same_weights(corpus_with_targets, tmp_path):
    """`--dataloader_num_workers` decodes the batches in other processes; each batch's windows are drawn from its
    clips' indices, so the weights are the same to the bit."""
    student = tmp_path / "student"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(student)
    common = ["--dataset_path", str(corpus_with_targets / "targets"), "--student_model_path", str(student),
              "--train_batch_size", "2", "--motion_frames", "16", "--max_train_steps", "3",
              "--adversarial_start_step", "1", "--validation_steps", "100", "--checkpointing_steps", "100",
              "--cache_dir", ""]
    script = load_example_script("train_generator")
    for workers in (0, 1):
        script.main([*common, "--output_dir", str(tmp_path / str(workers)), "--dataloader_num_workers", str(workers)])
    in_main, in_worker = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("0", "1"))
    assert all(torch.equal(in_main[name], in_worker[name]) for name in in_main)
    with pytest.raises(SystemExit):
        script.parse_args([*common, "--output_dir", str(tmp_path), "--dataloader_num_workers", "-1"])


def test_widen_generator_renders_the_same_frames_and_lets_the_new_channels_learn():
    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config(reference_frame=True)).eval()
    for skip in model.generator.reference.skips:  # as if trained: the picture matters
        torch.nn.init.normal_(skip.weight, std=0.1)
    wider = widen_generator(model, [16, 24, 12, 8]).eval()
    assert wider.generator.blocks[0].conv1.weight.shape == (24, 16, 3, 3)
    audio, picture = torch.from_numpy(speech_like(0.5))[None], torch.rand(1, 3, 32, 32)
    for kwargs in ({}, {"reference_pixels": picture}):
        frames = [m(audio, generator=torch.Generator().manual_seed(0), **kwargs).frames for m in (model, wider)]
        torch.testing.assert_close(frames[1], frames[0])
    wider(audio, reference_pixels=picture).frames.mean().backward()
    assert wider.generator.blocks[1].conv1.weight.grad[:, 16:].abs().sum() > 0  # reads the new channels
    with pytest.raises(ValueError, match="not narrow"):
        widen_generator(model, [16, 8, 8, 8])


def test_random_view_moves_zooms_and_relights_within_its_bounds_differentiably():
    """What the teacher reads with --teacher_augmentation: the picture's centre moves by at most the shift
    (the zoom is about the centre), values stay in [0, 1], and gradients reach the generated frames."""
    torch.manual_seed(0)
    frames = torch.zeros(64, 3, 64, 64)
    frames[:, :, 28:36, 28:36] = 1.0  # a bright square at the centre
    frames.requires_grad_(True)
    seen = random_view(frames, shift=4 / 64, zoom=0.08, light=0.1)
    assert seen.shape == frames.shape and 0 <= seen.min() and seen.max() <= 1
    rows = torch.arange(64.0)
    weights = seen.detach().mean(1) - seen.detach().mean(1).amin(dim=(1, 2), keepdim=True)
    centre_y = (weights.sum(2) * rows).sum(1) / weights.sum((1, 2))
    assert (centre_y - 31.5).abs().max() <= 4 / 0.92 + 0.5  # 4 px, in the zoomed frame's pixels
    assert (centre_y - 31.5).abs().max() > 1  # and it does move
    seen.sum().backward()
    assert frames.grad is not None and frames.grad.abs().sum() > 0


def test_perceptual_loss_compares_the_teachers_features_of_rendered_and_real_frames():
    """Zero for the real frames themselves, larger for frames further from them, and differentiable in the
    rendered frames."""
    torch.manual_seed(0)
    teacher = SynthTalkTeacher.from_pretrained()
    real = torch.rand(4, 3, 128, 128)
    assert perceptual_loss(teacher, real, real) == 0
    near, far = ((real + scale * torch.randn_like(real)).clamp(0, 1) for scale in (0.05, 0.3))
    far.requires_grad_(True)
    assert 0 < perceptual_loss(teacher, near, real) < perceptual_loss(teacher, far, real)
    perceptual_loss(teacher, far, real).backward()
    assert far.grad.abs().sum() > 0


def test_mouth_shapes_read_the_lips_in_units_of_their_spread_differentiably():
    """Fitted on faces whose dark mouth opens and widens independently: the scores of the fitting frames have
    unit spread, the leading modes follow both motions, and gradients reach the frames."""
    generator = torch.Generator().manual_seed(0)
    openings, widths = torch.rand(400, generator=generator), torch.rand(400, generator=generator)
    frames = torch.full((400, 3, 64, 64), 0.8)
    top, left, bottom, right = (round(f * 64) for f in MOUTH_BOX)
    middle = (left + right) // 2
    for frame, opening, width in zip(frames, openings, widths):
        half_height, half_width = 1 + int(opening * 6), 2 + int(width * 8)
        centre = (top + bottom) // 2
        frame[:, centre - half_height:centre + half_height, middle - half_width:middle + half_width] = 0.1
    shapes = MouthShapes.fit(frames, num_modes=4)
    scores = shapes(frames)
    assert torch.allclose(scores.std(0), torch.ones(4), atol=0.05)
    design = torch.cat([scores[:, :2], torch.ones(400, 1)], dim=1)
    for motion in (openings, widths):  # each is read by a linear map of the two leading modes
        fitted = design @ torch.linalg.lstsq(design, motion[:, None]).solution
        assert torch.corrcoef(torch.stack([fitted[:, 0], motion]))[0, 1] > 0.9
    rendered = frames[:2].clone().requires_grad_(True)
    shapes(rendered).square().sum().backward()
    assert rendered.grad[:, :, top:bottom, left:right].abs().sum() > 0 and rendered.grad[:, :, :top].abs().sum() == 0


def test_student_features_are_kept_per_student_and_clips(corpus_with_targets, tmp_path, monkeypatch):
    """The second run with the same student and clips reads the features back; another student recomputes."""
    from datasets import load_from_disk
    from transformers import Wav2Vec2FeatureExtractor

    clips = load_from_disk(str(corpus_with_targets / "targets"))["train"].select(range(3))
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    torch.manual_seed(0)
    student = Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS)))
    computed = student_features(student, clips, extractor, tmp_path)
    assert len(list(tmp_path.glob("student-features-*.safetensors"))) == 1 and not list(tmp_path.glob("*.tmp"))

    def not_again(*args):
        raise AssertionError("the student ran again")

    monkeypatch.setattr(generator_training, "_run_student", not_again)
    kept = student_features(student, clips, extractor, tmp_path)
    for a, b in zip(computed, kept, strict=True):
        assert torch.equal(a.content, b.content) and torch.equal(a.identity, b.identity)
        assert torch.equal(a.emotion_probs, b.emotion_probs) and len(a.content) > 0
    other = Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS)))
    with pytest.raises(AssertionError, match="ran again"):
        student_features(other, clips, extractor, tmp_path)
    with pytest.raises(AssertionError, match="ran again"):
        student_features(student, clips.select(range(2)), extractor, tmp_path)


def test_student_feature_cache_keeps_the_most_recently_used(corpus_with_targets, tmp_path):
    """Past `cache_limit` files, writing a new one drops the least recently used; reading one renews it."""
    from datasets import load_from_disk
    from transformers import Wav2Vec2FeatureExtractor

    clips = load_from_disk(str(corpus_with_targets / "targets"))["train"].select(range(2))
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)

    def cached():
        return sorted(path.name for path in tmp_path.glob("student-features-*.safetensors"))

    torch.manual_seed(0)
    students = [Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))) for _ in range(3)]
    student_features(students[0], clips, extractor, tmp_path, cache_limit=2)
    first = cached()
    os.utime(tmp_path / first[0], (0, 0))  # long unused ...
    student_features(students[1], clips, extractor, tmp_path, cache_limit=2)
    student_features(students[0], clips, extractor, tmp_path, cache_limit=2)  # ... until read again
    second = [name for name in cached() if name not in first]
    os.utime(tmp_path / second[0], (1, 1))  # used after the first's old use, before its renewal
    student_features(students[2], clips, extractor, tmp_path, cache_limit=2)
    assert len(cached()) == 2 and first[0] in cached() and second[0] not in cached()
