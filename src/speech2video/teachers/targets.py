"""Distillation targets: run face teachers over every clip of a corpus once and keep their outputs as columns.

Per clip: `teacher_identity` (D floats, the identity output averaged over the frames) and `teacher_emotion`
(E floats, the emotion probabilities averaged); per frame: `teacher_mouth_open` (T floats) when the teacher
gives it. A teacher is anything whose `predict(frames (T, 3, H, W) in [0, 1])` returns a `TeacherOutput`:
`SynthTalkTeacher` on SynthTalk, `FaceTeacherPair(IdentityTeacher(), EmotionTeacher())` on real corpora
(aligned face crops). The teachers' classes are saved beside the corpus in `teacher_targets.json`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..data.schema import decode_frames
from .base import FaceTeacher
from .synthtalk import TeacherOutput

TARGETS_INFO = "teacher_targets.json"


class FaceTeacherPair:
    """Two single-output face teachers (identity and/or emotion) seen as one multi-head teacher."""

    def __init__(self, identity: FaceTeacher | None = None, emotion: FaceTeacher | None = None):
        if identity is None and emotion is None:
            raise ValueError("give at least one of identity and emotion")
        self.identity, self.emotion = identity, emotion
        self.classes = None if emotion is None else list(emotion.classes)

    def predict(self, frames: torch.Tensor, batch_size: int = 64) -> TeacherOutput:
        return TeacherOutput(
            identity=None if self.identity is None else self.identity.predict(frames, batch_size),
            emotion_probs=None if self.emotion is None else self.emotion.predict(frames, batch_size),
        )


def clip_targets(teacher, frames: torch.Tensor, batch_size: int = 64) -> dict[str, list[float]]:
    """The target columns of one clip, frames (T, 3, H, W) in [0, 1]."""
    output = teacher.predict(frames, batch_size)
    targets = {}
    if output.identity is not None:
        targets["teacher_identity"] = output.identity.mean(0).tolist()
    if output.emotion_probs is not None:
        targets["teacher_emotion"] = output.emotion_probs.mean(0).tolist()
    if output.mouth_open is not None:
        targets["teacher_mouth_open"] = output.mouth_open.tolist()
    return targets


def cache_teacher_targets(dataset_dict, teacher, output_dir: str | os.PathLike | None = None, batch_size: int = 64):
    """Add the teacher's target columns to every split of a corpus `DatasetDict`; save it to `output_dir`
    (if given) and return it. Runs in memory, so the source corpus folder is left untouched."""
    from datasets import DatasetDict, Sequence, Value
    from datasets.fingerprint import generate_random_fingerprint

    def add_targets(row: dict) -> dict:
        frames = torch.from_numpy(decode_frames(row)).permute(0, 3, 1, 2).float() / 255.0
        return clip_targets(teacher, frames, batch_size)

    splits = {}
    for name, split in dataset_dict.items():
        probe = add_targets(split[0])  # fixes the column types: fixed-length per-clip vectors, per-frame lists
        features = split.features.copy()
        for column, values in probe.items():
            length = -1 if column == "teacher_mouth_open" else len(values)
            features[column] = Sequence(Value("float32"), length=length)
        splits[name] = split.map(add_targets, features=features, keep_in_memory=True,
                                 new_fingerprint=generate_random_fingerprint(),  # do not hash the teacher
                                 desc=f"teacher targets ({name})")
    corpus = DatasetDict(splits)
    if output_dir is not None:
        corpus.save_to_disk(str(output_dir))
        info = {"teacher": type(teacher).__name__, "emotion_classes": getattr(teacher, "classes", None),
                "columns": sorted(probe)}
        (Path(output_dir) / TARGETS_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return corpus
