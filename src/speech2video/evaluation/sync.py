"""A SyncNet-style lip-sync expert: do these mouth movements go with this audio, and at what offset?

    audio window: log-mel (n_mels, 20), 0.2 s centred on video frame t   -> audio encoder  -> a_t (D,), unit norm
    video window: grey mouth crops (5, 32, 64) of frames t-2 .. t+2      -> visual encoder -> v_t (D,), unit norm
    in sync  <=>  high cosine similarity v_t . a_t  (small distance |v_t - a_t|)

Training is contrastive (InfoNCE): each video window must pick its own audio window among the same clip's
windows shifted by 2 frames or more. `sync_offset_confidence` then scores a clip the LSE-D / LSE-C way.
Audio is mono float32 at 16 kHz, video is 25 fps face crops (T, H, W, 3), uint8 or float in [0, 1].
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError
from .image import LUMA, as_float_frames
from .mel import log_mel_spectrogram

SAMPLING_RATE, FPS = 16_000, 25
HOP_LENGTH = 160  # 100 mel frames per second, 4 per video frame
MELS_PER_FRAME = SAMPLING_RATE // HOP_LENGTH // FPS
AUDIO_WINDOW = 20  # mel frames: 0.2 s
VIDEO_WINDOW = 5  # video frames: 0.2 s
FACE_SIZE = 64  # face crops are resized to 64 x 64 and the lower half (32 x 64) is the mouth crop
MIN_NEGATIVE_SHIFT = 2  # training negatives are at least this many frames away (1 frame is nearly in sync)


def audio_windows(audio, num_frames: int, n_mels: int = 40) -> torch.Tensor:
    """The 0.2 s log-mel window centred on each of `num_frames` video frames: (num_frames, n_mels, 20).

    The log-mel is standardised over the clip (loudness-independent); audio missing at either end is silence.
    """
    mel = log_mel_spectrogram(audio, SAMPLING_RATE, hop_length=HOP_LENGTH, n_mels=n_mels)  # (N, n_mels)
    mel = ((mel - mel.mean()) / (mel.std() + 1e-5)).T  # (n_mels, N)
    starts = torch.arange(num_frames) * MELS_PER_FRAME + MELS_PER_FRAME // 2 - AUDIO_WINDOW // 2
    index = starts[:, None] + torch.arange(AUDIO_WINDOW)  # (T, 20) mel frames, possibly outside the audio
    pad_left, pad_right = AUDIO_WINDOW, max(0, int(index.max()) + 1 - mel.shape[1])
    mel = F.pad(mel, (pad_left, pad_right), value=float(mel.min()))
    return mel[:, index + pad_left].permute(1, 0, 2).contiguous()


def video_windows(frames) -> torch.Tensor:
    """Grey mouth crops of frames t-2 .. t+2 for each frame t of face crops (T, H, W, 3): (T, 5, 32, 64).

    Each face crop is resized to 64 x 64; its lower half, shifted to [-0.5, 0.5], is the mouth crop.
    Frames before the start or after the end repeat the first or last frame.
    """
    rgb = torch.from_numpy(as_float_frames(frames)).float().permute(0, 3, 1, 2)  # (T, 3, H, W)
    mouths = mouth_crops(rgb)  # (T, 32, 64)
    index = torch.arange(len(mouths))[:, None] + torch.arange(VIDEO_WINDOW) - VIDEO_WINDOW // 2
    return mouths[index.clamp(0, len(mouths) - 1)]


def mouth_crops(frames: torch.Tensor) -> torch.Tensor:
    """Face crops (N, 3, H, W) float in [0, 1] -> grey mouth crops (N, 32, 64) in [-0.5, 0.5] (differentiable).

    Each crop is resized to 64 x 64 and its lower half kept.
    """
    grey = torch.einsum("nchw,c->nhw", frames, frames.new_tensor(LUMA))[:, None]  # (N, 1, H, W)
    grey = F.interpolate(grey, size=(FACE_SIZE, FACE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return grey[:, 0, FACE_SIZE // 2 :] - 0.5


def _conv(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, padding=1), nn.ReLU())


class SyncExpert(nn.Module):
    """Audio and visual encoders into a shared embedding space of unit vectors (embed_dim,)."""

    def __init__(self, n_mels: int = 40, embed_dim: int = 64, channels: int = 32):
        super().__init__()
        self.config = dict(n_mels=n_mels, embed_dim=embed_dim, channels=channels)
        self.audio_encoder = nn.Sequential(  # (B, 1, n_mels, 20) -> (B, embed_dim)
            _conv(1, channels, 2), _conv(channels, 2 * channels, 2),
            nn.Flatten(), nn.Linear(2 * channels * ((n_mels + 3) // 4) * (AUDIO_WINDOW // 4), embed_dim),
        )
        self.visual_encoder = nn.Sequential(  # (B, 5, 32, 64) -> (B, embed_dim)
            _conv(VIDEO_WINDOW, channels, 2), _conv(channels, channels, 2), _conv(channels, 2 * channels, 2),
            nn.Flatten(), nn.Linear(2 * channels * (FACE_SIZE // 16) * (FACE_SIZE // 8), embed_dim),
        )

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """Audio windows (B, n_mels, 20) from `audio_windows` -> unit embeddings (B, embed_dim)."""
        return F.normalize(self.audio_encoder(windows[:, None]), dim=-1)

    def embed_video(self, windows: torch.Tensor) -> torch.Tensor:
        """Mouth-crop windows (B, 5, 32, 64) from `video_windows` -> unit embeddings (B, embed_dim)."""
        return F.normalize(self.visual_encoder(windows), dim=-1)

    def forward(self, audio_windows: torch.Tensor, video_windows: torch.Tensor) -> torch.Tensor:
        """Cosine similarity (B,) of matching audio and video windows: near 1 in sync, lower out of sync."""
        return (self.embed_audio(audio_windows) * self.embed_video(video_windows)).sum(dim=-1)

    def save(self, path) -> None:
        """Write the weights and the constructor arguments to one safetensors file."""
        from safetensors.torch import save_file

        tensors = {name: tensor.contiguous() for name, tensor in self.state_dict().items()}
        save_file(tensors, str(path), metadata={"config": json.dumps(self.config)})

    @classmethod
    def load(cls, path) -> SyncExpert:
        """Read a file written by `save` (safetensors only) into an expert in eval mode."""
        from safetensors import SafetensorError, safe_open

        if not Path(path).is_file():
            raise CheckpointError(f"sync expert file not found: {path}")
        try:
            with safe_open(str(path), framework="pt") as file:
                config = json.loads((file.metadata() or {})["config"])
                tensors = {name: file.get_tensor(name) for name in file.keys()}
        except (SafetensorError, KeyError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{path} is not a sync expert saved with SyncExpert.save ({error})") from None
        expert = cls(**config)
        expert.load_state_dict(tensors)
        return expert.eval()


def train_sync_expert(clips, steps: int = 300, batch_size: int = 32, max_shift: int = 8, temperature: float = 0.1,
                      learning_rate: float = 1e-3, seed: int = 0, expert: SyncExpert | None = None) -> SyncExpert:
    """Train (or continue training) a sync expert on in-sync clips, (audio (L,), frames (T, H, W, 3)) pairs
    (a list, or any iterable read once).

    Each step draws `batch_size` random frames t; the video window at t is scored against the audio windows
    at t + s for s = 0 and every shift 2 <= |s| <= `max_shift` of the same clip, and InfoNCE (cross-entropy
    of similarity / `temperature`, target s = 0) teaches it to pick s = 0. Clips need > 2 * max_shift frames.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    expert = SyncExpert() if expert is None else expert
    data = [(audio_windows(audio, len(frames), expert.config["n_mels"]), video_windows(frames)) for audio, frames in clips]
    if not data or min(len(video) for _, video in data) <= 2 * max_shift:
        raise ValueError(f"need at least one clip, each longer than 2 * max_shift = {2 * max_shift} frames")
    shifts = torch.tensor([0] + [s for s in range(-max_shift, max_shift + 1) if abs(s) >= MIN_NEGATIVE_SHIFT])
    optimizer = torch.optim.Adam(expert.parameters(), lr=learning_rate)
    expert.train()
    for _ in range(steps):
        audio, video = [], []
        for clip in rng.integers(len(data), size=batch_size):
            clip_audio, clip_video = data[clip]
            t = int(rng.integers(max_shift, len(clip_video) - max_shift))
            audio.append(clip_audio[t + shifts])
            video.append(clip_video[t])
        audio_embeds = expert.embed_audio(torch.cat(audio)).view(batch_size, len(shifts), -1)
        video_embeds = expert.embed_video(torch.stack(video))
        logits = torch.einsum("bd,bsd->bs", video_embeds, audio_embeds) / temperature
        loss = F.cross_entropy(logits, torch.zeros(batch_size, dtype=torch.long))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return expert.eval()


