"""Gradients averaged over training processes, and the distributed setups the training scripts support.

The scripts call their models' methods (the student's `encode_speech`, the generator's `styles` and `decode`,
each critic), not the forward of the DDP wrapper that `accelerator.prepare` puts around them, and DDP only
all-reduces gradients after a backward that follows its own forward. So the scripts average the gradients
themselves before each optimizer step, as DDP would have: every process then takes the same step.
"""

from __future__ import annotations

import logging
import os

import torch
from accelerate.utils import DistributedType

SHARDED = (DistributedType.FSDP, DistributedType.DEEPSPEED)


def require_replicated_parameters(accelerator) -> None:
    """Stop with a clear message under FSDP or DeepSpeed: they gather sharded parameters in the wrapper's
    forward, which the scripts bypass (the models, ~13 M parameters, need no sharding: use DDP)."""
    if accelerator.distributed_type in SHARDED:
        raise SystemExit(f"{accelerator.distributed_type.value} is not supported by the speech2video training scripts "
                         "(they call the models' methods outside the wrapper's forward); launch with --multi_gpu (DDP)")


def warn_if_one_cpu_thread(accelerator, logger: logging.Logger) -> None:
    """Warn when a single training process on the CPU computes with one thread of several cores: `accelerate
    launch` sets OMP_NUM_THREADS=1 unless given `--num_cpu_threads_per_process N` (or `--cpu`), which halves
    the speed on a 2-core machine. Several processes, or a deliberate single thread, are left as they are."""
    cores = os.cpu_count() or 1
    if accelerator.device.type == "cpu" and accelerator.num_processes == 1 and torch.get_num_threads() == 1 < cores:
        logger.warning(f"training on 1 CPU thread of {cores} cores; to use them all, run "
                       f"`accelerate launch --num_cpu_threads_per_process {cores} ...`")


def average_gradients(accelerator, optimizer) -> None:
    """Replace the gradient of each parameter `optimizer` steps by its mean over the processes, in place; a
    parameter without a gradient on this process counts as zero there. Nothing on one process."""
    if accelerator.num_processes == 1:
        return
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    for p in parameters:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = accelerator.reduce(torch.cat([p.grad.flatten() for p in parameters]), reduction="mean")
    for p, grad in zip(parameters, flat.split([p.numel() for p in parameters])):
        p.grad.copy_(grad.view_as(p))
