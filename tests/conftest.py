"""Shared fixtures: tiny random models (plumbing tests) and speech-like test signals."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything must work without the Hub
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the Space tests must not phone home

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

TINY_ENCODER = dict(
    hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
    conv_dim=(32,) * 5, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
)


def tiny_config(**overrides):
    from speech2video import Speech2VideoConfig

    kwargs = dict(
        encoder_config=TINY_ENCODER, identity_dim=8, content_dim=16, style_dim=32, motion_dim=4,
        motion_noise_dim=4, emotion_embed_dim=4, image_size=32, generator_channels=(16, 16, 8, 8),
    )
    return Speech2VideoConfig(**{**kwargs, **overrides})


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random Speech2VideoModel saved with save_pretrained."""
    import torch

    from speech2video import Speech2VideoModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny"
    Speech2VideoModel(tiny_config()).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_model_dir):
    from speech2video import Speech2VideoPipeline

    return Speech2VideoPipeline.from_pretrained(tiny_model_dir)


def load_example_script(name: str, folder: str = "examples"):
    """Import `<folder>/<name>.py` as a module (the training scripts and benchmarks are files, not package modules)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def speech_like(seconds=1.0, rate=16_000, channels=1, seed=0):
    """A voiced, syllable-modulated signal (float32, shape (n,) or (n, channels)) standing in for speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    voiced = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / rate) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    signal = (0.2 * voiced * envelope + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    return signal if channels == 1 else np.stack([signal] * channels, axis=1)


@pytest.fixture
def wav_file(tmp_path):
    import soundfile

    path = tmp_path / "speech.wav"
    soundfile.write(path, speech_like(1.2), 16_000)
    return path


@pytest.fixture(scope="session")
def corpus_with_targets(tmp_path_factory):
    """A 40-clip SynthTalk corpus (32 px) whose teacher targets are its ground truth (identity vector, one-hot
    emotion, mouth opening), standing in for a trained teacher; plus a tiny model config.json beside it."""
    import json

    from speech2video.data.synthtalk import EMOTIONS, build_corpus
    from speech2video.teachers.targets import TARGETS_INFO

    folder = tmp_path_factory.mktemp("synthtalk-targets")
    corpus = build_corpus(folder / "synthtalk", num_clips=40, num_speakers=10, image_size=32, seed=3, num_proc=2)
    labels = list(EMOTIONS)
    corpus = corpus.map(lambda row: {
        "teacher_identity": row["identity"],
        "teacher_emotion": np.eye(len(labels))[labels.index(row["emotion"])].tolist(),
        "teacher_mouth_open": row["mouth_open"],
    })
    corpus.save_to_disk(folder / "targets")
    (folder / "targets" / TARGETS_INFO).write_text(json.dumps({"emotion_classes": labels}))
    config = dict(encoder_config=TINY_ENCODER, content_dim=16, style_dim=32, motion_dim=4, motion_noise_dim=4,
                  emotion_embed_dim=4, image_size=32, generator_channels=[16, 16, 8, 8])
    (folder / "config.json").write_text(json.dumps(config))
    return folder
