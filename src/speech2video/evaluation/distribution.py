"""Metrics on sets of feature vectors (N, D): distribution distance, retrieval, per-dimension R^2."""

from __future__ import annotations

import numpy as np


def _features(features, name: str) -> np.ndarray:
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 1:
        raise ValueError(f"{name} must be a (N, D) array of feature vectors, got shape {features.shape}")
    return features


def frechet_distance(features_a, features_b, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D), N >= 2.

    |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)): FID computed on our teachers' features instead of
    Inception's, so values are comparable only within one feature extractor. `eps` is added to both
    covariance diagonals, which keeps the matrix square root stable when N < D.
    Range [0, inf), lower is better, ~0 for a set against itself.
    """
    from scipy.linalg import sqrtm

    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two sets of >= 2 vectors of the same dimension, got {a.shape} and {b.shape}")
    ridge = eps * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    cross = sqrtm(cov_a @ cov_b).real
    distance = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.trace(cov_a + cov_b - 2 * cross)
    return float(max(distance, 0.0))


def retrieval_top1(query, gallery, query_labels, gallery_labels) -> float:
    """Fraction of queries (Nq, D) whose most cosine-similar gallery vector (Ng, D) has the same label.

    Range [0, 1], higher is better (chance is about 1 / number of labels).
    """
    query, gallery = _features(query, "query"), _features(gallery, "gallery")
    query_labels, gallery_labels = np.asarray(query_labels), np.asarray(gallery_labels)
    if query.shape[1] != gallery.shape[1] or len(query_labels) != len(query) or len(gallery_labels) != len(gallery):
        raise ValueError("query and gallery need the same dimension D and one label per vector")
    query = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    gallery = gallery / np.maximum(np.linalg.norm(gallery, axis=1, keepdims=True), 1e-12)
    nearest = np.argmax(query @ gallery.T, axis=1)
    return float(np.mean(gallery_labels[nearest] == query_labels))


def r2_per_dimension(predicted, truth) -> np.ndarray:
    """Coefficient of determination of each dimension, predicted and truth (N, D) -> (D,).

    1 - sum (truth - predicted)^2 / sum (truth - mean truth)^2 over the N items. Range (-inf, 1], higher is
    better: 1 is exact, 0 is no better than predicting the mean; NaN where the truth is constant.
    """
    predicted, truth = _features(predicted, "predicted"), _features(truth, "truth")
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted and truth differ in shape: {predicted.shape} vs {truth.shape}")
    residual = ((truth - predicted) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 1.0 - residual / total, np.nan)
