import json

import numpy as np
import pytest
import torch

from conftest import tiny_config
from speech2video import CheckpointError, Speech2VideoConfig, Speech2VideoModel


def _generate(model, audio, seed=0, **kwargs):
    with torch.no_grad():
        return model(audio, generator=torch.Generator().manual_seed(seed), **kwargs)


def test_output_shapes_and_ranges():
    model = Speech2VideoModel(tiny_config()).eval()
    output = _generate(model, torch.randn(2, 16_000))
    assert output.frames.shape == (2, 25, 3, 32, 32)
    assert output.frames.min() >= 0 and output.frames.max() <= 1
    assert output.identity_embeds.shape == (2, 8)
    assert output.emotion_logits.shape == (2, 7)
    assert output.content_features.shape == (2, 25, 16)
    assert output.motion.shape == (2, 25, 4)


VOICE_STATISTICS = [{}, {"voice_statistics_bands": 8},
                    {"voice_statistics_bands": 8, "voice_statistics_pitch": True, "voice_statistics_modulation": True},
                    {"voice_statistics_bands": 40, "voice_statistics_narrowband": True}]


@pytest.mark.parametrize("voice_statistics", VOICE_STATISTICS)
def test_save_load_round_trip_gives_identical_outputs(tmp_path, voice_statistics):
    model = Speech2VideoModel(tiny_config(**voice_statistics))
    model.eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    reloaded = Speech2VideoModel.from_pretrained(tmp_path).eval()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name
    audio = torch.randn(1, 12_000)
    torch.testing.assert_close(_generate(model, audio).frames, _generate(reloaded, audio).frames, rtol=0, atol=1e-6)


def test_auto_classes_know_the_model(tmp_path):
    from transformers import AutoConfig, AutoModel

    Speech2VideoModel(tiny_config()).save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), Speech2VideoConfig)
    assert isinstance(AutoModel.from_pretrained(tmp_path), Speech2VideoModel)


