"""Audio loading: the one function every entry point uses to turn user input into 16 kHz mono float32.

Accepted sources: a file path (wav/flac/ogg/mp3 through libsndfile, anything else FFmpeg reads through
PyAV, including the audio track of a video file: the first one when there are several; the video stream,
whatever its frame rate, is ignored), raw file bytes, a numpy array (or anything with
`__array__`, such as a torch tensor) with its `sampling_rate`, or a `{"array": ..., "sampling_rate": ...}`
dict as produced by `datasets`. Resampling uses soxr (a band-limited, anti-aliasing resampler).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .errors import AudioError

SAMPLING_RATE = 16_000
MAX_CHANNELS = 64
MIN_SOURCE_RATE, MAX_SOURCE_RATE = 1, 768_000
MAX_DURATION_S = 3 * 3600  # longer input is refused before any resampling (bounded memory)


def load_audio(source, sampling_rate: int | None = None, target_rate: int = SAMPLING_RATE) -> np.ndarray:
    """Load `source` as mono float32 samples at `target_rate`, shape (num_samples,).

    `sampling_rate` is required for arrays (and ignored for files, whose header gives it).
    Raises `AudioError` naming the problem for anything that is not usable audio.
    """
    if isinstance(source, dict):
        if "array" not in source or "sampling_rate" not in source:
            raise AudioError("an audio dict needs the keys 'array' and 'sampling_rate'")
        source, sampling_rate = source["array"], source["sampling_rate"]
    if isinstance(source, (str, os.PathLike)):
        samples, sampling_rate = _decode_file(Path(source))
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioError("the audio bytes are empty")
        samples, sampling_rate = _decode(bytes(source), what="the audio bytes")
    elif isinstance(source, np.ndarray) or hasattr(source, "__array__"):
        if sampling_rate is None:
            raise AudioError("an audio array needs its sampling_rate, e.g. pipe(array, sampling_rate=16000)")
        samples = _to_float_mono(np.asarray(source))
    else:
        raise AudioError(
            f"unsupported audio input of type {type(source).__name__}: "
            "give a file path, file bytes, a numpy array with sampling_rate, or {'array', 'sampling_rate'}"
        )
    rate = _check_rate(sampling_rate)
    if len(samples) > MAX_DURATION_S * rate:
        raise AudioError(f"the audio is {len(samples) / rate:.0f} s long; the limit is {MAX_DURATION_S} s")
    return _resample(samples, rate, target_rate)


def frame_energy(audio: np.ndarray, num_frames: int, fps: float, sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    """RMS of the audio (N,) over each of `num_frames` video frames at `fps`, (T,); 0 past the audio's end."""
    hop = sampling_rate / fps
    edges = np.round(np.arange(num_frames + 1) * hop).astype(int).clip(0, len(audio))
    return np.array([np.sqrt(np.mean(audio[a:b] ** 2)) if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])


def _check_rate(sampling_rate) -> int:
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, np.integer, float)):
        raise AudioError(f"sampling_rate must be a number of samples per second, got {sampling_rate!r}")
    if not float(sampling_rate).is_integer() or not MIN_SOURCE_RATE <= sampling_rate <= MAX_SOURCE_RATE:
        raise AudioError(
            f"sampling_rate must be a whole number between {MIN_SOURCE_RATE} and {MAX_SOURCE_RATE} Hz, got {sampling_rate}"
        )
    return int(sampling_rate)


def _decode_file(path: Path) -> tuple[np.ndarray, int]:
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"expected an audio file but got a directory: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {path}")
    return _decode(path, what=str(path))


def _decode(data: Path | bytes, what: str) -> tuple[np.ndarray, int]:
    """Decode with libsndfile first (fast, exact), then FFmpeg through PyAV (video containers, m4a, ...)."""
    import soundfile

    try:
        file = io.BytesIO(data) if isinstance(data, bytes) else data
        samples, rate = soundfile.read(file, dtype="float32", always_2d=True)
        return _to_float_mono(samples), rate
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        pass
    return _decode_with_av(data, what)


def _decode_with_av(data: Path | bytes, what: str) -> tuple[np.ndarray, int]:
    import av

    try:
        with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data), mode="r") as container:
            if not container.streams.audio:
                kind = "video file" if container.streams.video else "file"
                raise AudioError(f"{what}: this {kind} has no audio track")
            stream = container.streams.audio[0]
            to_float = av.AudioResampler(format="fltp")  # keeps rate and channels, only converts the format
            chunks = [
                out.to_ndarray()
                for frame in container.decode(stream)
                for out in to_float.resample(frame)
            ]
            rate = stream.codec_context.sample_rate or stream.rate
    except AudioError:
        raise
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as error:
        raise AudioError(f"{what}: not a readable audio or video file ({error})") from None
    if not chunks:
        raise AudioError(f"{what}: the audio track holds no samples (empty or truncated file)")
    samples = np.concatenate(chunks, axis=1)  # (channels, num_samples)
    return _to_float_mono(samples.T), rate


def _to_float_mono(samples: np.ndarray) -> np.ndarray:
    """Array of any numeric dtype, shape (n,) or (n, channels) / (channels, n) -> float32 (n,) in [-1, 1]."""
    if samples.dtype.kind not in "iuf":
        raise AudioError(f"audio samples must be integers or floats, got dtype {samples.dtype}")
    if samples.ndim == 2:
        channel_axis = int(np.argmin(samples.shape))  # the short axis holds the channels
        if samples.shape[channel_axis] == 0:
            raise AudioError(f"audio array of shape {samples.shape} has no samples or no channels")
        if samples.shape[channel_axis] > MAX_CHANNELS:
            raise AudioError(f"audio array of shape {samples.shape} has more than {MAX_CHANNELS} channels")
        if samples.shape[channel_axis] == 1:
            samples = samples.squeeze(channel_axis)
            samples = _int_to_float(samples) if samples.dtype.kind in "iu" else samples
        else:
            samples = samples.mean(axis=channel_axis, dtype=np.float64) if samples.dtype.kind == "f" else (
                _int_to_float(samples).mean(axis=channel_axis)
            )
    elif samples.ndim == 1:
        samples = _int_to_float(samples) if samples.dtype.kind in "iu" else samples
    else:
        raise AudioError(f"audio must be 1-D (samples) or 2-D (samples x channels), got shape {samples.shape}")
    if samples.size == 0:
        raise AudioError("the audio has zero length")
    if samples.dtype != np.float64:  # float32 stays as is: no float64 copy of hours of audio
        samples = samples.astype(np.float32, copy=False)
    if not np.isfinite(samples).all():
        raise AudioError("the audio contains NaN or infinite samples")
    peak = max(float(samples.max()), -float(samples.min()))
    if peak > 1.0:  # float audio beyond full scale: scale down rather than clip
        samples = samples / peak
    return samples.astype(np.float32, copy=False)  # never written to: callers' arrays are not changed


def _int_to_float(samples: np.ndarray) -> np.ndarray:
    info = np.iinfo(samples.dtype)
    middle = (int(info.max) + int(info.min) + 1) / 2  # 0 for signed, 2**(bits-1) for unsigned
    return (samples.astype(np.float64) - middle) / (int(info.max) - middle + 1)


def _resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    if rate == target_rate:
        return samples
    import soxr

    resampled = np.clip(soxr.resample(samples, rate, target_rate, quality="HQ"), -1, 1).astype(np.float32)  # no ringing overshoot
    if resampled.size == 0:
        raise AudioError(f"the audio is too short to resample ({samples.size} samples at {rate} Hz)")
    return resampled
