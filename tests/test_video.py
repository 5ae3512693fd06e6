import numpy as np
import pytest

from speech2video import read_video, write_video
from speech2video.video import VideoWriter


def test_round_trip_keeps_frames_close(tmp_path):
    frames = np.zeros((10, 32, 32, 3), np.uint8)
    frames[:, 8:24, 8:24] = np.linspace(0, 250, 10, dtype=np.uint8)[:, None, None, None]
    decoded, fps = read_video(write_video(tmp_path / "a.mp4", frames, fps=25))
    assert decoded.shape == frames.shape and fps == 25
    assert np.abs(decoded.astype(int) - frames).mean() < 3


def test_chunked_writing_equals_one_go_and_odd_sizes_are_padded(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (12, 31, 33, 3), dtype=np.uint8)
    with VideoWriter(tmp_path / "chunks.mp4", fps=25, audio=np.zeros(8000, np.float32)) as writer:
        for start in range(0, 12, 5):
            writer.write(frames[start : start + 5])
    decoded, _ = read_video(tmp_path / "chunks.mp4")
    assert decoded.shape == (12, 32, 34, 3)


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="uint8"):
        with VideoWriter(target, fps=25) as writer:
            writer.write(np.zeros((2, 16, 16, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_written_video_gets_the_usual_file_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = write_video(tmp_path / "out.mp4", np.zeros((2, 16, 16, 3), np.uint8), fps=25)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
