#!/usr/bin/env python
"""Put a student trained anew in front of a trained model's generator, without training the generator.

`train_distillation.py` from scratch gives a student whose per-frame content features live in a space of its
own. This runs it and the trained model's student over the training clips of the corpora, fits an affine map
from the new content features of each frame and its `--context` neighbours on each side onto the old features
of the frame (least squares over all frames), folds the map into the generator's first layer
(`speech2video.training.content_map`, which widens it by as many frames) and saves the trained model with
the new student's encoder: its lips, mouth read-out and identity and emotion read-outs. The generator then
renders the new student's content as the old features it maps to.

    python examples/attach_student.py --student outputs/stage1-hour --model synthtalk-128 \
        --dataset_path corpora/synthtalk-targets corpora/grid_s1-mouth10 --output_dir outputs/synthtalk-128-new

Prints, as JSON, per corpus the R² of the mapped features against the old ones on its validation clips (how
much of what the generator read the new student carries) and the frames fitted on.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from transformers import Wav2Vec2FeatureExtractor

from speech2video import Speech2VideoModel
from speech2video.training.content_map import apply_content_map, explained_variance, fit_content_map, fold_content_map
from speech2video.training.distillation import load_corpora
from speech2video.training.generator import student_features

# what the saved model takes from the student's config, besides every voice_statistics_* field
ENCODER_FIELDS = ("encoder_config", "identity_teacher", "infers_speaker")
SHARED_FIELDS = ("content_dim", "identity_dim", "emotion_labels", "fps", "sampling_rate")  # must agree


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="A new student in front of a trained model's generator.")
    parser.add_argument("--student", required=True, help="the new student (a train_distillation.py output)")
    parser.add_argument("--model", required=True, help="the trained model whose generator is kept (folder or name)")
    parser.add_argument("--dataset_path", required=True, nargs="+",
                        help="corpora with audio, e.g. as the corpus builders save them (their train splits are "
                             "fitted on, their validation splits reported)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--max_clips", type=int, default=800, help="training clips per corpus")
    parser.add_argument("--context", type=int, default=2,
                        help="frames on each side of a frame the map reads (the generator's first layer widens by "
                             "as many)")
    parser.add_argument("--ridge", type=float, default=1e-4, help="ridge, relative to the mean feature variance")
    parser.add_argument("--overwrite", action="store_true", help="replace a model already in --output_dir")
    return parser.parse_args(argv)


def content_features(models, clips, feature_extractor) -> list[list[np.ndarray]]:
    """Each model's content features of each of `clips` (whole, clean): per model, [(T_i, C)]."""
    return [[clip.content.numpy() for clip in student_features(model, clips, feature_extractor, read_voice=False)]
            for model in models]


def main(argv=None):
    args = parse_args(argv)
    output_dir = Path(args.output_dir)
    if (output_dir / "model.safetensors").exists() and not args.overwrite:
        raise SystemExit(f"{output_dir} already holds a model; pass --overwrite to replace it")
    model = Speech2VideoModel.from_pretrained(args.model, dtype=torch.float32).eval()
    student = Speech2VideoModel.from_pretrained(args.student, dtype=torch.float32).eval()
    for field in SHARED_FIELDS:
        if getattr(student.config, field) != getattr(model.config, field):
            raise SystemExit(f"the student's {field} ({getattr(student.config, field)}) is not the model's "
                             f"({getattr(model.config, field)}): its generator cannot read that student")
    teachers = {student.config.identity_teacher, model.config.identity_teacher} - {None}
    if len(teachers) > 1:
        raise SystemExit(f"the student's identity is in another teacher's space ({', '.join(sorted(teachers))})")

    feature_extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    new_train, old_train, report = [], [], {}
    for path in args.dataset_path:
        train = load_corpora([path], "train")
        new, old = content_features((student, model), train.select(range(min(args.max_clips, len(train)))),
                                    feature_extractor)
        new_train += new
        old_train += old
        report[path] = {"train_frames": sum(map(len, new))}
    matrix, bias = fit_content_map(new_train, old_train, args.context, args.ridge)
    for path in args.dataset_path:
        new, old = content_features((student, model), load_corpora([path], "validation"), feature_extractor)
        mapped = np.concatenate([apply_content_map(clip, matrix, bias) for clip in new])
        report[path].update(explained_variance(mapped, np.concatenate(old)), validation_frames=len(mapped))

    model.encoder = student.encoder
    voice_fields = [field for field in vars(student.config) if field.startswith("voice_statistics_")]
    for field in (*ENCODER_FIELDS, *voice_fields):
        value = getattr(student.config, field)
        if field != "identity_teacher" or value is not None:
            setattr(model.config, field, value)
    model.generator.content_context = fold_content_map(model.generator.content_context, matrix, bias)
    model.config.content_context += args.context
    model.save_pretrained(output_dir)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
