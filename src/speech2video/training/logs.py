"""Per-step training logs shared by the training scripts: averaged over processes, so a run on N
processes logs the loss of its global batch, and appended to `losses.jsonl` in the output folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch


def log_step(accelerator, output_dir: Path, step: int, logs: dict[str, float]) -> dict[str, float]:
    """Average `logs` (name -> this process's value) over processes, send them to the trackers and append
    them to output_dir/losses.jsonl (main process); returns the averaged values."""
    values = accelerator.reduce(torch.tensor(list(logs.values()), dtype=torch.float64, device=accelerator.device), "mean")
    logs = dict(zip(logs, values.tolist()))
    accelerator.log(logs, step=step)
    if accelerator.is_main_process:
        with open(output_dir / "losses.jsonl", "a") as log_file:
            log_file.write(json.dumps({"step": step, **logs}) + "\n")
    return logs


def drop_logs_after(output_dir: Path, step: int) -> None:
    """On resuming at `step`: remove the entries of output_dir/losses.jsonl after it (the interrupted run's
    steps that the resumed run takes again) and a last line cut short by the interruption, so the log holds
    each step once."""
    path = Path(output_dir) / "losses.jsonl"
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a line the killed run did not finish writing
            continue
        if entry["step"] <= step:
            kept.append(line + "\n")
    temporary = path.with_name(".losses.jsonl.tmp")  # renamed over the log once complete: a kill now loses nothing
    temporary.write_text("".join(kept))
    os.replace(temporary, path)
