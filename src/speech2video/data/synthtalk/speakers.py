"""Speakers: a seeded latent drives an espeak-ng voice and, through the same latent, part of the face."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from .emotions import Emotion

# English accents of espeak-ng; each has its own skin-tone centre (accent -> skin tone is a voice-linked cue).
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
ACCENT_SKIN_TONE = np.linspace(0.1, 0.9, len(ACCENTS))[[3, 6, 0, 4, 7, 1, 5, 2]]
HAIR_STYLES = ("short", "long", "bun", "bald", "curly")

# (name, voice_linked): the identity vector's dimensions, each in [0, 1].
IDENTITY_DIMENSIONS = (
    ("gender", True),          # 0 male, 1 female
    ("face_size", True),       # <- vocal-tract length (formant scaling)
    ("jaw_width", True),       # <- gender and pitch
    ("eye_size", True),        # <- pitch level
    ("skin_tone", True),       # <- accent
    ("brow_thickness", True),  # <- gender and roughness
    ("lip_fullness", True),    # <- breathiness
    ("nose_length", True),     # <- pitch range
    ("hair_style", False),     # control dimensions: drawn independently of the voice
    ("hair_hue", False),
    ("hair_lightness", False),
    ("shirt_hue", False),
    ("background_hue", False),
    ("eye_hue", False),
)
IDENTITY_NAMES = tuple(name for name, _ in IDENTITY_DIMENSIONS)
VOICE_LINKED = np.array([linked for _, linked in IDENTITY_DIMENSIONS])


@dataclass(frozen=True)
class Voice:
    """espeak-ng voice parameters (before emotion)."""

    accent: str
    gender: str
    pitch_hz: float         # base pitch
    pitch_top_hz: float     # top of the pitch range
    formant_percent: float  # formant frequency scaling (vocal-tract length)
    formant_shape: tuple    # per-formant (F1..F5) relative offsets: the vowel colour of this voice
    tilt: float             # spectral tilt, > 0 brighter
    breath: float           # breathiness, 0..10
    roughness: float        # 0..7
    words_per_minute: float

    def expressing(self, emotion: Emotion, strength: float) -> Voice:
        """This voice speaking with `emotion` at `strength` (0..1): pitch, range and rate scaled, breath and
        roughness added. (The emotion's loudness is applied to the waveform: `Emotion.volume`.)"""
        pitch_scale = emotion.pitch**strength
        return replace(
            self,
            pitch_hz=self.pitch_hz * pitch_scale,
            pitch_top_hz=self.pitch_hz * pitch_scale
            + (self.pitch_top_hz - self.pitch_hz) * pitch_scale * emotion.pitch_range**strength,
            breath=self.breath + strength * emotion.breath,
            roughness=self.roughness + strength * emotion.roughness,
            words_per_minute=self.words_per_minute * emotion.rate**strength,
        )


@dataclass(frozen=True)
class Speaker:
    """A SynthTalk speaker: `identity` (len(IDENTITY_DIMENSIONS),) in [0, 1] and the `voice` it implies."""

    speaker_id: int
    identity: np.ndarray
    voice: Voice

    @classmethod
    def from_seed(cls, speaker_id: int, seed: int = 0) -> Speaker:
        rng = np.random.default_rng([seed, 1, speaker_id])
        female = int(rng.random() < 0.5)
        vtl, pitch, pitch_range, breath, rough, speed, tilt = np.clip(rng.standard_normal(7), -2.5, 2.5)
        accent = int(rng.integers(len(ACCENTS)))
        noise = 0.3 * rng.standard_normal(8)  # the face follows the voice statistically, not exactly
        sex = 2 * female - 1  # -1 male, +1 female
        identity = np.array([
            female,
            norm.cdf(vtl + noise[1]),
            norm.cdf(-0.9 * sex - 0.5 * pitch + noise[2]),
            norm.cdf(0.9 * pitch + 0.5 * sex + noise[3]),
            np.clip(ACCENT_SKIN_TONE[accent] + 0.04 * noise[4], 0, 1),
            norm.cdf(-0.9 * sex + 0.7 * rough + noise[5]),
            norm.cdf(breath + noise[6]),
            norm.cdf(pitch_range + noise[7]),
            rng.integers(len(HAIR_STYLES)) / (len(HAIR_STYLES) - 1),
            *rng.random(5),
        ])
        # espeak-ng's intonation runs ~1.4x above the base pitch: these bases give median F0s near those of
        # adult read speech (LibriSpeech: ~207 Hz women, ~125 Hz men, measured with `speech2video.pitch`)
        base = (148.0 if female else 89.0) * np.exp(0.14 * pitch)
        voice = Voice(
            accent=ACCENTS[accent],
            gender="female" if female else "male",
            pitch_hz=base,
            pitch_top_hz=base * (1.55 + 0.3 * pitch_range),
            formant_percent=(111.0 if female else 99.0) - 5.0 * vtl,
            formant_shape=tuple(float(x) for x in np.clip(0.09 * rng.standard_normal(5), -0.2, 0.2)),
            tilt=tilt,
            breath=float(np.clip(2.5 + 2.0 * breath, 0, 10)),
            roughness=float(np.clip(1.5 + 1.2 * rough, 0, 7)),
            words_per_minute=160.0 * np.exp(0.1 * speed),
        )
        return cls(speaker_id=speaker_id, identity=identity.astype(np.float32), voice=voice)

    @property
    def hair_style(self) -> str:
        return HAIR_STYLES[round(float(self.identity[IDENTITY_NAMES.index("hair_style")]) * (len(HAIR_STYLES) - 1))]

    def attribute(self, name: str) -> float:
        return float(self.identity[IDENTITY_NAMES.index(name)])
