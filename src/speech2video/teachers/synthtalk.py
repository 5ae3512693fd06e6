"""SynthTalk teacher: a small CNN trained on SynthTalk frames with the ground truth, standing in for the
pretrained face teachers on the synthetic domain (real face networks do not apply to the rendered faces).

One trunk, three heads, per frame: the identity vector (all `IDENTITY_DIMENSIONS`, in [0, 1]), the emotion
probabilities (SynthTalk emotions) and the mouth opening (0 shut .. 1 open). Distillation uses its outputs,
never the labels. Trained by `examples/train_synthtalk_teacher.py`; the released weights are in
`weights/synthtalk_teacher/` (config.json + model.safetensors, see its README.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn

from ..data.synthtalk.emotions import EMOTIONS
from ..data.synthtalk.speakers import IDENTITY_NAMES
from .base import FaceTeacher

PRETRAINED = Path(__file__).with_name("weights") / "synthtalk_teacher"
# A second teacher, trained apart (other seed, 96 px input) and used by no training: the benchmarks read
# generated frames with it, since the generator learnt to satisfy the first one (its consistency losses).
EVALUATOR = Path(__file__).with_name("weights") / "synthtalk_evaluator"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class TeacherOutput:
    """What a face teacher says about N frames; a field is None when the teacher does not produce it.

    identity (N, D), emotion_probs (N, E) rows sum to 1, mouth_open (N,) in [0, 1].
    """

    identity: torch.Tensor | None = None
    emotion_probs: torch.Tensor | None = None
    mouth_open: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None

    @classmethod
    def cat(cls, outputs: list[TeacherOutput]) -> TeacherOutput:
        """Concatenate batch outputs along N."""
        return cls(**{
            f.name: None if getattr(outputs[0], f.name) is None else torch.cat([getattr(o, f.name) for o in outputs])
            for f in fields(cls)
        })


@dataclass
class SynthTalkTeacherConfig:
    input_size: int = 64
    channels: tuple[int, ...] = (16, 32, 64, 128)  # one stride-2 block each: 64 -> 4 px
    hidden_size: int = 128
    identity_names: list[str] = field(default_factory=lambda: list(IDENTITY_NAMES))
    emotions: list[str] = field(default_factory=lambda: list(EMOTIONS))


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """(N, C, H, W) -> (N, C', H/2, W/2): strided conv + conv, group norm and SiLU (no train/eval difference)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1), nn.GroupNorm(8, out_channels), nn.SiLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.GroupNorm(8, out_channels), nn.SiLU(),
    )


class SynthTalkTeacher(FaceTeacher):
    """SynthTalk frames (N, 3, H, W) in [0, 1] -> `TeacherOutput` with identity (N, D), emotion_probs (N, E),
    mouth_open (N,). Differentiable; whole frame as input (`crop_box` default), resized to `input_size`.

    `output_dim` is the identity dimension D and `classes` the emotion names, the sizes of the
    per-clip targets it provides.
    """

    def __init__(self, config: SynthTalkTeacherConfig | None = None):
        super().__init__()
        self.config = config or SynthTalkTeacherConfig()
        self.input_size = self.config.input_size
        self.classes = list(self.config.emotions)
        self.output_dim = len(self.config.identity_names)
        channels = (3, *self.config.channels)
        if self.input_size % 2 ** len(self.config.channels):
            raise ValueError(f"input_size must be a multiple of {2 ** len(self.config.channels)} (one halving per "
                             f"channel block), got {self.input_size}")
        self.trunk = nn.Sequential(*(conv_block(a, b) for a, b in zip(channels[:-1], channels[1:])))
        final_size = self.input_size // 2 ** len(self.config.channels)
        self.neck = nn.Sequential(
            nn.Flatten(), nn.Linear(channels[-1] * final_size**2, self.config.hidden_size), nn.SiLU()
        )
        self.identity_head = nn.Linear(self.config.hidden_size, self.output_dim)
        self.emotion_head = nn.Linear(self.config.hidden_size, len(self.classes))
        self.mouth_head = nn.Linear(self.config.hidden_size, 1)

    def trunk_features(self, frames: torch.Tensor) -> list[torch.Tensor]:
        """Frames (N, 3, H, W) in [0, 1] -> each trunk block's output (N, C_i, s_i, s_i), finest first."""
        x = (self.prepare(frames) - 0.5) * 2.0
        features = []
        for block in self.trunk:
            x = block(x)
            features.append(x)
        return features

    def forward(self, frames: torch.Tensor) -> TeacherOutput:
        features = self.neck(self.trunk_features(frames)[-1])  # (N, hidden)
        logits = self.emotion_head(features)
        return TeacherOutput(
            identity=self.identity_head(features).sigmoid(),
            emotion_probs=logits.softmax(dim=-1),
            mouth_open=self.mouth_head(features)[:, 0].sigmoid(),
            emotion_logits=logits,
        )

    def train(self, mode: bool = True) -> SynthTalkTeacher:
        """Unlike the pretrained teachers this one is trained here; with group norm, both modes compute the same."""
        return nn.Module.train(self, mode)

    @torch.no_grad()
    def predict(self, frames: torch.Tensor, batch_size: int = 64) -> TeacherOutput:
        """`forward` in batches of `batch_size` without gradients."""
        if len(frames) == 0:
            return TeacherOutput(torch.zeros(0, self.output_dim), torch.zeros(0, len(self.classes)),
                                 torch.zeros(0), torch.zeros(0, len(self.classes)))
        return TeacherOutput.cat([self(frames[start:start + batch_size]) for start in range(0, len(frames), batch_size)])

    def save_pretrained(self, directory: str | Path, dtype: torch.dtype = torch.float16) -> None:
        """Write config.json and model.safetensors (weights cast to `dtype`)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_NAME).write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        state = {name: tensor.detach().to(dtype).contiguous() for name, tensor in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_NAME))
        (directory / WEIGHTS_NAME).chmod(0o644)  # safetensors creates the file readable by its owner only

    @classmethod
    def from_pretrained(cls, directory: str | Path = PRETRAINED) -> SynthTalkTeacher:
        """Load a saved teacher (fp32, frozen, eval mode); default: the released weights."""
        from safetensors.torch import load_file

        directory = Path(directory)
        config = json.loads((directory / CONFIG_NAME).read_text())
        teacher = cls(SynthTalkTeacherConfig(**{**config, "channels": tuple(config["channels"])}))
        teacher.load_state_dict({name: t.float() for name, t in load_file(str(directory / WEIGHTS_NAME)).items()})
        teacher.requires_grad_(False)
        return teacher.eval()
