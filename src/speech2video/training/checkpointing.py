"""Crash-safe Accelerate checkpoints for the training scripts: `checkpoint-<step>` folders in the output dir."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from .logs import drop_logs_after

logger = logging.getLogger(__name__)


def save_checkpoint(accelerator, output_dir: Path, step: int, limit: int) -> None:
    """accelerate state in checkpoint-<step>, written to a temp folder then renamed (a killed run never leaves
    a half-written checkpoint); only the newest `limit` checkpoints are kept."""
    final, temporary = output_dir / f"checkpoint-{step}", output_dir / f".checkpoint-{step}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(temporary, ignore_errors=True)  # left by a run killed while saving this step
    accelerator.wait_for_everyone()
    accelerator.save_state(str(temporary))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(temporary, final)
        for old in sorted(output_dir.glob("checkpoint-*"), key=checkpoint_step)[:-limit]:
            shutil.rmtree(old)


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    checkpoints = sorted(output_dir.glob("checkpoint-*"), key=checkpoint_step)
    return checkpoints[-1] if checkpoints else None


def find_checkpoint(output_dir: Path, checkpoint: str | os.PathLike | None) -> Path | None:
    """The folder `--resume_from_checkpoint` names: "latest" (the newest in `output_dir`; None while there is none),
    a folder, or a folder name inside `output_dir` (`checkpoint-500`, as diffusers' scripts take it); None for None.
    Raises FileNotFoundError for a folder that is in neither place."""
    if checkpoint is None:
        return None
    if checkpoint == "latest":
        return latest_checkpoint(output_dir)
    for folder in (Path(checkpoint), output_dir / checkpoint):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"no checkpoint folder {checkpoint} (nor {output_dir / checkpoint}): give a "
                            'checkpoint-<step> folder of the run or "latest"')


def checkpoint_step(folder: str | os.PathLike) -> int:
    """The training step a checkpoint folder was saved at."""
    return int(Path(folder).name.split("-")[1])


def resume(accelerator, output_dir: Path, checkpoint: str | os.PathLike | None) -> int:
    """Load `checkpoint` (as `find_checkpoint` reads it) into the prepared objects; returns its step, 0 when there
    is none. The log entries after that step are dropped: the resumed run logs those steps again."""
    asked, checkpoint = checkpoint, find_checkpoint(output_dir, checkpoint)
    if checkpoint is None:
        if asked == "latest":
            logger.info("no checkpoint in %s yet: starting a new run", output_dir)
        return 0
    accelerator.load_state(str(checkpoint))
    step = checkpoint_step(checkpoint)
    if accelerator.is_main_process:
        drop_logs_after(output_dir, step)
    logger.info("resumed from %s at step %d", checkpoint, step)
    return step
