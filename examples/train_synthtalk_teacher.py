"""Train the SynthTalk teacher: a small CNN reading SynthTalk frames, supervised by the corpus ground truth.

    speech2video synthtalk corpora/synthtalk --num-clips 2000
    speech2video synthtalk corpora/synthtalk-faces --num-clips 6000 --num-speakers 6000 --seed 1
    python examples/train_synthtalk_teacher.py --dataset_path corpora/synthtalk corpora/synthtalk-faces \
        --output_dir synthtalk_teacher

Trains on `--num_frames_per_clip` frames sampled from each train clip of every corpus (decoded once, kept in
memory at the teacher's input size). Identity is learnt from faces, so what matters is how many *speakers*
it sees: a corpus of one clip per speaker with another seed (other identities) adds thousands. Then reports
on the first corpus' test split (speakers unseen in training), over all frames:
emotion accuracy per clip (frame probabilities averaged), identity R^2 per dimension (per-clip mean
prediction vs truth) with the voice-linked and control means, and the per-frame mouth-opening correlation.
Prints the metrics as JSON and saves the teacher (config.json + model.safetensors, fp16) and metrics.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from datasets import load_from_disk
from tqdm.auto import tqdm

from speech2video.data.schema import decode_frames
from speech2video.data.synthtalk.speakers import IDENTITY_NAMES, VOICE_LINKED
from speech2video.teachers.synthtalk import SynthTalkTeacher, SynthTalkTeacherConfig
from speech2video.training.distillation import load_corpora


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset_path", required=True, nargs="+",
                        help="SynthTalk DatasetDict folders (save_to_disk): trains on their train splits, tests on "
                             "the first one's test split")
    parser.add_argument("--output_dir", required=True, help="where the teacher and metrics.json are written")
    parser.add_argument("--input_size", type=int, default=64,
                        help="frames are read at this size (a multiple of 16); the evaluation teacher reads 96")
    parser.add_argument("--max_train_steps", type=int, default=1000)
    parser.add_argument("--train_batch_size", type=int, default=64)
    parser.add_argument("--learning_rate", type=float, default=2e-3)
    parser.add_argument("--lr_warmup_steps", type=int, default=50)
    parser.add_argument("--weight_decay", type=float, default=1e-4)
    parser.add_argument("--num_frames_per_clip", type=int, default=16, help="train frames sampled per clip")
    parser.add_argument("--max_train_clips", type=int, default=None, help="use only the first N train clips")
    parser.add_argument("--identity_loss_weight", type=float, default=10.0)
    parser.add_argument("--mouth_loss_weight", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--logging_steps", type=int, default=50)
    parser.add_argument("--skip_evaluation", action="store_true", help="train and save only")
    return parser.parse_args(argv)


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T, S, S, 3) uint8 -> (T, 3, S, S) float in [0, 1]."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0


def load_train_frames(dataset, teacher: SynthTalkTeacher, num_frames_per_clip: int, seed: int) -> dict:
    """Sample frames of every clip, resized to the teacher's input: frames (N, 3, s, s) uint8 and their labels."""
    rng = np.random.default_rng(seed)
    emotions = teacher.classes
    frames, identity, emotion, mouth_open = [], [], [], []
    for row in tqdm(dataset, desc="decoding train clips"):
        clip = decode_frames(row)
        picked = np.sort(rng.choice(len(clip), size=min(num_frames_per_clip, len(clip)), replace=False))
        frames.append((teacher.prepare(to_tensor(clip[picked])) * 255).round().to(torch.uint8))
        identity.append(torch.tensor(row["identity"]).expand(len(picked), -1))
        emotion.append(torch.full((len(picked),), emotions.index(row["emotion"])))
        mouth_open.append(torch.tensor(row["mouth_open"])[picked])
    return {"frames": torch.cat(frames), "identity": torch.cat(identity), "emotion": torch.cat(emotion),
            "mouth_open": torch.cat(mouth_open)}


