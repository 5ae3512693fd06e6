"""Cache face-teacher outputs as distillation-target columns of a corpus (see `speech2video.teachers.targets`).

    python examples/cache_teacher_targets.py --dataset_path corpora/synthtalk --teacher synthtalk \
        --output_dir corpora/synthtalk_targets

`--teacher synthtalk`: the released SynthTalk teacher (identity, emotion, per-frame mouth opening), for
SynthTalk corpora. `--teacher face`: dlib's identity embedding (of up to `--identity_frames` frames a clip),
the FER emotion classifier and the mouth teacher below, for real corpora of aligned face crops (needs the `data`
extra). `--teacher mouth`: only the per-frame mouth opening, read from the pixels of the corpus's own aligned crops
(`teachers.mouth`: the direction of the mouth region that the speech heard at each frame predicts best, fitted
on its training split), for fine-tuning a student's lips on a real speaker:

    python examples/cache_teacher_targets.py --dataset_path corpora/grid_s1 --teacher mouth \
        --output_dir corpora/grid_s1-mouth
"""

from __future__ import annotations

import argparse

from datasets import load_from_disk

from speech2video.teachers.targets import cache_teacher_targets

MOUTH_FIT_CLIPS, MOUTH_FIT_FRAMES = 400, 3200  # the mouth teacher is fitted on 3200 frames of up to 400 clips


def fit_mouth_teacher(train):
    from speech2video.teachers.mouth import MouthAppearanceTeacher, sample_frames

    frames_per_clip = MOUTH_FIT_FRAMES // min(MOUTH_FIT_CLIPS, len(train))
    return MouthAppearanceTeacher.fit(*sample_frames(train, MOUTH_FIT_CLIPS, frames_per_clip, with_speech=True))


def load_teacher(name: str, path: str | None, corpus, identity_frames: int | None = 32):
    if name == "mouth":
        return fit_mouth_teacher(corpus["train"])
    if name == "synthtalk":
        from speech2video.teachers.synthtalk import PRETRAINED, SynthTalkTeacher

        return SynthTalkTeacher.from_pretrained(path or PRETRAINED)
    from speech2video.teachers import EmotionTeacher, IdentityTeacher
    from speech2video.teachers.targets import FaceTeacherPair

    return FaceTeacherPair(identity=IdentityTeacher(), emotion=EmotionTeacher(), mouth=fit_mouth_teacher(corpus["train"]),
                           identity_frames=identity_frames)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset_path", required=True, help="corpus DatasetDict folder (save_to_disk)")
    parser.add_argument("--teacher", choices=("synthtalk", "face", "mouth"), default="synthtalk")
    parser.add_argument("--teacher_path", default=None, help="a SynthTalk teacher folder (default: the released one)")
    parser.add_argument("--output_dir", required=True, help="where the corpus with target columns is saved")
    parser.add_argument("--batch_size", type=int, default=64, help="frames per teacher forward pass")
    parser.add_argument("--identity_frames", type=int, default=32,
                        help="--teacher face: frames per clip, evenly spread, that dlib's identity network reads (about "
                             "100 ms each; the clip's identity is their mean); 0: every frame")
    args = parser.parse_args(argv)
    if args.identity_frames < 0:
        parser.error("--identity_frames is a count of frames (0: every frame)")
    corpus = load_from_disk(args.dataset_path)
    if not any(len(split) for split in corpus.values()):
        raise SystemExit(f"{args.dataset_path} has no clips")
    teacher = load_teacher(args.teacher, args.teacher_path, corpus, args.identity_frames or None)
    corpus = cache_teacher_targets(corpus, teacher, args.output_dir, batch_size=args.batch_size)
    print(corpus)


if __name__ == "__main__":
    main()
