"""Emotions: each changes prosody (pitch, range, rate, volume, voice quality) and the facial expression."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Emotion:
    """At full intensity. Multipliers (pitch, range, rate, volume) are raised to the intensity;
    additive terms (breath, roughness, expression) are scaled by it."""

    pitch: float = 1.0
    pitch_range: float = 1.0
    rate: float = 1.0
    volume: float = 1.0
    breath: float = 0.0
    roughness: float = 0.0
    smile: float = 0.0        # mouth corners: + up, - down
    brow_raise: float = 0.0   # + raised, - lowered
    brow_tilt: float = 0.0    # + inner ends up (sad, fear), - inner ends down (anger)
    eye_open: float = 0.0     # + wide, - narrowed
    mouth_open: float = 0.0   # resting jaw drop
    head_energy: float = 1.0  # head motion amplitude (multiplier)
    blink_rate: float = 1.0   # blink frequency (multiplier)


EMOTIONS: dict[str, Emotion] = {
    "neutral": Emotion(),
    "happy": Emotion(pitch=1.12, pitch_range=1.4, rate=1.06, volume=1.15, smile=0.9, brow_raise=0.25,
                     eye_open=-0.2, head_energy=1.4),
    "sad": Emotion(pitch=0.88, pitch_range=0.55, rate=0.8, volume=0.65, breath=3.0, smile=-0.7, brow_tilt=0.9,
                   eye_open=-0.3, head_energy=0.5, blink_rate=0.8),
    "angry": Emotion(pitch=1.05, pitch_range=1.25, rate=1.12, volume=1.5, roughness=3.0, smile=-0.5,
                     brow_raise=-0.6, brow_tilt=-1.0, eye_open=-0.15, head_energy=1.7),
    "surprised": Emotion(pitch=1.28, pitch_range=1.7, rate=0.95, volume=1.2, smile=0.1, brow_raise=1.0,
                         eye_open=0.45, mouth_open=0.3, head_energy=1.1, blink_rate=0.6),
    "fearful": Emotion(pitch=1.2, pitch_range=0.8, rate=1.18, volume=0.8, breath=2.0, smile=-0.35, brow_raise=0.6,
                       brow_tilt=0.7, eye_open=0.35, mouth_open=0.12, head_energy=0.8, blink_rate=1.6),
}
