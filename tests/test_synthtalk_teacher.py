"""SynthTalk teacher: training lowers the loss, the released weights read emotions of unseen speakers,
saving round-trips, and the targets cache adds columns of the right lengths."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import load_from_disk

from speech2video.data.synthtalk import EMOTIONS, IDENTITY_DIMENSIONS, Speaker, build_corpus, make_clip
from speech2video.teachers import EmotionTeacher, SynthTalkTeacher
from speech2video.teachers.synthtalk import EVALUATOR, PRETRAINED, SynthTalkTeacherConfig
from speech2video.teachers.targets import FaceTeacherPair, cache_teacher_targets

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthtalk") / "corpus"
    build_corpus(path, num_clips=30, num_speakers=10, image_size=64, num_proc=1)
    return path


def test_training_script_lowers_the_loss(corpus_path, tmp_path):
    train_script = load_example("train_synthtalk_teacher")
    report = train_script.main([
        "--dataset_path", str(corpus_path), "--output_dir", str(tmp_path / "teacher"), "--max_train_steps", "40",
        "--train_batch_size", "16", "--num_frames_per_clip", "6", "--lr_warmup_steps", "5", "--skip_evaluation",
    ])
    assert report["final_loss"] < 0.7 * report["first_loss"]
    assert (tmp_path / "teacher" / "config.json").exists() and (tmp_path / "teacher" / "model.safetensors").exists()


def test_outputs_shapes_gradients_and_save_round_trip(tmp_path):
    torch.manual_seed(0)
    teacher = SynthTalkTeacher(SynthTalkTeacherConfig(input_size=32, channels=(8, 8), hidden_size=16))
    with pytest.raises(ValueError, match="multiple of 4"):
        SynthTalkTeacher(SynthTalkTeacherConfig(input_size=30, channels=(8, 8), hidden_size=16))
    frames = torch.rand(3, 3, 48, 48, requires_grad=True)
    output = teacher(frames)
    assert output.identity.shape == (3, len(IDENTITY_DIMENSIONS)) and output.mouth_open.shape == (3,)
    assert output.emotion_probs.shape == (3, len(EMOTIONS)) and teacher.classes == list(EMOTIONS)
    assert torch.allclose(output.emotion_probs.sum(-1), torch.ones(3))
    assert 0 <= output.identity.min() and output.identity.max() <= 1
    (output.identity.sum() + output.mouth_open.sum() + output.emotion_probs[:, 0].sum()).backward()
    assert frames.grad.abs().sum() > 0

    teacher.save_pretrained(tmp_path, dtype=torch.float32)
    loaded = SynthTalkTeacher.from_pretrained(tmp_path)
    assert not any(p.requires_grad for p in loaded.parameters())
    again = loaded.predict(frames.detach(), batch_size=2)
    torch.testing.assert_close(again.identity, output.identity.detach())
    torch.testing.assert_close(again.mouth_open, output.mouth_open.detach())


@pytest.mark.parametrize("weights", [PRETRAINED, EVALUATOR], ids=["training teacher", "evaluation teacher"])
def test_released_teachers_read_emotions_of_unseen_speakers(weights):
    teacher = SynthTalkTeacher.from_pretrained(weights)
    text = "Please bring my brown bag to the big meeting by the bay."
    emotions = list(EMOTIONS)
    correct = []
    for i, emotion in enumerate(emotions * 2):
        clip = make_clip(Speaker.from_seed(90_000 + i, seed=7), emotion, 0.9, text, seed=12_345 + i)
        frames = torch.from_numpy(clip.frames[::3]).permute(0, 3, 1, 2).float() / 255
        correct.append(emotions[int(teacher.predict(frames).emotion_probs.mean(0).argmax())] == emotion)
    assert np.mean(correct) >= 0.5  # chance is 1/6


def test_targets_cache_adds_columns_of_the_right_lengths(corpus_path, tmp_path):
    torch.manual_seed(0)
    corpus = load_from_disk(str(corpus_path))
    teacher = SynthTalkTeacher(SynthTalkTeacherConfig(channels=(8, 8, 8, 8), hidden_size=16))
    cached = cache_teacher_targets(corpus, teacher, tmp_path / "targets")
    reloaded = load_from_disk(str(tmp_path / "targets"))
    for split in corpus:
        assert len(reloaded[split]) == len(corpus[split])
        for row in reloaded[split]:
            assert len(row["teacher_identity"]) == len(IDENTITY_DIMENSIONS)
            assert len(row["teacher_emotion"]) == len(EMOTIONS)
            assert abs(sum(row["teacher_emotion"]) - 1) < 1e-4
            assert len(row["teacher_mouth_open"]) == row["num_frames"]
    assert cached["train"].column_names == reloaded["train"].column_names

    emotion_only = cache_teacher_targets(corpus.select_columns(["video", "num_frames"]),
                                         FaceTeacherPair(emotion=EmotionTeacher()))
    row = emotion_only["test"][0]
    assert len(row["teacher_emotion"]) == 7 and "teacher_identity" not in row and "teacher_mouth_open" not in row

    from datasets import DatasetDict

    one_empty = cache_teacher_targets(DatasetDict(train=corpus["train"], validation=corpus["validation"].select([])),
                                      teacher)  # a split whose only files were dropped
    assert len(one_empty["validation"]) == 0
    assert one_empty["validation"].features == one_empty["train"].features


def test_mouth_teacher_script_writes_one_reading_per_frame(corpus_path, tmp_path):
    """`cache_teacher_targets.py --teacher mouth` (fitted on the pixels and the speech of the training split):
    a mouth opening in [0, 1] for every frame of every split, and the other columns kept."""
    load_example("cache_teacher_targets").main(["--dataset_path", str(corpus_path), "--teacher", "mouth",
                                                "--output_dir", str(tmp_path / "mouth")])
    cached, corpus = load_from_disk(str(tmp_path / "mouth")), load_from_disk(str(corpus_path))
    for split in corpus:
        assert cached[split].column_names == [*corpus[split].column_names, "teacher_mouth_open"]
        assert [len(m) for m in cached[split]["teacher_mouth_open"]] == corpus[split]["num_frames"]
    read = np.concatenate(cached["train"]["teacher_mouth_open"])
    assert read.min() >= 0 and read.max() <= 1 and read.std() > 0.1