@torch.no_grad()
def sync_distances(expert: SyncExpert, audio, frames, max_offset: int = 15, batch_size: int = 256):
    """Mean audio-video embedding distance at each offset: (offsets (2 * max_offset + 1,), distances (same,)).

    At offset k, video frame t + k is compared with the audio at frame t, over all frames where both
    exist; distances are Euclidean between unit embeddings, range [0, 2], lower is closer. Offsets are
    limited to half the clip, so that each distance averages over at least half of its frames.
    """
    expert.eval()
    num_frames = len(frames)
    max_offset = min(max_offset, num_frames // 2)
    video_input = video_windows(frames)
    audio_input = audio_windows(audio, num_frames, expert.config["n_mels"])
    video = torch.cat([expert.embed_video(chunk) for chunk in video_input.split(batch_size)])
    sound = torch.cat([expert.embed_audio(chunk) for chunk in audio_input.split(batch_size)])
    offsets = np.arange(-max_offset, max_offset + 1)
    distances = np.array([
        (video[max(0, k) : num_frames + min(0, k)] - sound[max(0, -k) : num_frames - max(0, k)]).norm(dim=1).mean().item()
        for k in offsets
    ])
    return offsets, distances


def sync_offset_confidence(expert: SyncExpert, audio, frames, max_offset: int = 15) -> tuple[int, float]:
    """Audio-video offset of a clip and how sure the expert is: (offset in frames, confidence).

    The offset is the shift with the smallest mean distance (`sync_distances`): how many frames the video
    lags behind the audio (negative: the video is early); 0 is in sync. Confidence is the median distance
    over offsets minus the smallest (LSE-C); range [0, 2], higher means a clearer, more trustworthy sync.
    The smallest distance itself is LSE-D.
    """
    offsets, distances = sync_distances(expert, audio, frames, max_offset)
    best = int(np.argmin(distances))
    return int(offsets[best]), float(np.median(distances) - distances[best])
