"""Stage 2 critics, used only while training the generator (`examples/train_generator.py`).

    FrameDiscriminator     frames (N, 3, S, S) + condition [identity (N, D), emotion probs (N, E)] -> score (N,)
                           projection discriminator (Miyato & Koyama 2018): score = w.h + <embed(condition), h>
    SequenceDiscriminator  frames (B, T, 3, S, S) + audio windows (B, T, n_mels, 20) -> score (B,)
                           is this a real clip of T frames, moving naturally and with this audio?
    sync discriminator     `evaluation.sync.SyncExpert` (mouth windows vs audio windows, trained with InfoNCE
                           against shifts of >= 2 frames); a separate instance from the one used for evaluation
    MotionEncoder          upper face of real frames (N, 3, S, S) -> motion posterior (mean, log-variance) (N, M)
                           (grey, the mouth cut away: lip shape and colours cannot leak into the motion codes)
    MotionDiscriminator    motion code sequences (B, T, M) -> score (B,): teaches the seeded noise process the
                           dynamics (blinks, head motion) of the codes the encoder reads from real video

Scores are unbounded logits for the hinge loss; discriminator weights are spectrally normalised.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

MOTION_CROP = 0.55  # the motion encoder sees the top 55 % of the face crop: eyes, brows and head outline


def _down(in_channels: int, out_channels: int) -> nn.Sequential:
    """(N, C, H, W) -> (N, C', H/2, W/2)."""
    return nn.Sequential(spectral_norm(nn.Conv2d(in_channels, out_channels, 4, 2, 1)), nn.LeakyReLU(0.2))


def _image_encoder(channels: tuple[int, ...]) -> nn.Sequential:
    """(N, 3, H, W) -> (N, channels[-1]) by strided convs and a global sum."""
    layers = [_down(c_in, c_out) for c_in, c_out in zip((3, *channels[:-1]), channels)]
    return nn.Sequential(*layers, nn.Flatten(2), _Sum())


class _Sum(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=-1)


class FrameDiscriminator(nn.Module):
    """Is this a real face frame of the given identity and emotion? frames at 64 px (resized if larger)."""

    def __init__(self, condition_dim: int, channels: tuple[int, ...] = (32, 64, 128, 256), input_size: int = 64):
        super().__init__()
        self.input_size = input_size
        self.encoder = _image_encoder(channels)
        self.output = spectral_norm(nn.Linear(channels[-1], 1))
        self.embed = spectral_norm(nn.Linear(condition_dim, channels[-1], bias=False))

    def forward(self, frames: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """frames (N, 3, S, S) in [0, 1], condition (N, condition_dim) -> scores (N,)."""
        features = self.encoder(_resize(frames, self.input_size) * 2 - 1)  # (N, C)
        return self.output(features).squeeze(-1) + (self.embed(condition) * features).sum(dim=-1)


class SequenceDiscriminator(nn.Module):
    """Is this a real run of T frames that goes with its audio? Frames at 32 px, audio as log-mel windows."""

    def __init__(self, n_mels: int = 40, audio_window: int = 20, channels: tuple[int, ...] = (32, 64, 128),
                 hidden_size: int = 128, input_size: int = 32):
        super().__init__()
        self.input_size = input_size
        self.frame_encoder = _image_encoder(channels)
        self.audio_encoder = nn.Sequential(nn.Flatten(), spectral_norm(nn.Linear(n_mels * audio_window, hidden_size)),
                                           nn.LeakyReLU(0.2))
        self.temporal = nn.Sequential(
            spectral_norm(nn.Conv1d(channels[-1] + hidden_size, hidden_size, 3, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv1d(hidden_size, hidden_size, 3, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv1d(hidden_size, 1, 1)),
        )

    def forward(self, frames: torch.Tensor, audio_windows: torch.Tensor) -> torch.Tensor:
        """frames (B, T, 3, S, S) in [0, 1], audio_windows (B, T, n_mels, 20) -> scores (B,)."""
        batch, length = frames.shape[:2]
        video = self.frame_encoder(_resize(frames.flatten(0, 1), self.input_size) * 2 - 1).unflatten(0, (batch, length))
        audio = self.audio_encoder(audio_windows.flatten(0, 1)).unflatten(0, (batch, length))
        return self.temporal(torch.cat([video, audio], dim=-1).transpose(1, 2)).mean(dim=(1, 2))


class MotionEncoder(nn.Module):
    """Upper face (N, 3, S, S) -> motion posterior mean and log-variance, each (N, motion_dim)."""

    def __init__(self, motion_dim: int, channels: tuple[int, ...] = (16, 32, 64, 128), input_size: int = 64):
        super().__init__()
        self.input_size = input_size
        layers = [nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), nn.GroupNorm(8, c_out), nn.SiLU())
                  for c_in, c_out in zip((1, *channels[:-1]), channels)]
        self.encoder = nn.Sequential(*layers, nn.AdaptiveAvgPool2d((2, 4)), nn.Flatten())
        self.output = nn.Linear(channels[-1] * 8, 2 * motion_dim)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        top = frames[:, :, : round(MOTION_CROP * frames.shape[2])].mean(dim=1, keepdim=True)  # grey
        top = F.interpolate(top, size=(self.input_size // 2, self.input_size), mode="bilinear", antialias=True,
                            align_corners=False)
        mean, log_variance = self.output(self.encoder(top * 2 - 1)).chunk(2, dim=-1)
        return mean, log_variance.clamp(-8, 4)


class MotionDiscriminator(nn.Module):
    """Real (encoded) vs sampled motion code sequences (B, T, motion_dim) -> scores (B,)."""

    def __init__(self, motion_dim: int, hidden_size: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            spectral_norm(nn.Conv1d(motion_dim, hidden_size, 5, padding=2)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv1d(hidden_size, hidden_size, 5, padding=4, dilation=2)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv1d(hidden_size, hidden_size, 5, padding=8, dilation=4)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv1d(hidden_size, 1, 1)),
        )

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        return self.net(motion.transpose(1, 2)).mean(dim=(1, 2))


def _resize(frames: torch.Tensor, size: int) -> torch.Tensor:
    if frames.shape[-1] == size:
        return frames
    return F.interpolate(frames, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def hinge_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def hinge_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()
