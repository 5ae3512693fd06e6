"""Per-frame animation from phoneme timings: mouth (visemes + coarticulation + bilabial closure),
blinks and head motion. All trajectories are sampled at video frame centres, (i + 0.5) / fps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

# viseme name -> (mouth opening 0..1, mouth width -1 pursed .. +1 spread)
VISEMES = {
    "silence": (0.0, 0.0),
    "p_b_m": (0.0, 0.0),
    "f_v": (0.12, 0.1),
    "th": (0.2, 0.1),
    "t_d_n_l": (0.25, 0.15),
    "k_g_ng": (0.3, 0.05),
    "s_z": (0.12, 0.35),
    "sh_ch": (0.2, -0.45),
    "r": (0.2, -0.35),
    "w": (0.12, -0.7),
    "y": (0.15, 0.35),
    "h": (0.35, 0.0),
    "open_vowel": (0.9, 0.1),
    "mid_vowel": (0.55, 0.35),
    "close_vowel": (0.25, 0.55),
    "round_vowel": (0.45, -0.6),
}
VISEME_NAMES = tuple(VISEMES)
BILABIALS = ("p", "b", "m")
STOP_CLOSURE_S = 0.06      # espeak reports stops at their release: the lips close this long before
MIN_CLOSURE_S = 0.05
RATE_HZ = 200              # internal time grid of the trajectories
COARTICULATION_S = 0.018   # Gaussian smoothing of the viseme targets


def viseme_of(phoneme: str) -> str:
    """Map an espeak-ng English phoneme mnemonic to a viseme name."""
    p = phoneme.strip()
    if not p or p[0] == "_":
        return "silence"
    rules = (
        (("p", "b", "m"), "p_b_m"), (("f", "v"), "f_v"), (("T", "D"), "th"), (("tS", "dZ", "S", "Z"), "sh_ch"),
        (("t", "d", "n", "l"), "t_d_n_l"), (("k", "g", "N", "x", "?"), "k_g_ng"), (("s", "z"), "s_z"),
        (("r",), "r"), (("w",), "w"), (("j",), "y"), (("h",), "h"), (("a", "A", "V"), "open_vowel"),
        (("E", "e", "@", "3"), "mid_vowel"), (("i", "I"), "close_vowel"), (("O", "o", "0", "U", "u"), "round_vowel"),
    )
    for prefixes, viseme in rules:
        if p.startswith(prefixes):
            return viseme
    return "mid_vowel"


def closure_intervals(phonemes: list[str], times: list[float], duration: float) -> list[tuple[float, float]]:
    """(start, end) seconds during which the lips are closed, one per p/b/m phoneme."""
    intervals = []
    ends = [*times[1:], duration]
    for i, (phoneme, start, end) in enumerate(zip(phonemes, times, ends)):
        if phoneme not in BILABIALS:
            continue
        if phoneme == "m":
            lo, hi = start, end
        else:  # stop: closed before the reported release, open just after it
            previous_middle = (times[i - 1] + start) / 2 if i else 0.0
            lo, hi = max(start - STOP_CLOSURE_S, previous_middle), start + 0.01
        if hi - lo < MIN_CLOSURE_S:
            middle = (lo + hi) / 2
            lo, hi = middle - MIN_CLOSURE_S / 2, middle + MIN_CLOSURE_S / 2
        intervals.append((max(lo, 0.0), min(hi, duration)))
    return intervals


@dataclass
class MouthTrack:
    """Per frame: opening (T,) 0..1, width (T,) -1..1, viseme id (T,) index into VISEME_NAMES."""

    opening: np.ndarray
    width: np.ndarray
    viseme: np.ndarray


def mouth_track(phonemes: list[str], times: list[float], duration: float, num_frames: int, fps: float,
                resting_open: float = 0.0) -> MouthTrack:
    """Viseme targets held over each phoneme, smoothed (coarticulation), gated shut on bilabial closures."""
    grid = np.arange(int(np.ceil(duration * RATE_HZ)) + 1) / RATE_HZ
    index = np.searchsorted(np.asarray(times), grid, side="right") - 1  # phoneme active at each instant (-1: before)
    names = [viseme_of(p) for p in phonemes]
    targets = np.array([VISEMES[n] for n in names] + [VISEMES["silence"]])  # last row: before the first phoneme
    opening, width = targets[index].T
    opening = gaussian_filter1d(opening, COARTICULATION_S * RATE_HZ)
    width = gaussian_filter1d(width, COARTICULATION_S * RATE_HZ)
    opening = resting_open + (1 - resting_open) * opening

    gate = np.ones_like(grid)
    for lo, hi in closure_intervals(phonemes, times, duration):
        ramp_in = np.clip((lo - grid) / 0.03, 0, 1)  # 30 ms ramps into and out of the closure
        ramp_out = np.clip((grid - hi) / 0.03, 0, 1)
        gate = np.minimum(gate, np.maximum(ramp_in, ramp_out))
    opening = opening * gate

    centres = (np.arange(num_frames) + 0.5) / fps
    frame_index = np.searchsorted(np.asarray(times), centres, side="right") - 1
    viseme_ids = np.array([VISEME_NAMES.index(n) for n in names] + [0])[frame_index]
    return MouthTrack(
        opening=np.interp(centres, grid, opening).astype(np.float32),
        width=np.interp(centres, grid, width).astype(np.float32),
        viseme=viseme_ids.astype(np.int8),
    )


BLINK_SHAPE = np.array([0.35, 0.85, 1.0, 0.6, 0.25])
BLINKS_PER_MINUTE = 17.0


def blink_track(num_frames: int, fps: float, rng: np.random.Generator, rate_multiplier: float = 1.0) -> np.ndarray:
    """Eye closure per frame (T,) 0 open .. 1 shut, blinks as a Poisson process with a refractory gap."""
    closure = np.zeros(num_frames + len(BLINK_SHAPE), np.float32)
    mean_gap = 60.0 * fps / (BLINKS_PER_MINUTE * rate_multiplier)
    t = rng.exponential(mean_gap) * rng.random()  # start at a random phase of the process
    while t < num_frames:
        start = int(t)
        closure[start : start + len(BLINK_SHAPE)] = np.maximum(closure[start : start + len(BLINK_SHAPE)], BLINK_SHAPE)
        t += len(BLINK_SHAPE) + rng.exponential(mean_gap)
    return closure[:num_frames]


HEAD_SCALE_DEGREES = np.array([4.0, 2.5, 2.0])  # yaw, pitch, roll


def head_track(num_frames: int, energy: np.ndarray, rng: np.random.Generator, head_energy: float = 1.0) -> np.ndarray:
    """Head pose per frame (T, 3) in degrees (yaw, pitch, roll): smooth AR(1) drift plus speech-driven nods."""
    a = 0.93
    pose = np.zeros((num_frames, 3))
    state = rng.standard_normal(3)
    for t in range(num_frames):
        state = a * state + np.sqrt(1 - a * a) * rng.standard_normal(3)
        pose[t] = state
    nod = gaussian_filter1d(energy - energy.mean(), 2.0) / (energy.std() + 1e-6)
    pose[:, 1] += 0.5 * nod
    return (pose * HEAD_SCALE_DEGREES * head_energy).astype(np.float32)
