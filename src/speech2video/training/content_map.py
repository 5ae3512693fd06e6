"""A linear map between two students' content features, folded into a generator's first layer.

A student trained anew learns its own per-frame content features; a generator trained on another student's
cannot read them. Their lips carry the same information, so an affine map from the new features onto the old
ones (least squares over training frames) lets the trained generator read the new student. The generator's
first layer (`FrameGenerator.content_context`, a 1-D convolution over frames with replicated edges) is linear,
so the map is folded into its weights: nothing else changes and no step of training is needed.
"""

import numpy as np
import torch
from torch import nn


def fit_content_map(source: np.ndarray, target: np.ndarray, ridge: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of `target` (N, C_old) on `source` (N, C_new) frames, with a ridge of `ridge` times the
    mean source variance: returns matrix (C_new, C_old) and bias (C_old,) with target ~ source @ matrix + bias."""
    if len(source) != len(target) or len(source) <= source.shape[1]:
        raise ValueError(f"need more paired frames ({len(source)}, {len(target)}) than content channels ({source.shape[1]})")
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    source_mean, target_mean = source.mean(0), target.mean(0)
    centred = source - source_mean
    gram = centred.T @ centred
    gram += ridge * np.trace(gram) / len(gram) * np.eye(len(gram))
    matrix = np.linalg.solve(gram, centred.T @ (target - target_mean))
    return matrix, target_mean - source_mean @ matrix


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> dict:
    """R² of `predicted` against `target` (N, C): the mean over channels and the variance-weighted one."""
    residual = ((predicted - target) ** 2).sum(0)
    spread = ((target - target.mean(0)) ** 2).sum(0)
    return {"r2_mean_over_channels": float(np.mean(1 - residual / spread)),
            "r2_variance_weighted": float(1 - residual.sum() / spread.sum())}


@torch.no_grad()
def fold_content_map(content_context: nn.Conv1d, matrix: np.ndarray, bias: np.ndarray) -> None:
    """Make `content_context` read features c where it read c @ matrix + bias (in place). Exact: the
    convolution is linear and its replicated edges carry the bias like any frame."""
    weight = content_context.weight  # (out, C_old, k)
    matrix = torch.as_tensor(matrix, dtype=weight.dtype)
    bias = torch.as_tensor(bias, dtype=weight.dtype)
    if matrix.shape[1] != weight.shape[1] or matrix.shape[0] != weight.shape[1]:
        raise ValueError(f"a {tuple(matrix.shape)} map does not fit a generator that reads {weight.shape[1]} channels")
    content_context.bias.add_(torch.einsum("oik,i->o", weight, bias))
    content_context.weight.copy_(torch.einsum("oik,ji->ojk", weight, matrix))
