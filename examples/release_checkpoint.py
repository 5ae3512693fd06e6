#!/usr/bin/env python
"""Copy a trained model into the package as an embedded checkpoint, in float16, with its model card.

    python examples/release_checkpoint.py --model_path outputs/synthtalk-128 --name synthtalk-128 \
        --card_body docs/cards/synthtalk-128.md --metrics docs/results-synthtalk-128.json --dataset synthtalk

Writes src/speech2video/pretrained/NAME/: config.json, model.safetensors (float16) and README.md, a
huggingface_hub `ModelCard` (license, datasets, tags, the benchmark's speech-only figures as model-index
entries) whose text is the hand-written `--card_body` plus the benchmark table. Prints the size and the
pixel change float16 causes on a test input, as JSON. An existing release is only replaced with --overwrite.
Usual order: release the weights, benchmark the released model by name, run again with the card arguments.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from speech2video import Speech2VideoModel
from speech2video.checkpoints import PRETRAINED_DIR


@torch.no_grad()
def render(model, seconds: float = 2.0) -> np.ndarray:
    """Frames (T, 3, S, S) for a fixed noise-like input and motion seed; for a model with reference frames,
    followed by the frames it renders with a fixed random picture."""
    audio = torch.randn(1, int(16_000 * seconds), generator=torch.Generator().manual_seed(0))
    pictures = [None]
    if model.config.reference_frame:
        size = model.config.image_size
        pictures.append(torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)))
    videos = [model(audio, reference_pixels=picture, generator=torch.Generator().manual_seed(0)).frames[0]
              for picture in pictures]
    return torch.cat(videos).numpy()


def figure(values: dict, key: str) -> str:
    """A table cell: the value to 3 decimals (never -0.000), with its standard error when the benchmark gives one."""
    cell = f"{round(values[key], 3) + 0.0:.3f}"
    return cell + (f" ± {values[key + '_se']:.3f}" if key + "_se" in values else "")


def write_model_card(target: Path, args) -> None:
    """README.md: front matter from `ModelCardData`, then the card body and the benchmark table."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    benchmark = json.loads(Path(args.metrics).read_text())
    results = benchmark["results"]
    speech_only = results["speech-only"]
    metrics = [key for key in speech_only if not key.endswith("_se")]  # bootstrap standard errors go beside their figure
    data = ModelCardData(
        license=args.license, library_name="speech2video", model_name=args.name,
        datasets=args.dataset, tags=["speech2video", "talking-face", "audio-to-video", "cross-modal-distillation"],
        eval_results=[
            EvalResult(task_type="speech-to-video", dataset_type=args.dataset[0], dataset_name=args.dataset[0],
                       dataset_split="test", metric_type=key, metric_value=round(speech_only[key], 4))
            for key in metrics
        ],
    )
    report = "results-grid.md" if benchmark.get("corpus") == "grid-test" else "results.md"
    table = ["| | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    table += [f"| {row} | " + " | ".join(figure(values, m) for m in metrics) + " |" for row, values in results.items()]
    text = (
        f"---\n{data.to_yaml()}\n---\n\n{Path(args.card_body).read_text().strip()}\n\n## Metrics\n\n"
        f"Measured by `python benchmarks/quality.py {benchmark['command']}` on {benchmark['clips']} held-out clips "
        f"({benchmark['seconds']:.0f} s); see docs/{report} for what each column means.\n\n" + "\n".join(table) + "\n"
    )
    ModelCard(text).save(target / "README.md")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_path", required=True, help="a trained model folder (save_pretrained)")
    parser.add_argument("--name", required=True, help="name of the embedded checkpoint, e.g. synthtalk-128")
    parser.add_argument("--card_body", help="markdown: what it is, data, training, limitations")
    parser.add_argument("--metrics", help="JSON printed by benchmarks/quality.py for the released model")
    parser.add_argument("--dataset", action="append", default=[], help="training data name (repeatable)")
    parser.add_argument("--license", default="apache-2.0")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing release of that name")
    args = parser.parse_args()

    target = PRETRAINED_DIR / args.name
    if target.exists() and not args.overwrite:
        raise SystemExit(f"{target} exists; pass --overwrite to replace its weights (the model card is kept)")
    model = Speech2VideoModel.from_pretrained(args.model_path).eval()
    reference = render(model)
    target.mkdir(parents=True, exist_ok=True)
    model.to(torch.float16).save_pretrained(target)
    for name in ("config.json", "model.safetensors"):
        (target / name).chmod(0o644)
    if args.metrics and args.card_body:
        write_model_card(target, args)
    else:
        print("no --metrics/--card_body: weights released without a model card; benchmark them, then run again")
    released = Speech2VideoModel.from_pretrained(target).eval()
    difference = np.abs(render(released) - reference)
    print(json.dumps({
        "released": str(target),
        "size_mb": round((target / "model.safetensors").stat().st_size / 2**20, 2),
        "parameters_m": round(sum(p.numel() for p in released.parameters()) / 1e6, 2),
        "fp16_max_pixel_change": round(float(difference.max()) * 255, 2),
        "fp16_mean_pixel_change": round(float(difference.mean()) * 255, 3),
    }, indent=1))


if __name__ == "__main__":
    main()
