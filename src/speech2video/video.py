"""Video I/O through PyAV: mp4 writing (H.264 + AAC with the speech muxed in) and decoding.

`VideoWriter` takes frames in chunks, so a long video is written without holding it in memory; the audio
is encoded alongside, in step with the frames written so far.
"""

from __future__ import annotations

import io
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import OutputError


def check_output_path(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Return `path` as a Path if a video can be written there, else raise `OutputError`."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output path is a directory, not a file: {path}")
    if not path.parent.is_dir():
        raise OutputError(f"output folder does not exist: {path.parent}")
    if path.exists() and not overwrite:
        raise OutputError(f"output file already exists: {path} (pass overwrite=True / --overwrite to replace it)")
    return path


class VideoWriter:
    """Write an mp4 (H.264 yuv420p, AAC) chunk by chunk; the file appears only once complete.

    Usage:
        with VideoWriter("out.mp4", fps=25, audio=speech, sampling_rate=16000) as writer:
            writer.write(frames)  # (T, H, W, 3) uint8, any number of calls
    """

    def __init__(self, path, fps: float, audio: np.ndarray | None = None, sampling_rate: int = 16_000,
                 overwrite: bool = False, crf: int = 18, deterministic: bool = False):
        self.path = check_output_path(path, overwrite)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.audio = None if audio is None else np.asarray(audio, dtype=np.float32).reshape(-1)  # clipped per chunk
        self.sampling_rate = sampling_rate
        self.crf = crf
        self.deterministic = deterministic  # the same bytes on every run (slower: one thread, no x264 assembly)
        self.frames_written = 0
        self._audio_written = 0
        self._container = None

    def __enter__(self) -> VideoWriter:
        import av

        handle, self._temp_path = tempfile.mkstemp(suffix=".mp4", dir=self.path.parent, prefix=f".{self.path.name}.")
        os.close(handle)
        self._container = av.open(self._temp_path, mode="w", format="mp4")
        return self

    def write(self, frames: np.ndarray) -> None:
        """Append frames, shape (T, H, W, 3) uint8 (or a single (H, W, 3) frame)."""
        import av

        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 of shape (T, H, W, 3), got {frames.dtype} {frames.shape}")
        if self.frames_written == 0:
            self._open_streams(height=frames.shape[1], width=frames.shape[2])
        for frame in frames:
            if frame.shape[0] % 2 or frame.shape[1] % 2:  # yuv420p needs even sizes: repeat the last row/column
                frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            video_frame.pts = self.frames_written
            self._container.mux(self._video.encode(video_frame))
            self.frames_written += 1
        self._write_audio(until=round(self.frames_written / self.fps * self.sampling_rate))

    def _open_streams(self, height: int, width: int) -> None:
        self._video = self._container.add_stream("libx264", rate=self.fps)
        self._video.height, self._video.width = height + height % 2, width + width % 2
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"crf": str(self.crf), "preset": "veryfast"}
        if self.deterministic:  # x264's SIMD code gave other bytes from run to run on an AVX-512 CPU under load
            self._video.options |= {"threads": "1", "x264-params": "no-asm=1"}
        if self.audio is not None:
            self._audio = self._container.add_stream("aac", rate=self.sampling_rate, layout="mono")

    def _write_audio(self, until: int) -> None:
        import av

        if self.audio is None or until <= self._audio_written:
            return
        chunk = np.clip(self.audio[self._audio_written:until], -1.0, 1.0)
        if chunk.size:
            audio_frame = av.AudioFrame.from_ndarray(chunk[None], format="flt", layout="mono")
            audio_frame.sample_rate = self.sampling_rate
            audio_frame.pts = self._audio_written
            self._container.mux(self._audio.encode(audio_frame))
        self._audio_written = until

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None:
                if self.frames_written == 0:
                    raise ValueError("no frames were written")
                self._container.mux(self._video.encode(None))
                if self.audio is not None:
                    self._container.mux(self._audio.encode(None))
            self._container.close()
            if exc_type is None:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(self._temp_path, 0o666 & ~umask)  # mkstemp makes it private; a video is an ordinary file
                os.replace(self._temp_path, self.path)
        finally:
            if os.path.exists(self._temp_path):
                os.remove(self._temp_path)


def write_video(path, frames: np.ndarray, fps: float, audio: np.ndarray | None = None,
                sampling_rate: int = 16_000, overwrite: bool = False) -> Path:
    """Write `frames` (T, H, W, 3) uint8 and optional mono `audio` to an mp4 at `path`."""
    with VideoWriter(path, fps, audio, sampling_rate, overwrite) as writer:
        writer.write(frames)
    return writer.path


def encode_mp4(frames: np.ndarray, fps: float, crf: int = 18) -> bytes:
    """H.264 mp4 bytes of `frames` (T, H, W, 3) uint8, the same on every run (for corpus builds)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        with VideoWriter(path, fps, crf=crf, deterministic=True) as writer:
            writer.write(frames)
        return path.read_bytes()


def rgb_array(frame) -> np.ndarray:
    """A decoded PyAV video frame as (H, W, 3) uint8 RGB, converted on the calling thread alone: PyAV's default
    conversion runs on a pool of threads, which a process forked mid-run (a `datasets.map` worker with num_proc)
    inherits as dead threads and waits for forever."""
    return frame.to_ndarray(format="rgb24", threads=1)


def read_video(source: str | os.PathLike | bytes, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, float]:
    """Decode frames `start` .. `stop` (default: all) of a video file or mp4 bytes.

    Returns (frames (T, H, W, 3) uint8, fps). Frames before `start` are decoded but not converted to RGB
    (the costly part), and decoding ends at `stop`.
    """
    import av

    frames = []
    with av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if stop is not None and index >= stop:
                break
            if index >= start:
                frames.append(rgb_array(frame))
        fps = float(stream.average_rate or stream.guessed_rate)
    if not frames:
        raise ValueError(f"no frames in the range {start}..{stop} of the video")
    return np.stack(frames), fps
