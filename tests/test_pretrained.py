"""The checkpoints shipped inside the package: each loads by name, has a model card and renders a face."""

import numpy as np
import pytest

from conftest import load_example_script, speech_like
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
    if pipe.model.config.infers_speaker:
        assert abs(sum(video.emotion_probs.values()) - 1) < 1e-4
    else:  # a lips-only fine-tune (grid-s1-128): no emotion is reported
        assert video.emotion_probs == {} and video.emotion is None
    card = (PRETRAINED_DIR / name / "README.md").read_text()
    assert card.startswith("---") and "license:" in card and "## Metrics" in card


@pytest.mark.parametrize("name", embedded_models())
def test_model_card_metadata_lists_the_metrics_not_their_standard_errors(name):
    front_matter = (PRETRAINED_DIR / name / "README.md").read_text().split("---")[1]
    assert "type: sync_within_1_frame" in front_matter and "_se\n" not in front_matter


def test_model_card_cells_carry_their_standard_error():
    figure = load_example_script("release_checkpoint").figure
    assert figure({"emotion_accuracy": 0.38, "emotion_accuracy_se": 0.0358}, "emotion_accuracy") == "0.380 ± 0.036"
    assert figure({"identity_r2_control": -0.0001}, "identity_r2_control") == "0.000"


def test_the_pipeline_task_defaults_to_the_embedded_model():
    from transformers import pipeline

    pipe = pipeline("speech-to-video")
    assert pipe.model.name_or_path == str(PRETRAINED_DIR / DEFAULT_MODEL)
    assert pipe(speech_like(0.5), sampling_rate=16_000).frames.shape[0] == 12
