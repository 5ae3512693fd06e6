#!/usr/bin/env python
"""Calibrate how much a trained model's face moves: `config.motion_scale`, so that its videos change from
frame to frame outside the mouth (head motion, blinks, `evaluation.flicker`) as much as a corpus' real videos.

The spontaneous motion is learnt adversarially with a small weight, and how far it reaches drifts from run
to run (a face that moves more than its speaker costs every frame its likeness). This renders the
validation clips at a few scales of the motion codes and keeps the one whose flicker matches the real
clips' (bisection; flicker grows with the scale), then saves the model with it. Weights are untouched. By
default it only damps (`--max_scale 1`): codes beyond the trained ones are an extrapolation. A model whose
flicker does not change with the scale has a collapsed motion process (its faces move only by rendering
jitter); the script says so, as it does when even no motion at all flickers more than the real videos (the
scale is then 0: no blinks or head motion, whatever the seed).

    python examples/calibrate_motion.py --model grid-s1-128 --dataset_path corpora/grid_s1 \
        --output_dir outputs/grid-s1-128-calibrated

Prints, as JSON, the real and rendered flicker before and after, and the scale.
"""

import argparse
import json
import logging
from pathlib import Path

import numpy as np
from datasets import load_from_disk
from tqdm.auto import tqdm

from speech2video import Speech2VideoPipeline
from speech2video.data.schema import decode_audio, decode_frames
from speech2video.evaluation import flicker
from speech2video.pipeline_speech2video import MAX_MOTION_SCALE
from speech2video.training.generator import MOUTH_ROWS

logger = logging.getLogger(__name__)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Calibrate a model's spontaneous motion to a corpus' real videos.")
    parser.add_argument("--model", required=True, help="a trained speech2video model (folder or embedded name)")
    parser.add_argument("--dataset_path", required=True, help="the corpus the model was trained on (save_to_disk)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--split", default="validation")
    parser.add_argument("--max_clips", type=int, default=24)
    parser.add_argument("--bisection_steps", type=int, default=6)
    parser.add_argument("--max_scale", type=float, default=1.0, help=f"at most {MAX_MOTION_SCALE}")
    parser.add_argument("--overwrite", action="store_true", help="replace a model already in --output_dir")
    return parser.parse_args(argv)


def outside_mouth_flicker(frames: np.ndarray) -> float:
    """Flicker of frames (T, S, S, 3) above the mouth rows (the lips and jaw must move)."""
    size = frames.shape[1]
    return flicker(frames, mask=(round(MOUTH_ROWS * size), size, 0, size))


def rendered_flicker(pipe, clips, scale: float) -> float:
    """Mean flicker of the model's videos of `clips` (seed i for clip i) with the motion codes times `scale`."""
    return float(np.mean([
        outside_mouth_flicker(pipe(audio, sampling_rate=16_000, seed=i, motion_scale=scale).frames)
        for i, audio in enumerate(tqdm(clips, desc=f"scale {scale:.3f}", leave=False))
    ]))


def calibrate(pipe, clips, target: float, steps: int, max_scale: float = 1.0) -> tuple[float, dict]:
    """The scale in [0, max_scale] whose rendered flicker is closest to `target` and the flicker measured at
    each scale tried."""
    measured = {scale: rendered_flicker(pipe, clips, scale) for scale in (0.0, max_scale)}
    if measured[0.0] >= target:  # the rendering alone changes more than the real videos: no motion at all
        return 0.0, measured
    if measured[max_scale] <= target:  # moves less than the real videos even at the largest scale allowed
        return max_scale, measured
    low, high = 0.0, max_scale
    for _ in range(steps):
        middle = (low + high) / 2
        measured[middle] = rendered_flicker(pipe, clips, middle)
        low, high = (low, middle) if measured[middle] > target else (middle, high)
    best = min(measured, key=lambda scale: abs(measured[scale] - target))
    return best, measured


def main(argv=None):
    args = parse_args(argv)
    output_dir = Path(args.output_dir)
    if (output_dir / "model.safetensors").exists() and not args.overwrite:
        raise SystemExit(f"{output_dir} already holds a model; pass --overwrite to replace it")
    if not 0 < args.max_scale <= MAX_MOTION_SCALE:
        raise SystemExit(f"--max_scale must be in (0, {MAX_MOTION_SCALE}]")
    split = load_from_disk(args.dataset_path)[args.split].filter(lambda n: n > 2, input_columns="num_frames")
    split = split.select(range(min(args.max_clips, len(split))))
    if len(split) == 0:
        raise SystemExit(f"{args.dataset_path} has no {args.split} clips of 3 frames or more")
    real = float(np.mean([outside_mouth_flicker(decode_frames(row)) for row in tqdm(split, desc="real clips")]))
    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    before = pipe.model.config.motion_scale
    clips = [decode_audio(row) for row in split]
    scale, measured = calibrate(pipe, clips, real, args.bisection_steps, args.max_scale)
    motion_effect = measured[args.max_scale] - measured[0.0]
    if motion_effect < 0.05 * real:
        logger.warning("the motion scale barely changes the videos (flicker %.5f at 0, %.5f at %g): this model's "
                       "motion process has collapsed, its faces move only by rendering jitter; retrain the generator",
                       measured[0.0], measured[args.max_scale], args.max_scale)
    if scale == 0.0:
        logger.warning("with no motion at all this model's frames already change as much as the real videos' (flicker "
                       "%.5f, real %.5f): its motion is switched off, so its faces will not blink or move their head "
                       "and the seed changes nothing; its rendering jitters, so retraining the generator is the cure",
                       measured[0.0], real)
    pipe.model.config.motion_scale = scale
    pipe.model.save_pretrained(output_dir)
    print(json.dumps({
        "clips": len(clips), "real_flicker": real, "flicker_change_from_motion": motion_effect,
        "motion_scale_before": before, "motion_scale": scale,
        "flicker_before": measured[before] if before in measured else rendered_flicker(pipe, clips, before),
        "flicker_after": measured[scale], "flicker_by_scale": {f"{s:.4f}": f for s, f in sorted(measured.items())},
    }, indent=2))


if __name__ == "__main__":
    main()
