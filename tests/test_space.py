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
        yield gradio_client.Client(demo.local_url, verbose=False), app, demo.local_url
    finally:
        demo.close()


def test_generate_returns_a_playable_video_and_what_the_voice_suggests(client):
    from gradio_client import handle_file

    client, app, _ = client
    example = app.EXAMPLES[0]
    video, emotions, summary = client.predict(handle_file(str(example)), None, "synthtalk-128", "auto", 0,
                                              1.0, None, api_name="/generate")
    frames, fps = read_video(video["video"] if isinstance(video, dict) else video)
    duration = soundfile.info(example).duration
    assert fps == 25 and abs(len(frames) - duration * 25) <= 1 and frames.std() > 10
    assert set(emotions["confidences"][0]) == {"label", "confidence"} and "voice sounds" in summary


def test_a_picture_of_the_speaker_gives_the_static_image_baseline(client, tmp_path, tiny_pipeline, monkeypatch):
    from gradio_client import handle_file
    from PIL import Image

    client, app, _ = client
    example, picture = app.EXAMPLES[0], tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(picture)
    arguments = [handle_file(str(example)), None, "synthtalk-128", "auto", 0, 1.0]
    *_, from_voice = client.predict(*arguments, None, api_name="/generate")
    *_, from_picture = client.predict(*arguments, handle_file(str(picture)), api_name="/generate")
    assert from_picture != from_voice  # the face parameters now come from the picture
    monkeypatch.setattr(app, "load_pipeline", lambda name: tiny_pipeline)  # no identity teacher, no reference frames
    with pytest.raises(app.gr.Error, match="cannot use a picture"):
        app.generate(str(example), None, "tiny", "auto", 0, 1.0, np.zeros((8, 8, 3), np.uint8))


def test_the_motion_slider_stops_where_the_pipeline_does(client):
    _, app, _ = client
    config = app.load_pipeline("synthtalk-128").model.config
    calibrated = config.motion_scale
    try:
        config.motion_scale = app.MAX_MOTION_SCALE  # calibrated at the pipeline's cap: more would do nothing
        assert app.motion_limit("synthtalk-128") == 1.0
        config.motion_scale = 0.5 * app.MAX_MOTION_SCALE
        assert app.motion_limit("synthtalk-128") == 2.0
    finally:
        config.motion_scale = calibrated
    assert app.motion_limit("grid-s1-128") == 2.0


def test_a_model_that_does_not_infer_the_speaker_says_so(client):
    _, app, _ = client
    assert "does not infer the speaker" in app.voice_summary(app.load_pipeline("grid-s1-128"), np.zeros(14))
    assert "voice sounds" in app.voice_summary(app.load_pipeline("synthtalk-128"), np.full(14, 0.5))
    assert app.emotion_choices("grid-s1-128") == ["auto"] and "happy" in app.emotion_choices("synthtalk-128")
    with pytest.raises(app.gr.Error, match="For grid-s1-128 choose the emotion among: auto"):
        app.generate(str(app.EXAMPLES[0]), None, "grid-s1-128", "happy", 0)


def test_silent_and_too_long_recordings_get_clear_messages(client, tmp_path):
    from gradio_client import handle_file

    client, app, _ = client
    silent, long = tmp_path / "silent.wav", tmp_path / "long.wav"
    soundfile.write(silent, np.zeros(16_000, np.float32), 16_000)
    soundfile.write(long, 0.1 * np.random.default_rng(0).standard_normal((app.MAX_SECONDS + 2) * 16_000), 16_000)
    with pytest.raises(Exception, match="silent"):
        client.predict(handle_file(str(silent)), None, "synthtalk-128", "auto", 0, 1.0, None, api_name="/generate")
    with pytest.raises(Exception, match=f"up to {app.MAX_SECONDS} s"):
        client.predict(handle_file(str(long)), None, "synthtalk-128", "auto", 0, 1.0, None, api_name="/generate")


def test_each_request_writes_in_its_own_folder_and_old_ones_are_removed(client, tmp_path, monkeypatch):
    import os
    import time

    _, app, _ = client
    monkeypatch.setattr(app, "OUTPUT_ROOT", tmp_path / "outputs")
    first = app.new_output_folder()
    stale = time.time() - app.OUTPUT_LIFETIME - 1
    os.utime(first, (stale, stale))
    second = app.new_output_folder()
    assert second.parent == first.parent == tmp_path / "outputs" and second != first
    assert not first.exists() and second.is_dir()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Selenium (Debian's chromium and chromium-driver, installed by `make test`)."""
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Chromium or chromedriver is not installed (apt-get install chromium chromium-driver; "
                    "`make test` tries and warns when it cannot)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    try:
        yield browser
    finally:
        browser.quit()


def test_in_a_real_browser_upload_generate_and_play(client, browser, tmp_path):
    """Load the page, upload the example voice, click Generate, and see a video that Chromium can play."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    _, app, url = client
    browser.get(url)
    wait = WebDriverWait(browser, 180)
    upload = wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#speech input[type=file]")))
    upload.send_keys(str(app.EXAMPLES[0]))
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#speech audio, #speech .waveform-container, #speech button[aria-label*='lay']")))
    wait.until(expected_conditions.element_to_be_clickable((By.ID, "generate"))).click()
    playable = """
        const video = document.querySelector('#talking-face video');
        return video && video.currentSrc && video.readyState >= 1 && video.duration > 0
            ? [video.currentSrc, video.duration, video.videoWidth] : null;"""
    source, duration, width = wait.until(lambda page: page.execute_script(playable))
    assert source.endswith(".mp4") and width == 128
    assert abs(duration - soundfile.info(app.EXAMPLES[0]).duration) < 0.2
    browser.save_screenshot(str(tmp_path / "space.png"))
    assert (tmp_path / "space.png").stat().st_size > 10_000


def test_a_model_folder_of_ones_own_joins_the_menu_as_the_default(client, tiny_model_dir, monkeypatch, capsys):
    """`app.py --model FOLDER` (a model saved by the training scripts) puts it first in the menu, and it renders;
    a folder without a model is refused before the Space starts."""
    import runpy
    import sys

    _, app, _ = client
    demo = app.build_demo((str(tiny_model_dir),))
    menu = next(block for block in demo.blocks.values() if isinstance(block, app.gr.Dropdown) and block.label == "Model")
    assert menu.value == str(tiny_model_dir) and [tuple(choice) for choice in menu.choices][0] == (tiny_model_dir.name,
                                                                                                  str(tiny_model_dir))
    video, _, _ = app.generate(str(app.EXAMPLES[0]), None, str(tiny_model_dir), "auto", 0, 1.0)
    assert len(read_video(video)[0]) > 0
    monkeypatch.setattr(sys, "argv", [str(APP), "--model", str(tiny_model_dir.parent / "no-model-here")])
    with pytest.raises(SystemExit):
        runpy.run_path(str(APP), run_name="__main__")
    assert "no config.json there" in capsys.readouterr().err
