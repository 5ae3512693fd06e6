"""The checkpoints shipped inside the package: each loads by name, has a model card and renders a face."""

import numpy as np
import pytest

from conftest import speech_like
from speech2video import Speech2VideoPipeline, embedded_models
from speech2video.checkpoints import DEFAULT_MODEL, PRETRAINED_DIR


def test_the_default_checkpoint_is_embedded():
    assert DEFAULT_MODEL in embedded_models()


@pytest.mark.parametrize("name", embedded_models())
def test_embedded_checkpoint_renders_one_second_of_video(name):
    pipe = Speech2VideoPipeline.from_pretrained(name)
    video = pipe(speech_like(1.0), sampling_rate=16_000, seed=0)
    assert video.frames.shape == (25, pipe.model.config.image_size, pipe.model.config.image_size, 3)
    assert video.frames.std() > 10, "a flat image, not a face"
    assert np.abs(np.diff(video.frames.astype(np.float32), axis=0)).mean() > 0, "no motion at all"
    assert abs(sum(video.emotion_probs.values()) - 1) < 1e-4
    card = (PRETRAINED_DIR / name / "README.md").read_text()
    assert card.startswith("---") and "license:" in card and "## Metrics" in card


def test_the_pipeline_task_defaults_to_the_embedded_model():
    from transformers import pipeline

    pipe = pipeline("speech-to-video")
    assert pipe.model.name_or_path == str(PRETRAINED_DIR / DEFAULT_MODEL)
    assert pipe(speech_like(0.5), sampling_rate=16_000).frames.shape[0] == 12
