"""Motion metrics from per-frame signals: lip-sync correlation, blink rate, mouth landmark distance, lip gap."""

from __future__ import annotations

import numpy as np


def mouth_opening_correlation(predicted, truth):
    """Pearson correlation over frames between predicted and true mouth opening, arrays (..., T).

    Returns a float for one clip (T,), or one value per clip for (N, T). Range [-1, 1], higher is better;
    a clip whose predicted or true signal is constant (a frozen mouth) scores 0.
    """
    predicted, truth = np.asarray(predicted, np.float64), np.asarray(truth, np.float64)
    if predicted.shape != truth.shape or predicted.shape[-1] < 2:
        raise ValueError(f"need two signals of equal shape (..., T) with T >= 2, got {predicted.shape} and {truth.shape}")
    predicted = predicted - predicted.mean(axis=-1, keepdims=True)
    truth = truth - truth.mean(axis=-1, keepdims=True)
    scale = np.sqrt((predicted**2).sum(axis=-1) * (truth**2).sum(axis=-1))
    covariance = (predicted * truth).sum(axis=-1)
    correlation = np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 1e-12)
    return float(correlation) if correlation.ndim == 0 else correlation


def blink_rate(eye_openness, fps: float = 25.0, threshold: float = 0.5, min_frames: int = 1, max_frames: int = 10) -> float:
    """Blinks per minute in a per-frame eye-openness signal (T,).

    The clip's open level is the median openness (eyes are open most of the time); a blink is a run of
    `min_frames` to `max_frames` consecutive frames below `threshold` x that level (longer runs are eyes
    kept shut, not blinks). Range [0, inf); compare with real footage (people blink about 15-20 times a minute).
    """
    openness = np.asarray(eye_openness, np.float64)
    if openness.ndim != 1 or openness.size == 0:
        raise ValueError(f"eye_openness must be a non-empty 1-D signal, got shape {openness.shape}")
    closed = np.concatenate([[False], openness < threshold * np.median(openness), [False]])
    edges = np.diff(closed.astype(np.int8))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)  # each closed run's length in frames
    blinks = np.count_nonzero((lengths >= min_frames) & (lengths <= max_frames))
    return blinks / (openness.size / fps) * 60.0


def landmark_distance(predicted_landmarks, real_landmarks, center: bool = True) -> float:
    """Landmark distance (LMD): mean Euclidean distance between matching landmarks, arrays (T, K, 2).

    With `center`, each frame's landmarks are first moved to their mean (removing head translation, so
    only the mouth shape counts). In the landmarks' units (pixels); range [0, inf), lower is better.
    """
    predicted, real = np.asarray(predicted_landmarks, np.float64), np.asarray(real_landmarks, np.float64)
    if predicted.shape != real.shape or predicted.ndim != 3 or predicted.shape[-1] != 2:
        raise ValueError(f"landmarks must be two (T, K, 2) arrays of equal shape, got {predicted.shape} and {real.shape}")
    if center:
        predicted = predicted - predicted.mean(axis=1, keepdims=True)
        real = real - real.mean(axis=1, keepdims=True)
    return float(np.linalg.norm(predicted - real, axis=-1).mean())


# upper/lower inner-lip points 61-67, 62-66, 63-65 of the 68, as indices into the 20 mouth points (48-67)
INNER_LIP_PAIRS = [(13, 19), (14, 18), (15, 17)]


def inner_lip_gap(mouth_landmarks) -> np.ndarray:
    """The mouth opening (T,): the mean vertical gap between the three facing inner-lip points of the 20 mouth
    landmarks (T, 20, 2) (`mouth_landmarks`), in their units (pixels); about 0 for a closed mouth."""
    lips = np.asarray(mouth_landmarks, np.float64)
    if lips.ndim != 3 or lips.shape[1:] != (20, 2):
        raise ValueError(f"need mouth landmarks (T, 20, 2), got shape {lips.shape}")
    return np.mean([lips[:, lower, 1] - lips[:, upper, 1] for upper, lower in INNER_LIP_PAIRS], axis=0)
