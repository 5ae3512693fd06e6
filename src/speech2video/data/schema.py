"""The corpus schema shared by SynthTalk and the real-video corpora, so training reads both the same way.

Every corpus is a `datasets.DatasetDict` saved with `save_to_disk`; each row is one clip:

| column | type | meaning |
|---|---|---|
| clip_id | string | unique within the corpus |
| speaker_id | string | who speaks (for splits and evaluation only) |
| audio | int16 list | the speech, mono, at `sampling_rate` |
| sampling_rate | int32 | 16000 |
| video | binary | mp4 (H.264) of aligned face crops, `image_size` square, at `fps` |
| fps, num_frames, image_size | float32, int32, int32 | |
| text | string | transcript ("" when unknown) |
| emotion | string | label for evaluation only ("" when unknown) |

SynthTalk adds its ground truth: identity (float32 list, see `synthtalk.IDENTITY_DIMENSIONS`), gender,
accent, intensity, phonemes and phoneme_times (s), and per frame mouth_open, mouth_width, viseme, blink,
head_pose (yaw, pitch, roll in degrees).
"""

from __future__ import annotations

import numpy as np
from datasets import Features, Sequence, Value

from ..video import encode_mp4, read_video

FPS = 25.0  # every corpus stores video at this rate
SPLIT_FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}

COMMON_FEATURES = {
    "clip_id": Value("string"),
    "speaker_id": Value("string"),
    "audio": Sequence(Value("int16")),
    "sampling_rate": Value("int32"),
    "video": Value("binary"),
    "fps": Value("float32"),
    "num_frames": Value("int32"),
    "image_size": Value("int32"),
    "text": Value("string"),
    "emotion": Value("string"),
}


def synthtalk_features(identity_dim: int) -> Features:
    return Features({
        **COMMON_FEATURES,
        "identity": Sequence(Value("float32"), length=identity_dim),
        "gender": Value("string"),
        "accent": Value("string"),
        "intensity": Value("float32"),
        "phonemes": Sequence(Value("string")),
        "phoneme_times": Sequence(Value("float32")),
        "mouth_open": Sequence(Value("float32")),
        "mouth_width": Sequence(Value("float32")),
        "viseme": Sequence(Value("int8")),
        "blink": Sequence(Value("float32")),
        "head_pose": Sequence(Sequence(Value("float32"), length=3)),
    })


def audio_to_int16(audio: np.ndarray) -> np.ndarray:
    return np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)


def encode_clip_row(clip, clip_id: str, fps: float) -> dict:
    """A SynthTalk clip -> one row of the schema."""
    return {
        "clip_id": clip_id,
        "speaker_id": f"synthtalk-{clip.speaker.speaker_id:05d}",
        "audio": audio_to_int16(clip.audio),
        "sampling_rate": 16_000,
        "video": encode_mp4(clip.frames, fps),
        "fps": fps,
        "num_frames": len(clip.frames),
        "image_size": clip.frames.shape[1],
        "text": clip.text,
        "emotion": clip.emotion,
        "identity": clip.speaker.identity,
        "gender": clip.speaker.voice.gender,
        "accent": f"festival:{clip.festival_voice}" if clip.festival_voice else clip.speaker.voice.accent,
        "intensity": clip.intensity,
        "phonemes": clip.phonemes,
        "phoneme_times": np.asarray(clip.phoneme_times, np.float32),
        "mouth_open": clip.mouth_open,
        "mouth_width": clip.mouth_width,
        "viseme": clip.viseme,
        "blink": clip.blink,
        "head_pose": clip.head_pose,
    }


def decode_audio(row: dict) -> np.ndarray:
    """The row's speech as float32 in [-1, 1], (n,)."""
    return np.asarray(row["audio"], dtype=np.float32) / 32767.0


def decode_frames(row: dict, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The row's face frames `start` .. `stop` (default: all), (T, S, S, 3) uint8."""
    frames, _ = read_video(row["video"], start, stop)
    return frames
