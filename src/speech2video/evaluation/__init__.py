"""Evaluation metrics (DESIGN.md section 4), one module per concept, loaded on first use:

    image         psnr, ssim, sharpness (CPBD-like), flicker           frames (T, H, W, 3) uint8 or float in [0, 1]
    motion        mouth_opening_correlation, blink_rate, landmark_distance (LMD), inner_lip_gap
    landmarks     face_landmarks, mouth_landmarks, eye_openness       aligned face crops (T, S, S, 3)
                  (dlib 68-point, evaluation only)
    distribution  frechet_distance, retrieval_top1, r2_per_dimension    features (N, D)
    sync          SyncExpert, train_sync_expert, sync_offset_confidence (LSE-D / LSE-C style)
    mel           log_mel_spectrogram (the sync expert's audio features)
    uncertainty   bootstrap_standard_error                             a figure's error over groups of items
"""

from __future__ import annotations

import importlib

_LAZY_NAMES = {
    "psnr": ".image",
    "ssim": ".image",
    "sharpness": ".image",
    "flicker": ".image",
    "mouth_opening_correlation": ".motion",
    "blink_rate": ".motion",
    "landmark_distance": ".motion",
    "inner_lip_gap": ".motion",
    "face_landmarks": ".landmarks",
    "mouth_landmarks": ".landmarks",
    "eye_openness": ".landmarks",
    "frechet_distance": ".distribution",
    "retrieval_top1": ".distribution",
    "r2_per_dimension": ".distribution",
    "SyncExpert": ".sync",
    "train_sync_expert": ".sync",
    "sync_offset_confidence": ".sync",
    "sync_distances": ".sync",
    "log_mel_spectrogram": ".mel",
    "bootstrap_standard_error": ".uncertainty",
}

__all__ = list(_LAZY_NAMES)


def __getattr__(name: str):
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
