"""The optimised path renders the same frames as the eager one (float rounding aside)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import speech_like
from speech2video import Speech2VideoPipeline
from speech2video.optimization import FastDecoder, UpsampleConv


@pytest.mark.parametrize("shape,bias", [((2, 5, 6, 9), True), ((1, 3, 1, 1), False), ((3, 16, 4, 4), True)])
def test_upsample_conv_equals_nearest_upsampling_then_conv(shape, bias):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(shape[1], 7, 3, padding=1, bias=bias)
    x = torch.randn(shape)
    expected = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
    torch.testing.assert_close(UpsampleConv(conv)(x), expected, atol=1e-5, rtol=0)


def test_upsample_conv_refuses_other_convolutions():
    with pytest.raises(ValueError, match="3x3"):
        UpsampleConv(torch.nn.Conv2d(4, 4, 5, padding=2))


def test_fast_decoder_equals_the_generator(tiny_pipeline):
    generator = tiny_pipeline.model.generator
    styles = torch.randn(6, tiny_pipeline.model.config.style_dim)
    with torch.inference_mode():
        torch.testing.assert_close(FastDecoder(generator)(styles), generator.decode(styles), atol=1e-5, rtol=0)


def test_optimised_and_eager_pipelines_give_the_same_frames(tiny_model_dir):
    audio = speech_like(1.5, seed=5)
    fast = Speech2VideoPipeline.from_pretrained(tiny_model_dir)(audio, sampling_rate=16_000, seed=2)
    eager = Speech2VideoPipeline.from_pretrained(tiny_model_dir, optimize=False)(audio, sampling_rate=16_000, seed=2)
    assert np.abs(fast.frames.astype(int) - eager.frames).max() <= 1  # a grey level, from float rounding


def test_fast_decoder_follows_the_weights_of_each_call(tiny_pipeline):
    """The pipeline folds the generator's weights at every call, so training samples see current weights."""
    audio = speech_like(0.5, seed=6)
    before = tiny_pipeline(audio, sampling_rate=16_000, seed=0).frames
    generator = tiny_pipeline.model.generator
    saved = generator.blocks[0].conv1.weight.detach().clone()
    try:
        with torch.no_grad():
            generator.blocks[0].conv1.weight.mul_(-1)
        assert not np.array_equal(tiny_pipeline(audio, sampling_rate=16_000, seed=0).frames, before)
    finally:
        with torch.no_grad():
            generator.blocks[0].conv1.weight.copy_(saved)