@pytest.mark.parametrize("voice_statistics", VOICE_STATISTICS)
def test_padded_batch_matches_single_items(voice_statistics):
    model = Speech2VideoModel(tiny_config(**voice_statistics)).eval()
    audio = torch.randn(2, 16_000)
    audio[1, 8_000:] = 0
    mask = torch.ones_like(audio, dtype=torch.long)
    mask[1, 8_000:] = 0
    generators = [torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)]
    with torch.no_grad():
        batch = model(audio, attention_mask=mask, generator=generators)
    single = _generate(model, audio[1:, :8_000])
    assert batch.frame_mask.sum(dim=1).tolist() == [25, 12]
    torch.testing.assert_close(batch.frames[1, :12], single.frames[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(batch.identity_embeds[1], single.identity_embeds[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(batch.emotion_logits[1], single.emotion_logits[0], atol=1e-5, rtol=0)


def test_seed_controls_motion_and_motion_continues_across_chunks():
    model = Speech2VideoModel(tiny_config()).eval()
    audio = torch.randn(1, 16_000)
    torch.testing.assert_close(_generate(model, audio, seed=3).frames, _generate(model, audio, seed=3).frames)
    assert not torch.allclose(_generate(model, audio, seed=3).motion, _generate(model, audio, seed=4).motion)
    with torch.no_grad():
        whole, _ = model.sample_motion(1, 600, torch.Generator().manual_seed(5))
        first, state = model.sample_motion(1, 300, torch.Generator().manual_seed(5))
        second, _ = model.sample_motion(1, 300, torch.Generator().manual_seed(5), state=state, start_frame=300)
    torch.testing.assert_close(whole, torch.cat([first, second], dim=1))
    with torch.no_grad():
        model.config.motion_scale = 0.5  # the calibrated reach, unless a call gives its own
        half, _ = model.sample_motion(1, 600, torch.Generator().manual_seed(5))
        still, _ = model.sample_motion(1, 600, torch.Generator().manual_seed(5), scale=0.0)
    torch.testing.assert_close(half, 0.5 * whole)
    assert not still.any()


def test_emotion_and_identity_overrides_change_the_frames():
    model = Speech2VideoModel(tiny_config()).eval()
    audio = torch.randn(1, 16_000)
    base = _generate(model, audio)
    angry = _generate(model, audio, emotion="angry")
    other_identity = _generate(model, audio, identity_embeds=torch.randn(1, 8))
    assert not torch.allclose(base.frames, angry.frames)
    assert not torch.allclose(base.frames, other_identity.frames)


def test_emotion_temperature_zero_renders_the_most_likely_emotion():
    """The generator then gets the one-hot of the voice's most likely emotion; the reported logits are as
    before."""
    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config()).eval()
    audio = torch.randn(1, 16_000)
    soft = _generate(model, audio)
    model.config.emotion_temperature = 0.0
    most_likely = _generate(model, audio)
    named = _generate(model, audio, emotion=int(soft.emotion_logits.argmax()))
    torch.testing.assert_close(most_likely.emotion_logits, soft.emotion_logits)
    torch.testing.assert_close(most_likely.frames, named.frames)
    assert not torch.allclose(most_likely.frames, soft.frames)


def test_binary_identity_dims_give_the_generator_the_thresholded_reading():
    """Dimensions 0 and 2 reach the generator as 0 or 1 (the reading > 0.5), the others as read; the reported
    identity is the reading, and an identity given in its place passes unchanged. The pipeline's stream too."""
    from conftest import speech_like
    from speech2video import Speech2VideoPipeline

    torch.manual_seed(0)
    model = Speech2VideoModel(tiny_config(binary_identity_dims=[0, 2])).eval()
    audio = torch.randn(1, 16_000)
    read = _generate(model, audio)
    reading = read.identity_embeds
    assert not torch.isin(reading[0, [0, 2]], torch.tensor([0.0, 1.0])).any()
    thresholded = reading.clone()
    thresholded[:, [0, 2]] = (reading[:, [0, 2]] > 0.5).float()
    torch.testing.assert_close(read.frames, _generate(model, audio, identity_embeds=thresholded).frames)
    assert not torch.allclose(read.frames, _generate(model, audio, identity_embeds=reading).frames)

    pipe = Speech2VideoPipeline(model=model, task="speech-to-video")
    speech = speech_like(1.0, seed=1)
    video = pipe(speech, sampling_rate=16_000, seed=0)
    given = video.identity_embedding.copy()
    given[[0, 2]] = given[[0, 2]] > 0.5
    assert not set(video.identity_embedding[[0, 2]]) <= {0.0, 1.0}  # the reading is reported
    assert (video.frames == pipe(speech, sampling_rate=16_000, seed=0, identity_embedding=given).frames).all()


@pytest.mark.parametrize("kwargs", [dict(image_size=48), dict(image_size=32, generator_channels=(8, 8)),
                                    dict(emotion_labels=["a", "a"]), dict(emotion_temperature=-1),
                                    dict(binary_identity_dims=[8])])
def test_invalid_configs_are_refused(kwargs):
    with pytest.raises(ValueError):
        tiny_config(**kwargs)


def test_partial_encoder_config_keeps_the_other_defaults():
    config = Speech2VideoConfig(encoder_config={"num_hidden_layers": 2})
    assert config.encoder_config.num_hidden_layers == 2
    assert config.encoder_config.feat_extract_norm == "layer"


def _saved(tmp_path):
    Speech2VideoModel(tiny_config()).save_pretrained(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda d: (d / "config.json").unlink(), "no config.json"),
        (lambda d: (d / "config.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "model.safetensors").unlink(), "no model.safetensors"),
        (lambda d: _truncate(d / "model.safetensors"), "truncated or damaged"),
        (lambda d: (d / "model.safetensors").write_bytes(b"\xff" * 64), "not a valid safetensors"),
        (lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"), "pickle weights only"),
    ],
    ids=["no-config", "bad-config", "no-weights", "truncated-weights", "garbage-weights", "pickle-only"],
)
def test_damaged_model_folders_raise_checkpoint_error(tmp_path, damage, message):
    folder = _saved(tmp_path)
    damage(folder)
    with pytest.raises(CheckpointError, match=message):
        Speech2VideoModel.from_pretrained(folder)


def test_missing_folder_and_file_path_raise_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        Speech2VideoModel.from_pretrained(tmp_path / "nothing-here")
    (tmp_path / "config.json").write_text(json.dumps({}))
    with pytest.raises(CheckpointError, match="got a file"):
        Speech2VideoModel.from_pretrained(tmp_path / "config.json")


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("hiss_level", [1e-4, 1e-2])  # 62 dB below the speech (a quiet room), 23 dB (a noisy one)
def test_voice_statistics_do_not_depend_on_the_silence_around_the_speech(hiss_level):
    """Recordings start and stop around the voice (a Space user presses record, then speaks): the statistics
    the identity and emotion read-outs see are those of the speech with 150 ms of its silence at each end
    (as SynthTalk's clips have), whether 1 s of near-silence surrounds it or not, in a batch beside a
    shorter item; digital silence is kept whole rather than cut to nothing."""
    from conftest import speech_like
    from speech2video.modeling_speech2video import VoiceStatistics, trim_silence

    statistics = VoiceStatistics(8, 16_000, pitch=True, modulation=True)
    speech = torch.from_numpy(speech_like(1.0))
    hiss = hiss_level * torch.randn(2, 16_000, generator=torch.Generator().manual_seed(0))
    margin = 2400  # 150 ms
    short = torch.cat([hiss[0, -margin:], speech, hiss[1, :margin]])
    long = torch.cat([hiss[0], speech, hiss[1]])

    def normalised(audio):  # as the feature extractor gives it
        return (audio - audio.mean()) / audio.std(correction=0)

    batch, mask = torch.zeros(2, len(long)), torch.zeros(2, len(long), dtype=torch.long)
    batch[0], batch[1, : len(short)] = normalised(long), normalised(short)
    mask[0], mask[1, : len(short)] = 1, 1
    both, _ = statistics(batch, mask)
    torch.testing.assert_close(both[0], both[1], rtol=0, atol=1e-4)
    silent, silent_mask = trim_silence(torch.zeros(1, 8000), torch.ones(1, 8000, dtype=torch.long))
    assert silent.shape == (1, 8000) and silent_mask.sum() == 8000
    assert not statistics(silent, silent_mask)[0].any()  # no voice reads as the average voice (the scaler's mean)


def test_narrowband_speech_is_read_by_the_narrowband_read_outs_and_wideband_speech_as_before(tmp_path):
    """A telephone line empties the bands above 4 kHz: such an item is standardised by the narrowband scaler and
    read by the narrowband read-outs, beside a wideband item in the same batch, which the model reads exactly as
    a model without narrowband read-outs does; silence is not taken for narrowband speech."""
    from conftest import speech_like
    from speech2video.training.distillation import telephone_line

    wideband_model = Speech2VideoModel(tiny_config(voice_statistics_bands=40)).eval()
    model = Speech2VideoModel(tiny_config(voice_statistics_bands=40, voice_statistics_narrowband=True)).eval()
    model.load_state_dict(wideband_model.state_dict(), strict=False)
    with torch.no_grad():
        model.encoder.voice_statistics.narrowband_mean.fill_(1.0)
        for head in (model.encoder.narrowband_identity_statistics_head, model.encoder.narrowband_emotion_statistics_head):
            head.weight.normal_()
    model.save_pretrained(tmp_path)  # and as loaded
    model = Speech2VideoModel.from_pretrained(tmp_path).eval()
    speech = speech_like(2.0)
    call = telephone_line(speech)
    as_a_16_bit_file = np.round(call * 32767) / 32767  # its rounding fills the empty bands with a noise floor
    audio = torch.from_numpy(np.stack([speech, call, np.zeros_like(speech), as_a_16_bit_file]))
    audio = (audio - audio.mean(1, keepdim=True)) / audio.std(1, keepdim=True).clamp_min(1e-7)
    mask = torch.ones_like(audio, dtype=torch.long)
    voice = model.encoder.voice_statistics
    assert voice.is_narrowband(voice.statistics(audio, mask)).tolist() == [False, True, False, True]

    def speaker(m, items):
        out = m.encode_speech(audio[items], mask[items], torch.full((len(items),), 50))
        return torch.cat([out.identity_embeds, out.emotion_logits], dim=1)

    with torch.no_grad():
        heard = model.encode_speech(audio[:3], mask[:3], torch.full((3,), 50)).narrowband
        assert heard.tolist() == [False, True, False]  # what the pipeline reports (`narrowband`)
        batch = speaker(model, [0, 1, 2])
        torch.testing.assert_close(batch[[0, 2]], speaker(wideband_model, [0, 2]), rtol=0, atol=1e-6)
        torch.testing.assert_close(batch[1:2], speaker(model, [1]), rtol=0, atol=1e-5)
        assert not torch.allclose(batch[1], speaker(wideband_model, [1])[0], atol=1e-3)
        torch.testing.assert_close(speaker(model, [3])[0], batch[1], rtol=0, atol=0.05)
    with pytest.raises(ValueError, match="needs voice statistics"):
        Speech2VideoConfig(voice_statistics_narrowband=True)
