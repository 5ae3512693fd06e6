"""The optimised inference path: the frame generator through `torch.compile` (inductor), which fuses its
norms, activations and upsampling into few passes over memory; measured in benchmarks/speed.py.

The generator is compiled for one batch shape (`batch_size` frames), and every call is cut into pieces of
that size (the last one padded), so nothing recompiles whatever the length of the video. Compiled code is
cached on disk by inductor (`TORCHINDUCTOR_CACHE_DIR`, default `~/.cache/speech2video/torchinductor`): the
first compilation on a machine takes tens of seconds, later processes load it in a few seconds. Where
compilation fails (no C++ compiler, an unsupported platform), the eager generator is used with a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

logger = logging.getLogger(__name__)


class CompiledDecoder:
    """`generator.decode` (styles (N, style_dim) and an optional reference -> frames (N, 3, S, S) in [0, 1])
    compiled for batches of `batch_size` frames (a first call with a reference compiles once more). It reads
    the generator's current weights at every call."""

    def __init__(self, generator, batch_size: int = 16):
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path.home() / ".cache" / "speech2video" / "torchinductor"))
        self.generator, self.batch_size = generator, batch_size
        self.style_dim = generator.mapping[0].out_features
        self.compiled = torch.compile(generator.decode, dynamic=False)
        try:
            with torch.inference_mode():
                self.compiled(torch.zeros(batch_size, self.style_dim))  # compiles now, not at the first frame
        except Exception as error:  # noqa: BLE001 - any compiler failure leaves the eager path working
            logger.warning("torch.compile failed (%s); rendering with the eager generator", str(error).splitlines()[0])
            self.compiled = generator.decode

    def __call__(self, styles: torch.Tensor, reference: list[torch.Tensor] | None = None) -> torch.Tensor:
        frames = []
        for start in range(0, len(styles), self.batch_size):
            piece = styles[start : start + self.batch_size]
            count = len(piece)
            if count < self.batch_size:  # pad with the last style: the compiled shape is fixed
                piece = torch.cat([piece, piece[-1:].expand(self.batch_size - count, -1)])
            frames.append(self.compiled(piece, reference)[:count])
        return torch.cat(frames)
