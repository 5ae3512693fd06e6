"""The Gradio Space, launched in-process and driven through gradio_client like a remote user."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile

from speech2video import read_video

APP = Path(__file__).resolve().parents[1] / "spaces" / "speech2video" / "app.py"


@pytest.fixture(scope="module")
def client():
    gradio_client = pytest.importorskip("gradio_client")
    spec = importlib.util.spec_from_file_location("space_app", APP)
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    demo = app.build_demo()
    demo.launch(prevent_thread_lock=True, quiet=True)
    try:
        yield gradio_client.Client(demo.local_url, verbose=False), app
    finally:
        demo.close()


def test_generate_returns_a_playable_video_and_what_the_voice_suggests(client):
    from gradio_client import handle_file

    client, app = client
    example = app.EXAMPLES[0]
    video, emotions, summary = client.predict(handle_file(str(example)), None, "synthtalk-128", "auto", 0,
                                              api_name="/generate")
    frames, fps = read_video(video["video"] if isinstance(video, dict) else video)
    duration = soundfile.info(example).duration
    assert fps == 25 and abs(len(frames) - duration * 25) <= 1 and frames.std() > 10
    assert set(emotions["confidences"][0]) == {"label", "confidence"} and "voice sounds" in summary


def test_silent_and_too_long_recordings_get_clear_messages(client, tmp_path):
    from gradio_client import handle_file

    client, app = client
    silent, long = tmp_path / "silent.wav", tmp_path / "long.wav"
    soundfile.write(silent, np.zeros(16_000, np.float32), 16_000)
    soundfile.write(long, 0.1 * np.random.default_rng(0).standard_normal((app.MAX_SECONDS + 2) * 16_000), 16_000)
    with pytest.raises(Exception, match="silent"):
        client.predict(handle_file(str(silent)), None, "synthtalk-128", "auto", 0, api_name="/generate")
    with pytest.raises(Exception, match=f"up to {app.MAX_SECONDS} s"):
        client.predict(handle_file(str(long)), None, "synthtalk-128", "auto", 0, api_name="/generate")


def test_each_request_writes_in_its_own_folder_and_old_ones_are_removed(client, tmp_path, monkeypatch):
    import os
    import time

    _, app = client
    monkeypatch.setattr(app, "OUTPUT_ROOT", tmp_path / "outputs")
    first = app.new_output_folder()
    stale = time.time() - app.OUTPUT_LIFETIME - 1
    os.utime(first, (stale, stale))
    second = app.new_output_folder()
    assert second.parent == first.parent == tmp_path / "outputs" and second != first
    assert not first.exists() and second.is_dir()
