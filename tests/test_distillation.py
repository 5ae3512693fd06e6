"""Stage 1 script: a tiny real training run on SynthTalk learns, checkpoints and resumes.

The teacher targets here are SynthTalk's ground truth (identity vector, one-hot emotion, mouth opening)
standing in for a trained teacher's outputs, so the test does not depend on a released teacher.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY_ENCODER
from speech2video import Speech2VideoModel
from speech2video.data.synthtalk import EMOTIONS, build_corpus
from speech2video.teachers.targets import TARGETS_INFO

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_distillation.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("train_distillation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_with_targets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distillation")
    corpus = build_corpus(folder / "synthtalk", num_clips=40, num_speakers=10, image_size=32, seed=3, num_proc=2)
    labels = list(EMOTIONS)
    corpus = corpus.map(lambda row: {
        "teacher_identity": row["identity"],
        "teacher_emotion": np.eye(len(labels))[labels.index(row["emotion"])].tolist(),
        "teacher_mouth_open": row["mouth_open"],
    })
    corpus.save_to_disk(folder / "targets")
    (folder / "targets" / TARGETS_INFO).write_text(json.dumps({"emotion_classes": labels}))
    config = dict(encoder_config=TINY_ENCODER, content_dim=16, style_dim=32, motion_dim=4, motion_noise_dim=4,
                  emotion_embed_dim=4, image_size=32, generator_channels=[16, 16, 8, 8])
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_training_learns_checkpoints_and_resumes(corpus_with_targets, tmp_path):
    script = _load_script()
    data, output = corpus_with_targets / "targets", tmp_path / "student"
    common = ["--dataset_path", str(data), "--output_dir", str(output), "--model_config",
              str(corpus_with_targets / "config.json"), "--train_batch_size", "4", "--max_frames", "25",
              "--learning_rate", "3e-3", "--lr_warmup_steps", "0", "--validation_steps", "1000", "--seed", "0"]
    script.main([*common, "--max_train_steps", "30", "--checkpointing_steps", "15", "--checkpoints_total_limit", "1"])
    assert [p.name for p in output.glob("checkpoint-*")] == ["checkpoint-30"]
    student = Speech2VideoModel.from_pretrained(output)
    assert student.config.emotion_labels == list(EMOTIONS) and student.config.identity_dim == 14

    args = script.parse_args([*common, "--max_train_steps", "1"])
    validation = script.load_corpora([str(data)], "validation")
    extractor = script.Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    torch.manual_seed(0)
    untrained = script.build_model(args, script.load_corpora([str(data)], "train"))
    before = script.validate(untrained, validation, extractor, student.config.emotion_labels)
    after = json.loads((output / "validation_metrics.json").read_text())
    assert after["identity_cosine_to_teacher"] > before["identity_cosine_to_teacher"] + 0.1

    script.main([*common, "--max_train_steps", "33", "--checkpointing_steps", "15", "--resume_from_checkpoint", "latest"])
    assert json.loads((output / "validation_metrics.json").read_text())  # finished after resuming at step 30
