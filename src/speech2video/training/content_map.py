"""A linear map between two students' content features, folded into a generator's first layer.

A student trained anew learns its own per-frame content features; a generator trained on another student's
cannot read them. Their lips carry the same information, so an affine map from the new features of a frame
and its `context` neighbours on each side onto the old features of the frame (least squares over training
clips) lets the trained generator read the new student. The generator's first layer
(`FrameGenerator.content_context`, a 1-D convolution over frames with replicated edges) is linear too, so the
map is folded into it, which widens it by `context` frames on each side: nothing else changes and no step of
training is needed.
"""

import numpy as np
import torch
from torch import nn


def with_context(features: np.ndarray, context: int) -> np.ndarray:
    """features (T, C) -> (T, (2 * context + 1) * C): each frame beside its neighbours, from frame t - context
    to t + context, the first and last frames repeated past the ends (as the generator's convolution does)."""
    padded = np.pad(features, ((context, context), (0, 0)), mode="edge")
    return np.concatenate([padded[offset:offset + len(features)] for offset in range(2 * context + 1)], axis=1)


def fit_content_map(source: list[np.ndarray], target: list[np.ndarray], context: int = 0,
                    ridge: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of the `target` clips' frames (T_i, C_old) on the `source` clips' (T_i, C_new) with
    `context` frames on each side, with a ridge of `ridge` times the mean input variance. Returns matrix
    (2 * context + 1, C_new, C_old), one per offset from -context, and bias (C_old,): target[t] ~
    sum_u source[t + u - context] @ matrix[u] + bias."""
    inputs = np.concatenate([with_context(clip, context) for clip in source]).astype(np.float64)
    outputs = np.concatenate(target).astype(np.float64)
    if len(inputs) != len(outputs) or len(inputs) <= inputs.shape[1]:
        raise ValueError(f"need as many source as target frames ({len(inputs)}, {len(outputs)}), "
                         f"and more of them than inputs ({inputs.shape[1]})")
    input_mean, output_mean = inputs.mean(0), outputs.mean(0)
    inputs -= input_mean
    gram = inputs.T @ inputs
    gram += ridge * np.trace(gram) / len(gram) * np.eye(len(gram))
    matrix = np.linalg.solve(gram, inputs.T @ (outputs - output_mean))
    bias = output_mean - input_mean @ matrix
    return matrix.reshape(2 * context + 1, source[0].shape[1], outputs.shape[1]), bias


def apply_content_map(features: np.ndarray, matrix: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """features (T, C_new) of one clip -> the mapped (T, C_old)."""
    context = (len(matrix) - 1) // 2
    return with_context(features, context) @ matrix.reshape(-1, matrix.shape[-1]) + bias


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> dict:
    """R² of `predicted` against `target` (N, C): the mean over channels and the variance-weighted one."""
    residual = ((predicted - target) ** 2).sum(0)
    spread = ((target - target.mean(0)) ** 2).sum(0)
    return {"r2_mean_over_channels": float(np.mean(1 - residual / spread)),
            "r2_variance_weighted": float(1 - residual.sum() / spread.sum())}


@torch.no_grad()
def fold_content_map(content_context: nn.Conv1d, matrix: np.ndarray, bias: np.ndarray) -> nn.Conv1d:
    """The convolution that reads features c as `content_context` reads their map (`apply_content_map`),
    wider on each side by the map's context. Exact but at the first and last frames within the old convolution's
    padding of the ends, where the old one repeated a mapped frame and the new one repeats a feature."""
    weight = content_context.weight  # (out, C_old, K)
    matrix = torch.as_tensor(matrix, dtype=weight.dtype)  # (U, C_new, C_old)
    bias = torch.as_tensor(bias, dtype=weight.dtype)
    if matrix.shape[2] != weight.shape[1] or len(bias) != weight.shape[1]:
        raise ValueError(f"a map to {matrix.shape[2]} channels does not fit a generator that reads {weight.shape[1]}")
    offsets, kernel = len(matrix), weight.shape[2]
    folded = nn.Conv1d(matrix.shape[1], weight.shape[0], kernel + offsets - 1,
                       padding=content_context.padding[0] + (offsets - 1) // 2, padding_mode="replicate")
    folded.weight.zero_()
    for tap in range(kernel):  # the old tap reads the map at its offset, which reads features at its own offsets
        for offset in range(offsets):
            folded.weight[:, :, tap + offset] += weight[:, :, tap] @ matrix[offset].T
    folded.bias.copy_(content_context.bias + weight.sum(dim=2) @ bias)
    return folded.to(weight.device)
