"""The optimised path (torch.compile) renders the same frames as the eager one, float rounding aside."""

import logging
import os
import shutil

import numpy as np
import pytest
import torch

from conftest import speech_like
from speech2video import Speech2VideoPipeline
from speech2video.optimization import CompiledDecoder


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "g++")) is None, reason="torch.compile needs a C++ compiler")
def test_compiled_pipeline_gives_the_eager_frames_at_any_length(tiny_model_dir):
    eager = Speech2VideoPipeline.from_pretrained(tiny_model_dir)
    compiled = Speech2VideoPipeline.from_pretrained(tiny_model_dir, compile=True)
    assert compiled.decoder.compiled is not compiled.model.generator.decode, "compilation fell back to eager"
    for seconds in (0.04, 0.7, 1.33):  # 1, 17 and 33 frames: partial, single and several compiled batches
        audio = speech_like(seconds, seed=5)
        fast = compiled(audio, sampling_rate=16_000, seed=2).frames
        reference = eager(audio, sampling_rate=16_000, seed=2).frames
        assert fast.shape == reference.shape
        assert np.abs(fast.astype(int) - reference).max() <= 1  # a grey level, from float rounding


def test_a_failed_compilation_falls_back_to_eager_with_a_warning(tiny_pipeline, monkeypatch, caplog):
    def broken_compile(function, **options):
        def fails(*args):
            raise RuntimeError("no C++ compiler found")
        return fails

    monkeypatch.setattr(torch, "compile", broken_compile)
    with caplog.at_level(logging.WARNING, logger="speech2video.optimization"):
        decoder = CompiledDecoder(tiny_pipeline.model.generator, batch_size=4)
    assert "no C++ compiler found" in caplog.text
    styles = torch.randn(6, tiny_pipeline.model.config.style_dim)
    with torch.inference_mode():
        torch.testing.assert_close(decoder(styles), tiny_pipeline.model.generator.decode(styles))
