"""Quality of generated videos on held-out SynthTalk clips (unseen speakers and sentences), beside references.

Rows of the report:
- speech-only: the model from the voice alone (what speech2video does);
- static-image baseline: the same model given the identity read by the face teacher from one real frame
  (`pipe(audio, reference_image=...)`), the paper's baseline that sees the speaker;
- ablation, no identity or emotion from speech: the same model with the identity fixed at the training
  clips' mean teacher identity and the emotion at neutral, for every voice; only the content (lips) still
  comes from the speech. It stands for a student without identity and emotion distillation at its best (a
  generator that learnt to ignore those inputs); it is not a separately trained model;
- real video: each metric on the ground-truth frames (the ceiling);
- mean face: a still average training frame (the floor: no identity, no emotion, no lips).

Metrics (the SynthTalk face teacher reads the frames; SynthTalk's ground truth is the reference):
emotion accuracy vs the label; identity R^2 per clip vs the true parameters (voice-linked and control
means); per-frame mouth-opening correlation with the truth; lip sync: share of clips whose best audio
offset from a sync expert (trained here on training clips, cached) is within +-1 frame, and its mean
confidence; PSNR / SSIM against the real frames; flicker outside the mouth; Frechet distance between
generated and real frames on the teacher's outputs (identity + emotion + mouth), an FID analogue with a
domain teacher instead of Inception (which is not available offline).

    python benchmarks/quality.py --model synthtalk-128 --corpus corpora/synthtalk-targets [--quick]

Prints one JSON object and writes the markdown table to docs/results.md (generated; do not edit).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from speech2video import Speech2VideoPipeline
from speech2video.data.schema import decode_audio, decode_frames
from speech2video.data.synthtalk.speakers import VOICE_LINKED
from speech2video.evaluation import (
    SyncExpert, flicker, frechet_distance, psnr, r2_per_dimension, ssim, sync_offset_confidence, train_sync_expert,
)
from speech2video.teachers.synthtalk import SynthTalkTeacher

ROOT = Path(__file__).resolve().parents[1]
QUICK_CLIPS, SYNC_TRAIN_CLIPS, SYNC_TRAIN_STEPS = 24, 200, 500


def load_sync_expert(corpus, path: Path) -> SyncExpert:
    """The cached sync expert for this corpus, trained on its training split the first time."""
    if path.exists():
        return SyncExpert.load(path)
    train = corpus["train"].select(range(min(SYNC_TRAIN_CLIPS, len(corpus["train"]))))
    clips = [(decode_audio(row), decode_frames(row)) for row in tqdm(train, desc="sync expert data")
             if row["num_frames"] > 20]
    expert = train_sync_expert(clips, steps=SYNC_TRAIN_STEPS, seed=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    expert.save(path)
    return expert


def clip_metrics(frames: np.ndarray, row: dict, audio: np.ndarray, real: np.ndarray, teacher, expert,
                 labels: list[str]) -> dict:
    """Metrics of one video (T, S, S, 3) uint8 against the clip's truth, its audio and its real frames."""
    frames = frames[: len(real)]
    seen = teacher.predict(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
    offset, confidence = sync_offset_confidence(expert, audio, frames)
    mouth_box = (round(0.55 * frames.shape[1]), frames.shape[1], 0, frames.shape[2])
    return {
        "emotion_correct": labels[int(seen.emotion_probs.mean(0).argmax())] == row["emotion"],
        "identity": seen.identity.mean(0).numpy(),
        "mouth": (seen.mouth_open.numpy(), np.asarray(row["mouth_open"][: len(frames)], np.float32)),
        "in_sync": abs(offset) <= 1,
        "sync_confidence": confidence,
        "psnr": psnr(frames, real),
        "ssim": ssim(frames, real),
        "flicker": flicker(frames, mask=mouth_box),
        "features": torch.cat([seen.identity, seen.emotion_probs, seen.mouth_open[:, None]], 1).numpy(),
    }


def summarise(per_clip: list[dict], truth_identity: np.ndarray, real_features: np.ndarray) -> dict:
    r2 = r2_per_dimension(np.array([m["identity"] for m in per_clip]), truth_identity)
    mouth_predicted = np.concatenate([m["mouth"][0] for m in per_clip])
    mouth_truth = np.concatenate([m["mouth"][1] for m in per_clip])
    mouth_corr = np.corrcoef(mouth_predicted, mouth_truth)[0, 1] if mouth_predicted.std() > 0 else 0.0
    return {
        "emotion_accuracy": float(np.mean([m["emotion_correct"] for m in per_clip])),
        "identity_r2_voice_linked": float(np.nanmean(r2[VOICE_LINKED])),
        "identity_r2_control": float(np.nanmean(r2[~VOICE_LINKED])),
        "mouth_corr": float(mouth_corr),
        "sync_within_1_frame": float(np.mean([m["in_sync"] for m in per_clip])),
        "sync_confidence": float(np.mean([m["sync_confidence"] for m in per_clip])),
        "psnr_db": float(np.mean([m["psnr"] for m in per_clip])),
        "ssim": float(np.mean([m["ssim"] for m in per_clip])),
        "flicker": float(np.mean([m["flicker"] for m in per_clip])),
        "frechet_teacher": float(frechet_distance(np.concatenate([m["features"] for m in per_clip]), real_features)),
    }


def mean_face(corpus, clips: int = 100) -> np.ndarray:
    """The average of the first frame of `clips` training clips, (S, S, 3) uint8."""
    frames = [decode_frames(row, 0, 1)[0].astype(np.float64) for row in corpus["train"].select(range(clips))]
    return np.round(np.mean(frames, axis=0)).astype(np.uint8)


def markdown(results: dict, meta: dict) -> str:
    columns = [("emotion_accuracy", "emotion acc."), ("identity_r2_voice_linked", "identity R² (voice-linked)"),
               ("identity_r2_control", "identity R² (control)"), ("mouth_corr", "mouth corr."),
               ("sync_within_1_frame", "sync ±1 frame"), ("sync_confidence", "sync conf."),
               ("psnr_db", "PSNR dB"), ("ssim", "SSIM"), ("flicker", "flicker"),
               ("frechet_teacher", "Fréchet (teacher)")]
    lines = [
        "# Results",
        "",
        "Generated by `python benchmarks/quality.py " + meta["command"] + "`; do not edit by hand.",
        "",
        f"Model `{meta['model']}` on {meta['clips']} held-out SynthTalk clips (unseen speakers and sentences), "
        f"seed 0; wall time {meta['seconds']:.0f} s on {meta['machine']}. The sync expert finds the exact offset of "
        f"the real video delayed by 2 frames on {100 * meta['sync_expert_detects_2_frame_delay']:.0f} % of these "
        "clips. The face teacher that reads the "
        "frames is the SynthTalk teacher; \"Fréchet (teacher)\" is a Fréchet distance on its outputs "
        "(identity, emotion, mouth), an FID analogue (Inception weights are not available offline), lower is "
        "better. Identity R² compares per-clip identity read from the frames with the true parameters; the "
        "control dimensions (hair, shirt, background, eye colour) are not in the voice, so a speech-only video "
        "should score about 0 there (the real video shows them). The ablation is the same model with the identity "
        "fixed at the training clips' mean teacher identity and the emotion at neutral for every voice (only the "
        "lips come from the speech): a stand-in for a student without identity and emotion distillation, not a "
        "separately trained model.",
        "",
        "| | " + " | ".join(title for _, title in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, values in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{values[key]:.3f}" for key, _ in columns) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedded model name or folder (default: the default model)")
    parser.add_argument("--corpus", default=str(ROOT / "corpora" / "synthtalk-targets"),
                        help="SynthTalk corpus with teacher targets (its test split is evaluated)")
    parser.add_argument("--quick", action="store_true", help=f"only the first {QUICK_CLIPS} test clips")
    parser.add_argument("--sync_expert", default=str(ROOT / "cache" / "sync-expert-synthtalk.safetensors"))
    parser.add_argument("--output", default=str(ROOT / "docs" / "results.md"), help='markdown report ("" for none)')
    args = parser.parse_args()
    from datasets import load_from_disk

    started = time.time()
    torch.manual_seed(0)
    corpus = load_from_disk(args.corpus)
    test = corpus["test"].filter(lambda n: n > 20, input_columns="num_frames")
    if args.quick:
        test = test.select(range(min(QUICK_CLIPS, len(test))))
    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    teacher, expert = SynthTalkTeacher.from_pretrained(), load_sync_expert(corpus, Path(args.sync_expert))
    labels = teacher.classes
    still = mean_face(corpus)

    mean_identity = np.mean(corpus["train"]["teacher_identity"], axis=0)
    ablation = "ablation: no identity/emotion from speech"
    rows = {"speech-only": [], "static-image baseline": [], ablation: [], "real video": [], "mean face": []}
    detected = []  # does the sync expert find the exact offset of a 2-frame delay?
    for row in tqdm(test, desc="clips"):
        audio, real = decode_audio(row), decode_frames(row)
        videos = {
            "speech-only": pipe(audio, sampling_rate=16_000, seed=0).frames,
            "static-image baseline": pipe(audio, sampling_rate=16_000, seed=0, reference_image=real[0]).frames,
            ablation: pipe(audio, sampling_rate=16_000, seed=0, identity_embedding=mean_identity, emotion="neutral").frames,
            "real video": real,
            "mean face": np.repeat(still[None], len(real), axis=0),
        }
        for name, frames in videos.items():
            rows[name].append(clip_metrics(frames, row, audio, real, teacher, expert, labels))
        delayed = np.concatenate([real[:1], real[:1], real[:-2]])  # the real video 2 frames late
        detected.append(sync_offset_confidence(expert, audio, delayed)[0] == 2)

    truth_identity = np.array(test["identity"])
    real_features = np.concatenate([m["features"] for m in rows["real video"]])
    results = {name: summarise(per_clip, truth_identity, real_features) for name, per_clip in rows.items()}
    meta = {"model": args.model or "default", "clips": len(test), "seconds": time.time() - started,
            "machine": f"{torch.get_num_threads()} CPU threads",
            "command": f"--model {args.model or 'default'}" + (" --quick" if args.quick else "")}
    meta["sync_expert_detects_2_frame_delay"] = float(np.mean(detected))
    print(json.dumps({**meta, "results": results}, indent=1))
    if args.output:
        Path(args.output).write_text(markdown(results, meta))


if __name__ == "__main__":
    main()
