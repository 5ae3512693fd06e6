#!/usr/bin/env python
"""Save a training checkpoint of `train_distillation.py` or `train_generator.py` as a model folder that
`from_pretrained`, `calibrate_motion.py` and `release_checkpoint.py` take: to keep an earlier step of a run
whose later steps got worse.

The checkpoint's `model.safetensors` holds the model's live weights (the generator's EMA is kept in a
pickled training state, which this does not load); the configuration comes from `--config_model`, the
model the run started from (its `--student_model_path` or `--init_model`) or the run's finished output.

    python examples/export_checkpoint.py --checkpoint outputs/synthtalk-128-v8/checkpoint-300 \
        --config_model synthtalk-128 --output_dir outputs/synthtalk-128-v8-300
"""

import argparse
import json
from pathlib import Path

from safetensors.torch import load_file

from speech2video import Speech2VideoModel


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="A training checkpoint's weights as a from_pretrained folder.")
    parser.add_argument("--checkpoint", required=True, help="a checkpoint-<step> folder of a training run")
    parser.add_argument("--config_model", required=True,
                        help="a model of the same shape (folder or embedded name): the configuration to save with")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--overwrite", action="store_true", help="replace a model already in --output_dir")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    weights, output_dir = Path(args.checkpoint) / "model.safetensors", Path(args.output_dir)
    if not weights.is_file():
        raise SystemExit(f"{args.checkpoint} holds no model.safetensors: not a checkpoint of the training scripts")
    if (output_dir / "model.safetensors").exists() and not args.overwrite:
        raise SystemExit(f"{output_dir} already holds a model; pass --overwrite to replace it")
    model = Speech2VideoModel.from_pretrained(args.config_model)
    missing, unexpected = model.load_state_dict(load_file(str(weights)), strict=False)
    if missing or unexpected:
        raise SystemExit(f"{args.checkpoint} does not fit {args.config_model}: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}")
    model.save_pretrained(output_dir)
    print(json.dumps({"checkpoint": str(args.checkpoint), "output_dir": str(output_dir)}))


if __name__ == "__main__":
    main()
