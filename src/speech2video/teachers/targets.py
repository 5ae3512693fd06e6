"""Distillation targets: run face teachers over every clip of a corpus once and keep their outputs as columns.

Per clip: `teacher_identity` (D floats, the identity output averaged over the frames read) and
`teacher_emotion` (E floats, the emotion probabilities averaged); per frame: `teacher_mouth_open` (T floats) when
the teacher gives it. A teacher is anything whose `predict(frames (T, 3, H, W) in [0, 1])` returns a `TeacherOutput`:
`SynthTalkTeacher` on SynthTalk, `FaceTeacherPair(IdentityTeacher(), EmotionTeacher(), MouthAppearanceTeacher)`
on real corpora (aligned face crops). The teachers' classes are saved beside the corpus in `teacher_targets.json`.
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
    """Single-output face teachers (identity, emotion, and a `MouthAppearanceTeacher` for the per-frame mouth
    opening; any of them) seen as one multi-head teacher.

    The identity teacher reads at most `identity_frames` frames of a clip, evenly spread from the first to the
    last (None: every frame): who it is holds over a clip, and dlib's network takes ~100 ms a face, over 95 % of
    the time on a real corpus. On the 21 real clips of ../shared/data/real_multi (122-840 frames) the mean of 32
    such frames lies 0.017 on average (at most 0.046) from the mean of all, where two pictures of one person lie
    0.14-0.36 apart. The emotion and mouth teachers read every frame.
    """

    def __init__(self, identity: FaceTeacher | None = None, emotion: FaceTeacher | None = None, mouth=None,
                 identity_frames: int | None = 32):
        if identity is None and emotion is None and mouth is None:
            raise ValueError("give at least one of identity, emotion and mouth")
        if identity_frames is not None and identity_frames < 1:
            raise ValueError(f"identity_frames must be at least 1 (or None for every frame), got {identity_frames}")
        self.identity, self.emotion, self.mouth, self.identity_frames = identity, emotion, mouth, identity_frames
        self.classes = None if emotion is None else list(emotion.classes)

    def predict(self, frames: torch.Tensor, batch_size: int = 64) -> TeacherOutput:
        """frames (T, 3, H, W) -> identity (min(T, identity_frames), D) of the frames read, emotion (T, E) and
        mouth opening (T,), each None without its teacher."""
        identity = None
        if self.identity is not None:
            read = frames
            if self.identity_frames is not None and len(frames) > self.identity_frames:
                read = frames[torch.linspace(0, len(frames) - 1, self.identity_frames).round().long()]
            identity = self.identity.predict(read, batch_size)
        return TeacherOutput(identity=identity,
                             emotion_probs=None if self.emotion is None else self.emotion.predict(frames, batch_size),
                             mouth_open=None if self.mouth is None else self.mouth.predict(frames, batch_size).mouth_open)


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
    from datasets import Dataset, DatasetDict, Sequence, Value
    from datasets.fingerprint import generate_random_fingerprint

    def add_targets(row: dict) -> dict:
        frames = torch.from_numpy(decode_frames(row)).permute(0, 3, 1, 2).float() / 255.0
        return clip_targets(teacher, frames, batch_size)

    first = next((split[0] for split in dataset_dict.values() if len(split)), None)
    if first is None:
        raise ValueError("the corpus has no clips")
    probe = add_targets(first)  # fixes the column types: fixed-length per-clip vectors, per-frame lists
    columns = {column: Sequence(Value("float32"), length=-1 if column == "teacher_mouth_open" else len(values))
               for column, values in probe.items()}
    splits = {}
    for name, split in dataset_dict.items():
        features = split.features.copy()
        features.update(columns)
        if len(split) == 0:  # e.g. a split whose only files were dropped; `map` would not add the columns
            splits[name] = Dataset.from_dict({column: [] for column in features}, features=features)
            continue
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


def speaker_targets(dataset_paths: list[str]) -> dict:
    """What the identity and emotion teachers of the corpora (save_to_disk folders) give, read from those that have
    such targets, so a corpus with mouth targets only may come first or beside them (their concatenation has no
    identity column): {"identity_dim": size of the identity targets, "emotion_classes": tuple, "teacher": class
    name of the teacher (None where the corpus does not say)}, keys left out where no corpus has them. Raises
    ValueError when the corpora's teachers disagree."""
    from datasets import load_from_disk

    found: dict[str, set] = {}
    for path in dataset_paths:
        info_file = Path(path) / TARGETS_INFO
        info = json.loads(info_file.read_text()) if info_file.exists() else {}
        train = load_from_disk(path)["train"]
        if "teacher_identity" in train.column_names:
            found.setdefault("identity_dim", set()).add(len(train[0]["teacher_identity"]))
            found.setdefault("teacher", set()).add(info.get("teacher"))
        if info.get("emotion_classes"):
            found.setdefault("emotion_classes", set()).add(tuple(info["emotion_classes"]))
    for key, values in found.items():
        if len(values) > 1:
            raise ValueError(f"the corpora's teachers disagree on {key} ({', '.join(sorted(map(str, values)))}): "
                             "distil from one identity and one emotion teacher at a time")
    return {key: values.pop() for key, values in found.items()}
