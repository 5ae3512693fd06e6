"""Face alignment: dlib HOG detection, 5-point landmarks, and a steady similarity-aligned square crop.

Geometry is expressed in "eye units": the distance between the two eye centres is 1, the origin is their
midpoint, x points right and y down (image axes). A similarity transform (scale, rotation, translation)
fitted to the 5 landmarks maps this template into the frame; the crop is a square of `CROP_SIDE` eye
units centred at `CROP_CENTRE`: the whole face with the forehead and some hair, at any output size.

Landmarks are smoothed over time before the fit (a centred Gaussian moving average) so crops don't jitter,
and short runs of frames without a detected face are filled by linear interpolation.
The 5-point model (from `face-recognition-models`, MIT) was trained by Davis King on his own annotations of
public images (see github.com/davisking/dlib-models); the 68-point model is avoided: it is trained on
iBUG 300-W, whose license excludes commercial use.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# dlib's 5-point order: image-right eye outer/inner corner, image-left eye outer/inner corner, nose base.
# Mean positions in eye units, measured on GRID and real_multi faces (symmetrised).
FACE_TEMPLATE = np.array([[0.70, -0.01], [0.30, 0.02], [-0.70, -0.01], [-0.30, 0.02], [0.0, 0.76]])
CROP_CENTRE = np.array([0.0, 0.2])
CROP_SIDE = 4.0
# Sub-boxes of the crop, (top, left, bottom, right) as fractions, measured on 156 GRID and real_multi faces:
# dlib's HOG box (mean (0.266, 0.201, 0.881, 0.798)) with a 10% margin, the framing FER was trained on, and
# dlib's 150x150 face chip (padding 0.25), the identity net's input (std 0.001 across faces).
FACE_BOX = (0.205, 0.141, 0.942, 0.858)
CHIP_BOX = (0.230, 0.153, 0.934, 0.857)


def dlib_model_path(name: str) -> Path:
    """Path of a model file of the `face-recognition-models` package (located without importing it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the face teachers need `face-recognition-models`: pip install face-recognition-models")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"model file missing from face-recognition-models: {path}")
    return path


class LandmarkDetector:
    """dlib's HOG frontal face detector + 5-point shape predictor on RGB uint8 frames (H, W, 3)."""

    def __init__(self, upsample: int = 0):
        import dlib

        self.upsample = upsample  # detector image doublings: 1 finds faces down to ~40 px, at 4x the cost
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5_face_landmarks.dat")))

    def detect(self, frame: np.ndarray):
        """The largest face's `dlib.rectangle`, or None."""
        faces = self.detector(frame, self.upsample)
        return max(faces, key=lambda face: face.area(), default=None)

    def landmarks(self, frame: np.ndarray, box) -> np.ndarray:
        """The 5 landmarks (5, 2) as (x, y) pixels of the face in `box`."""
        shape = self.predictor(frame, box)
        return np.array([[point.x, point.y] for point in shape.parts()], dtype=np.float64)

    def clip_landmarks(self, frames: np.ndarray, detect_every: int = 1) -> np.ndarray:
        """Landmarks of every frame of a clip (T, H, W, 3): (T, 5, 2), NaN where no face was found.

        With `detect_every` k > 1 the detector runs on every k-th frame only; frames in between reuse the
        last detected box, moved along with the landmarks (k times faster; fine for talking heads).
        """
        import dlib

        landmarks = np.full((len(frames), 5, 2), np.nan)
        detected_box = detected_centre = None
        for index, frame in enumerate(frames):
            if index % detect_every == 0 or detected_box is None:
                detected_box = self.detect(frame)
                if detected_box is None:
                    continue
                landmarks[index] = self.landmarks(frame, detected_box)
                detected_centre = landmarks[index].mean(axis=0)
            else:  # follow the face: move the last detected box with the landmarks since that detection
                shift = np.round(landmarks[index - 1].mean(axis=0) - detected_centre).astype(int)
                box = dlib.translate_rect(detected_box, dlib.point(int(shift[0]), int(shift[1])))
                landmarks[index] = self.landmarks(frame, box)
        return landmarks


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True values in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2], edges[1::2]))


