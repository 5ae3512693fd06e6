"""Lip sync of a SynthTalk-faced model on real speech (prints JSON).

The model renders its cartoon face from the audio of GRID's held-out sentences; the SynthTalk evaluation
teacher (trained apart from the teacher the generator learnt against) reads the mouth opening of every
rendered frame, which is correlated, over all frames, with the inner-lip gap measured by landmarks on the
real GRID video of the same sentence. It asks: do the lips the model draws
open and close when a real person's do? (GRID speaker 1, Cooke et al. 2006, CC BY 4.0.)

    python benchmarks/real_speech_lips.py --model synthtalk-128 --grid_corpus corpora/grid_s1
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="embedded model name or folder (default: the default model)")
    parser.add_argument("--grid_corpus", default="corpora/grid_s1", help="GRID corpus (build_corpus.py --preset grid)")
    parser.add_argument("--max_clips", type=int, default=40, help="first N held-out clips")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    test = load_from_disk(args.grid_corpus)["test"]
    test = test.select(range(min(args.max_clips, len(test))))
    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    teacher = SynthTalkTeacher.from_pretrained(EVALUATOR)
    rendered, measured = [], []
    for row in tqdm(test, desc="GRID sentences"):
        video = pipe(decode_audio(row), sampling_rate=row["sampling_rate"], seed=args.seed)
        frames = torch.from_numpy(np.asarray(video.frames)).permute(0, 3, 1, 2).float() / 255
        mouth = teacher.predict(frames).mouth_open.numpy()
        gap = inner_lip_gap(mouth_landmarks(decode_frames(row)))
        n = min(len(mouth), len(gap))
        rendered.append(mouth[:n])
        measured.append(gap[:n])
    correlation = np.corrcoef(np.concatenate(rendered), np.concatenate(measured))[0, 1]
    print(json.dumps({"model": args.model or "default", "grid_test_clips": len(test), "seed": args.seed,
                      "rendered_mouth_corr_with_real_lips": round(float(correlation), 4)}, indent=1))


if __name__ == "__main__":
    main()
