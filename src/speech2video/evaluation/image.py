"""Image metrics on videos: fidelity to real frames (PSNR, SSIM), no-reference sharpness, and flicker.

Videos are (T, H, W, 3) arrays, uint8 or float in [0, 1] (a model's (T, 3, S, S) output must be moved
to channels-last first). Per-frame scores are averaged over frames.
"""

from __future__ import annotations

import numpy as np

PSNR_CAP_DB = 100.0  # identical frames have an infinite PSNR: each frame's value is capped so means stay finite
JNB_CONTRAST = 51 / 255  # local contrast up to which a 5 px edge is just noticeably blurred (3 px above it)
FLAT_STEP = 1 / 255  # intensity steps smaller than one uint8 grey level end an edge's monotonic run
LUMA = np.array([0.299, 0.587, 0.114])


def as_float_frames(frames) -> np.ndarray:
    """A video (T, H, W, 3) as float64 in [0, 1]: uint8 is divided by 255, floats must already lie in [0, 1]."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"a video must have shape (T, H, W, 3), got {frames.shape}")
    if frames.dtype == np.uint8:
        return frames / 255.0
    if frames.dtype.kind != "f":
        raise ValueError(f"frames must be uint8 or float in [0, 1], got dtype {frames.dtype}")
    if frames.size and (frames.min() < 0.0 or frames.max() > 1.0):
        raise ValueError("float frames must lie in [0, 1]")
    return frames.astype(np.float64)


def _video_pair(generated, real) -> tuple[np.ndarray, np.ndarray]:
    generated, real = as_float_frames(generated), as_float_frames(real)
    if generated.shape != real.shape:
        raise ValueError(f"the videos differ in shape: {generated.shape} vs {real.shape}")
    return generated, real


def psnr(generated, real) -> float:
    """Peak signal-to-noise ratio (dB) of `generated` against `real`, both (T, H, W, 3); mean over frames.

    Higher is better; identical frames score `PSNR_CAP_DB` (100 dB) instead of infinity.
    """
    from skimage.metrics import peak_signal_noise_ratio

    generated, real = _video_pair(generated, real)
    with np.errstate(divide="ignore"):
        scores = [peak_signal_noise_ratio(r, g, data_range=1.0) for g, r in zip(generated, real)]
    return float(np.mean(np.minimum(scores, PSNR_CAP_DB)))


def ssim(generated, real) -> float:
    """Structural similarity of `generated` against `real`, both (T, H, W, 3) with H, W >= 7; mean over frames.

    Range [-1, 1], higher is better, 1 for identical frames (scikit-image, 7x7 window, colour channels averaged).
    """
    from skimage.metrics import structural_similarity

    generated, real = _video_pair(generated, real)
    return float(np.mean([structural_similarity(g, r, data_range=1.0, channel_axis=-1) for g, r in zip(generated, real)]))


def sharpness(frames) -> float:
    """No-reference sharpness, a CPBD-like score (cumulative probability of blur detection); mean over frames.

    Per frame: Canny edges on the grey image; each edge's width is the length of the monotonic intensity
    run through it, along the row (near-vertical edges) or column (near-horizontal ones). An edge counts as
    sharp when its width is at most the just-noticeable-blur width (5 px at local 8x8 contrast <= 51/255,
    3 px above), i.e. when its probability of blur detection is at most 63 %, the CPBD criterion.
    The score is the fraction of sharp edges: range [0, 1], higher is sharper; a frame without edges scores 0.
    Simplified from Narvekar & Karam (2011): all edges count, not only those of edge-rich 8x8 blocks.
    """
    return float(np.mean([_frame_sharpness(grey) for grey in as_float_frames(frames) @ LUMA]))


def _frame_sharpness(grey: np.ndarray) -> float:
    from scipy.ndimage import maximum_filter, minimum_filter
    from skimage.feature import canny
    from skimage.filters import sobel_h, sobel_v

    edges = canny(grey, sigma=1.0)
    horizontal_gradient = np.abs(sobel_v(grey)) >= np.abs(sobel_h(grey))
    vertical_edges, horizontal_edges = edges & horizontal_gradient, edges & ~horizontal_gradient
    contrast = maximum_filter(grey, size=8) - minimum_filter(grey, size=8)
    jnb_width = np.where(contrast <= JNB_CONTRAST, 5, 3)
    sharp = np.concatenate([  # vertical edges are measured along rows, horizontal ones along columns
        _edge_widths(grey, vertical_edges) <= jnb_width[vertical_edges],
        _edge_widths(grey.T, horizontal_edges.T) <= jnb_width.T[horizontal_edges.T],
    ])
    return float(sharp.mean()) if sharp.size else 0.0


def _edge_widths(grey: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Width (px) along the rows of `grey` (H, W) of each pixel of the boolean `edges` (H, W), in row-major order.

    The width is the length of the run of same-signed steps (rising or falling, each at least `FLAT_STEP`)
    on the steeper side of the pixel.
    """
    steps = np.diff(grey, axis=1)  # (H, W - 1): step j goes from pixel j to pixel j + 1
    direction = np.sign(steps) * (np.abs(steps) >= FLAT_STEP)
    run_start = np.ones(steps.shape, bool)
    run_start[:, 1:] = direction[:, 1:] != direction[:, :-1]
    run_id = np.cumsum(run_start).reshape(steps.shape) - 1
    run_length = np.bincount(run_id.ravel())
    rows, cols = np.nonzero(edges)
    left, right = np.clip(cols - 1, 0, steps.shape[1] - 1), np.clip(cols, 0, steps.shape[1] - 1)
    step = np.where(np.abs(steps[rows, left]) >= np.abs(steps[rows, right]), left, right)
    return run_length[run_id[rows, step]]


def flicker(frames, mask=None) -> float:
    """Mean absolute frame-to-frame change outside the mouth region, frames (T, H, W, 3) with T >= 2.

    `mask` excludes the mouth: a boolean (H, W) array (True on the mouth), a box (top, bottom, left, right)
    in pixels (slice bounds), or None to use the whole frame. Range [0, 1], lower is steadier.
    """
    frames = as_float_frames(frames)
    if len(frames) < 2:
        raise ValueError("flicker needs at least 2 frames")
    keep = np.ones(frames.shape[1:3], bool)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype == bool:
            if mask.shape != keep.shape:
                raise ValueError(f"the mouth mask must have shape {keep.shape}, got {mask.shape}")
            keep = ~mask
        else:
            top, bottom, left, right = (int(v) for v in mask)
            keep[top:bottom, left:right] = False
    if not keep.any():
        raise ValueError("the mouth mask covers the whole frame")
    change = np.abs(np.diff(frames, axis=0)).mean(axis=-1)  # (T - 1, H, W)
    return float(change[:, keep].mean())