def fill_gaps(landmarks: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill runs of at most `max_gap` missing (NaN) frames in landmarks (T, 5, 2).

    Inner gaps are interpolated linearly, gaps at the clip's start or end hold the nearest landmarks;
    longer runs stay NaN.
    """
    filled = landmarks.copy()
    missing = np.isnan(landmarks).any(axis=(1, 2))
    found = np.flatnonzero(~missing)
    if found.size == 0:
        return filled
    flat = filled.reshape(len(filled), -1)
    for start, end in runs(missing):
        if end - start > max_gap:
            continue
        times = np.arange(start, end)
        for column in range(flat.shape[1]):  # np.interp holds the end values outside the found frames
            flat[start:end, column] = np.interp(times, found, flat[found, column])
    return filled


def smooth_landmarks(landmarks: np.ndarray, sigma: float) -> np.ndarray:
    """Centred Gaussian moving average (std `sigma` frames) of landmarks (T, 5, 2) over time.

    Each run of frames with landmarks is smoothed on its own (NaN frames split runs); ends are padded by
    repeating the edge frame, so a still face stays exactly still.
    """
    from scipy.ndimage import gaussian_filter1d

    if sigma <= 0:
        return landmarks.copy()
    smoothed = landmarks.copy()
    for start, end in runs(~np.isnan(landmarks).any(axis=(1, 2))):
        smoothed[start:end] = gaussian_filter1d(landmarks[start:end], sigma, axis=0, mode="nearest")
    return smoothed


def crop_transforms(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Similarity transforms (T, 2, 3) mapping crop pixel (x, y, 1) to frame pixel (x, y), fitted to landmarks.

    Least-squares fit of the template (placed in a `size` x `size` crop) to the landmarks (T, 5, 2);
    written with complex numbers, where a similarity is z -> a z + b. NaN landmarks give NaN transforms.
    """
    template = ((FACE_TEMPLATE - CROP_CENTRE) / CROP_SIDE + 0.5) * size - 0.5  # pixel centres at integers
    source = template[:, 0] + 1j * template[:, 1]
    target = landmarks[..., 0] + 1j * landmarks[..., 1]  # (T, 5)
    source_centred = source - source.mean()
    target_mean = target.mean(axis=1, keepdims=True)
    a = ((target - target_mean) * source_centred.conj()).sum(axis=1) / (np.abs(source_centred) ** 2).sum()
    b = target_mean[:, 0] - a * source.mean()
    return np.stack([
        np.stack([a.real, -a.imag, b.real], axis=1),
        np.stack([a.imag, a.real, b.imag], axis=1),
    ], axis=1)


def warp_crop(frame: np.ndarray, transform: np.ndarray, size: int) -> np.ndarray:
    """Cut the crop (size, size, 3) uint8 out of a frame (H, W, 3) uint8 with a crop-to-frame `transform` (2, 3).

    When the crop shrinks the face k >= 2 times, the frame is first shrunk k times by averaging k x k
    blocks (anti-aliasing), then sampled bilinearly. Outside the frame, edge pixels are repeated.
    """
    from skimage.transform import AffineTransform, warp

    to_frame = np.vstack([transform, [0, 0, 1]])
    factor = int(np.hypot(*transform[:, 0]))  # whole frame pixels per crop pixel
    image = frame.astype(np.float32)
    if factor >= 2:
        height, width = frame.shape[0] // factor, frame.shape[1] // factor
        image = image[:height * factor, :width * factor].reshape(height, factor, width, factor, 3).mean(axis=(1, 3))
        offset = (1 / factor - 1) / 2  # block centres: frame pixel x lands at (x - (factor - 1) / 2) / factor
        to_frame = np.array([[1 / factor, 0, offset], [0, 1 / factor, offset], [0, 0, 1]]) @ to_frame
    crop = warp(image, AffineTransform(matrix=to_frame), output_shape=(size, size), order=1, mode="edge",
                preserve_range=True)
    return np.clip(np.round(crop), 0, 255).astype(np.uint8)


@dataclass
class AlignedClip:
    """A clip's face crops and how they were made.

    crops: (T, size, size, 3) uint8, zeros where no face; found: (T,) bool, a face was detected or filled in;
    landmarks: (T, 5, 2) raw per-frame landmarks (NaN where none); transforms: (T, 2, 3) crop-to-frame
    transforms after smoothing (NaN where none).
    """

    crops: np.ndarray
    found: np.ndarray
    landmarks: np.ndarray
    transforms: np.ndarray


def align_clip(frames: np.ndarray, size: int = 128, sigma: float = 2.0, max_gap: int = 12,
               detect_every: int = 1, detector: LandmarkDetector | None = None) -> AlignedClip:
    """Steady face crops of a clip (T, H, W, 3) uint8 showing one face.

    `sigma`: temporal smoothing of the landmarks in frames (2 at 25 fps averages over ~0.2 s; 0 disables);
    `max_gap`: longest run of frames without a face that is filled in by interpolation.
    """
    detector = detector or LandmarkDetector()
    landmarks = detector.clip_landmarks(frames, detect_every)
    steady = smooth_landmarks(fill_gaps(landmarks, max_gap), sigma)
    found = ~np.isnan(steady).any(axis=(1, 2))
    transforms = crop_transforms(steady, size)
    crops = np.zeros((len(frames), size, size, 3), dtype=np.uint8)
    for index in np.flatnonzero(found):
        crops[index] = warp_crop(frames[index], transforms[index], size)
    return AlignedClip(crops, found, landmarks, transforms)