def training_loss(teacher: SynthTalkTeacher, batch: dict[str, torch.Tensor], args) -> dict[str, torch.Tensor]:
    output = teacher(batch["frames"].float() / 255.0)
    losses = {
        "emotion": F.cross_entropy(output.emotion_logits, batch["emotion"]),
        "identity": F.mse_loss(output.identity, batch["identity"]),
        "mouth": F.mse_loss(output.mouth_open, batch["mouth_open"]),
    }
    losses["loss"] = (losses["emotion"] + args.identity_loss_weight * losses["identity"]
                      + args.mouth_loss_weight * losses["mouth"])
    return losses


def train(teacher: SynthTalkTeacher, data: dict[str, torch.Tensor], args) -> list[float]:
    """AdamW with linear warm-up and cosine decay on random frame batches; returns the loss per step."""
    optimizer = torch.optim.AdamW(teacher.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / args.lr_warmup_steps)
                                                 * 0.5 * (1 + math.cos(math.pi * step / args.max_train_steps)))
    generator = torch.Generator().manual_seed(args.seed)
    teacher.train()
    history = []
    progress = tqdm(range(args.max_train_steps), desc="training")
    for step in progress:
        index = torch.randint(len(data["frames"]), (args.train_batch_size,), generator=generator)
        losses = training_loss(teacher, {name: values[index] for name, values in data.items()}, args)
        optimizer.zero_grad()
        losses["loss"].backward()
        optimizer.step()
        schedule.step()
        history.append(losses["loss"].item())
        if step % args.logging_steps == 0 or step == args.max_train_steps - 1:
            progress.set_postfix({name: f"{value.item():.4f}" for name, value in losses.items()})
    teacher.eval()
    return history


def r2_score(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column of (N, D) arrays."""
    residual = ((truth - prediction) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - residual / np.maximum(total, 1e-12)


@torch.no_grad()
def evaluate(teacher: SynthTalkTeacher, dataset) -> dict:
    """Metrics over every frame of every clip of `dataset` (see the module docstring)."""
    predicted_identity, true_identity, correct, mouth_predicted, mouth_true = [], [], [], [], []
    for row in tqdm(dataset, desc="evaluating"):
        output = teacher.predict(to_tensor(decode_frames(row)))
        predicted_identity.append(output.identity.mean(0).numpy())
        true_identity.append(np.asarray(row["identity"]))
        correct.append(teacher.classes[int(output.emotion_probs.mean(0).argmax())] == row["emotion"])
        mouth_predicted.append(output.mouth_open.numpy())
        mouth_true.append(np.asarray(row["mouth_open"]))
    r2 = r2_score(np.stack(predicted_identity), np.stack(true_identity))
    return {
        "num_clips": len(dataset),
        "emotion_accuracy": float(np.mean(correct)),
        "identity_r2_voice_linked": float(r2[VOICE_LINKED].mean()),
        "identity_r2_control": float(r2[~VOICE_LINKED].mean()),
        "identity_r2": {name: round(float(value), 4) for name, value in zip(IDENTITY_NAMES, r2)},
        "mouth_open_corr": float(np.corrcoef(np.concatenate(mouth_predicted), np.concatenate(mouth_true))[0, 1]),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    train_split = load_corpora(args.dataset_path, "train", drop=())
    if args.max_train_clips is not None:
        train_split = train_split.select(range(min(args.max_train_clips, len(train_split))))
    teacher = SynthTalkTeacher(SynthTalkTeacherConfig(input_size=args.input_size))

    start = time.perf_counter()
    data = load_train_frames(train_split, teacher, args.num_frames_per_clip, args.seed)
    decoding_s = time.perf_counter() - start
    history = train(teacher, data, args)
    training_s = time.perf_counter() - start - decoding_s

    output_dir = Path(args.output_dir)
    teacher.save_pretrained(output_dir)
    report = {"train_clips": len(train_split), "train_frames": len(data["frames"]), "steps": args.max_train_steps,
              "batch_size": args.train_batch_size, "decoding_s": round(decoding_s, 1),
              "training_s": round(training_s, 1),
              "first_loss": history[0], "final_loss": float(np.mean(history[-20:]))}
    if not args.skip_evaluation:
        # Evaluate the saved (fp16-rounded) weights: the numbers describe what is shipped.
        test_split = load_from_disk(args.dataset_path[0])["test"]
        report["test"] = evaluate(SynthTalkTeacher.from_pretrained(output_dir), test_split)
    (output_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
