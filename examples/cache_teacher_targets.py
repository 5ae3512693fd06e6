"""Cache face-teacher outputs as distillation-target columns of a corpus (see `speech2video.teachers.targets`).

    python examples/cache_teacher_targets.py --dataset_path corpora/synthtalk --teacher synthtalk \
        --output_dir corpora/synthtalk_targets

`--teacher synthtalk`: the released SynthTalk teacher (identity, emotion, per-frame mouth opening), for
SynthTalk corpora. `--teacher face`: dlib's identity embedding + the FER emotion classifier, for real
corpora of aligned face crops (needs the `data` extra).
"""

from __future__ import annotations

import argparse

from datasets import load_from_disk

from speech2video.teachers.targets import cache_teacher_targets


def load_teacher(name: str, path: str | None):
    if name == "synthtalk":
        from speech2video.teachers.synthtalk import PRETRAINED, SynthTalkTeacher

        return SynthTalkTeacher.from_pretrained(path or PRETRAINED)
    from speech2video.teachers import EmotionTeacher, IdentityTeacher
    from speech2video.teachers.targets import FaceTeacherPair

    return FaceTeacherPair(identity=IdentityTeacher(), emotion=EmotionTeacher())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset_path", required=True, help="corpus DatasetDict folder (save_to_disk)")
    parser.add_argument("--teacher", choices=("synthtalk", "face"), default="synthtalk")
    parser.add_argument("--teacher_path", default=None, help="a SynthTalk teacher folder (default: the released one)")
    parser.add_argument("--output_dir", required=True, help="where the corpus with target columns is saved")
    parser.add_argument("--batch_size", type=int, default=64, help="frames per teacher forward pass")
    args = parser.parse_args(argv)
    corpus = cache_teacher_targets(load_from_disk(args.dataset_path), load_teacher(args.teacher, args.teacher_path),
                                   args.output_dir, batch_size=args.batch_size)
    print(corpus)


if __name__ == "__main__":
    main()
