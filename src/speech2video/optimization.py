"""The optimised inference path: exact rewrites of the generator that do the same arithmetic with less work.

`FastDecoder(generator)` renders what `generator.decode` renders, built from the generator's current weights
(without changing the model):
- each up-block's "x2 nearest upsampling, then 3x3 convolution" becomes four 2x2 convolutions computed at
  the low resolution, one per output phase (the 3x3 taps that land on the same input pixel are summed
  beforehand), then interleaved: 2.25x fewer multiply-adds there and no upsampled copy of the input;
- each adaptive instance norm becomes one per-channel affine map folded from the statistics and the style.
The result equals the eager path up to float rounding. The measured gain is in benchmarks/speed.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# FOLD[phase] (2, 3): which of the 3 taps of a 3x3 kernel row fall on input pixel i - 1 + phase + t, t = 0, 1,
# when the input was upsampled x2 by repetition: output 2i reads inputs (i-1, i, i), output 2i+1 (i, i, i+1).
FOLD = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])


class UpsampleConv(nn.Module):
    """`conv(F.interpolate(x, scale_factor=2, mode="nearest"))` for a 3x3, padding-1 `conv`, at low resolution.

    x (N, C_in, H, W) -> (N, C_out, 2H, 2W).
    """

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.stride != (1, 1) or conv.groups != 1:
            raise ValueError("UpsampleConv rewrites 3x3 convolutions with padding 1 and stride 1 only")
        fold = FOLD.to(conv.weight)
        # kernels[a, b] (C_out, C_in, 2, 2): the 2x2 kernel of output phase (row a, column b)
        kernels = torch.einsum("apk,bql,oikl->aboipq", fold, fold, conv.weight.detach())
        self.register_buffer("kernels", kernels.flatten(0, 1).contiguous())  # (4, C_out, C_in, 2, 2)
        self.register_buffer("bias", conv.bias.detach().clone() if conv.bias is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (1, 1, 1, 1))
        height, width = x.shape[-2:]
        phases = [
            F.conv2d(padded[..., a : a + height + 1, b : b + width + 1], self.kernels[2 * a + b], self.bias)
            for a in (0, 1) for b in (0, 1)
        ]  # 4 x (N, C_out, H, W)
        batch, channels = phases[0].shape[:2]
        # (a, b, N, C, H, W) -> (N, C, H, a, W, b) -> (N, C, 2H, 2W)
        return torch.stack(phases).view(2, 2, batch, channels, height, width).permute(2, 3, 4, 0, 5, 1).reshape(
            batch, channels, 2 * height, 2 * width)


class FoldedAdaptiveInstanceNorm(nn.Module):
    """`AdaptiveInstanceNorm` as one affine map per channel: x * a + b with a = (1 + scale) / std and
    b = shift - mean * a, folded from the statistics and the style (two passes over x instead of four)."""

    def __init__(self, norm: nn.Module):
        super().__init__()
        self.affine, self.eps = norm.affine, norm.norm.eps

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        variance, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        scale, shift = self.affine(style)[:, :, None, None].chunk(2, dim=1)
        gain = (1 + scale) * torch.rsqrt(variance + self.eps)
        return torch.addcmul(shift - mean * gain, x, gain)


class _FusedUpBlock(nn.Module):
    """An `UpBlock` with its upsampling and first convolution as one `UpsampleConv`, and folded norms."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.upsample_conv1 = UpsampleConv(block.conv1)
        self.norm1, self.conv2 = FoldedAdaptiveInstanceNorm(block.norm1), block.conv2
        self.norm2 = FoldedAdaptiveInstanceNorm(block.norm2)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu_(self.norm1(self.upsample_conv1(x), style), 0.2)
        return F.leaky_relu_(self.norm2(self.conv2(x), style), 0.2)


class FastDecoder(nn.Module):
    """`generator.decode` (styles (N, style_dim) -> frames (N, 3, S, S) in [0, 1]) on the rewritten layers.

    Shares the generator's modules where nothing is rewritten; the folded kernels are copies, so build a
    new one after changing the generator's weights (the pipeline builds one per call). Inference only.
    """

    @torch.no_grad()
    def __init__(self, generator: nn.Module):
        super().__init__()
        self.input, self.to_rgb = generator.input, generator.to_rgb
        self.input_norm = FoldedAdaptiveInstanceNorm(generator.input_norm)
        self.blocks = nn.ModuleList(_FusedUpBlock(block) for block in generator.blocks)

    def forward(self, styles: torch.Tensor) -> torch.Tensor:
        x = self.input(styles).view(styles.shape[0], -1, 4, 4)
        x = F.leaky_relu_(self.input_norm(x, styles), 0.2)
        for block in self.blocks:
            x = block(x, styles)
        return (torch.tanh(self.to_rgb(x)) + 1) / 2
