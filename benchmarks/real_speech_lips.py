"""Lip sync on real speech (prints JSON).

The model renders its face from the audio of GRID's held-out sentences; a reader measures the mouth opening
of every rendered frame, which is correlated, over all frames, with the inner-lip gap measured by landmarks
on the real GRID video of the same sentence. It asks: do the lips the model draws open and close when a
real person's do? (GRID speaker 1, Cooke et al. 2006, CC BY 4.0.) The reader of a SynthTalk-faced model's
cartoon face is the SynthTalk evaluation teacher (trained apart from the teacher the generator learnt
against; `--reader evaluator`, the default); that of a real-faced model such as `grid-s1-128` is the
inner-lip gap of dlib's landmarks, as on the real video (`--reader landmarks`). With
`--random_channels` each sentence is also rendered as heard through a random microphone and room
(`heard_through_random_channels`, seeded per sentence as `benchmarks/student.py`'s): other recordings than GRID's booth;
with `--telephone` also as heard over a telephone line (`telephone_line`: 300-3400 Hz, sampled at 8 kHz).

    python benchmarks/real_speech_lips.py --model synthtalk-128 --grid_corpus corpora/grid_s1 [--random_channels] [--telephone]
    python benchmarks/real_speech_lips.py --model grid-s1-128 --reader landmarks --random_channels --telephone
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from datasets import load_from_disk
from tqdm.auto import tqdm

from speech2video import Speech2VideoPipeline
from speech2video.data.schema import decode_audio, decode_frames
from speech2video.evaluation import inner_lip_gap, mouth_landmarks
from speech2video.teachers.synthtalk import EVALUATOR, SynthTalkTeacher
from speech2video.training.distillation import heard_through_random_channels, telephone_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="embedded model name or folder (default: the default model)")
    parser.add_argument("--grid_corpus", default="corpora/grid_s1", help="GRID corpus (build_corpus.py --preset grid)")
    parser.add_argument("--max_clips", type=int, default=40, help="first N held-out clips")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random_channels", action="store_true",
                        help="also render each sentence heard through a random microphone and room")
    parser.add_argument("--telephone", action="store_true", help="also render each sentence heard over a telephone line")
    parser.add_argument("--reader", choices=["evaluator", "landmarks"], default="evaluator",
                        help="what reads the rendered mouth: the SynthTalk evaluation teacher (cartoon faces) or "
                             "the inner-lip gap of dlib's landmarks (real faces)")
    args = parser.parse_args()

    test = load_from_disk(args.grid_corpus)["test"]
    test = test.select(range(min(args.max_clips, len(test))))
    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    teacher = SynthTalkTeacher.from_pretrained(EVALUATOR) if args.reader == "evaluator" else None
    hearings = {"rendered_mouth_corr_with_real_lips": lambda audio, index: audio}
    if args.random_channels:
        hearings["rendered_mouth_corr_with_real_lips_random_channels"] = heard_through_random_channels
    if args.telephone:
        hearings["rendered_mouth_corr_with_real_lips_telephone"] = lambda audio, index: telephone_line(audio)
    rendered, measured = {name: [] for name in hearings}, []

    def rendered_mouth(audio, sampling_rate):  # (T,) the mouth opening the reader sees in the rendered frames
        frames = np.asarray(pipe(audio, sampling_rate=sampling_rate, seed=args.seed).frames)
        if args.reader == "landmarks":
            return inner_lip_gap(mouth_landmarks(frames))
        return teacher.predict(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255).mouth_open.numpy()

    for index, row in enumerate(tqdm(test, desc="GRID sentences")):
        gap = inner_lip_gap(mouth_landmarks(decode_frames(row)))
        mouths = {name: rendered_mouth(heard(decode_audio(row), index), row["sampling_rate"])
                  for name, heard in hearings.items()}
        n = min(len(gap), *map(len, mouths.values()))
        for name, mouth in mouths.items():
            rendered[name].append(mouth[:n])
        measured.append(gap[:n])
    figures = {name: round(float(np.corrcoef(np.concatenate(mouths), np.concatenate(measured))[0, 1]), 4)
               for name, mouths in rendered.items()}
    print(json.dumps({"model": args.model or "default", "grid_test_clips": len(test), "seed": args.seed,
                      "reader": args.reader, **figures},
                     indent=1))


if __name__ == "__main__":
    main()
