"""Stage 1 script: a tiny real training run on SynthTalk learns, checkpoints and resumes.

The corpus (`corpus_with_targets` in conftest) has SynthTalk's ground truth as teacher targets.
"""

import json

import torch

from conftest import load_example_script
from speech2video import Speech2VideoModel
from speech2video.data.synthtalk import EMOTIONS


def test_training_learns_checkpoints_and_resumes(corpus_with_targets, tmp_path):
    script = load_example_script("train_distillation")
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
