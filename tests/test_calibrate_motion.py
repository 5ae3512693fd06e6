"""examples/calibrate_motion.py: the motion scale whose rendered flicker matches the real videos'."""

import json

import numpy as np
import pytest
import torch

from conftest import load_example_script, tiny_config
from speech2video import Speech2VideoConfig, Speech2VideoModel
from speech2video.data.synthtalk import EMOTIONS

calibrate_motion = load_example_script("calibrate_motion")


class FlickeringPipe:
    """Stands in for a pipeline: frames alternating between two levels `gain` x motion_scale apart, so the
    flicker of its videos is proportional to the scale."""

    def __init__(self, gain: float):
        self.gain = gain

    def __call__(self, audio, sampling_rate, seed, motion_scale):
        frames = np.full((10, 32, 32, 3), 0.4)
        frames[::2] += self.gain * motion_scale
        return type("Video", (), {"frames": frames})


@pytest.mark.parametrize("target,max_scale,expected", [(0.004, 1.0, 0.4), (0.025, 3.0, 2.5), (0.0, 1.0, 0.0),
                                                        (0.025, 1.0, 1.0)])
def test_bisection_finds_the_scale_of_the_real_flicker(target, max_scale, expected):
    scale, measured = calibrate_motion.calibrate(FlickeringPipe(gain=0.01), [np.zeros(16_000)], target, steps=7,
                                                 max_scale=max_scale)
    assert scale == pytest.approx(expected, abs=0.03)
    assert measured[scale] == pytest.approx(min(target, 0.01 * max_scale), abs=0.0005)  # damping only by default


def test_script_saves_the_model_with_its_calibrated_scale_and_keeps_the_weights(corpus_with_targets, tmp_path, capsys):
    torch.manual_seed(0)
    model_dir, output = tmp_path / "model", tmp_path / "calibrated"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(model_dir)
    args = ["--model", str(model_dir), "--dataset_path", str(corpus_with_targets / "targets"), "--output_dir", str(output),
            "--max_clips", "2", "--bisection_steps", "2"]
    calibrate_motion.main(args)
    report = json.loads(capsys.readouterr().out)
    scale = Speech2VideoConfig.from_pretrained(output).motion_scale
    assert report["motion_scale"] == scale and 0 <= scale <= 3 and report["clips"] == 2
    assert report["real_flicker"] > 0 and str(f"{scale:.4f}") in report["flicker_by_scale"]
    assert report["flicker_change_from_motion"] == pytest.approx(
        report["flicker_by_scale"]["1.0000"] - report["flicker_by_scale"]["0.0000"])
    calibrated, original = Speech2VideoModel.from_pretrained(output), Speech2VideoModel.from_pretrained(model_dir)
    for (name, value), (_, before) in zip(calibrated.state_dict().items(), original.state_dict().items()):
        assert torch.equal(value, before), name
    with pytest.raises(SystemExit, match="--overwrite"):
        calibrate_motion.main(args)


def test_script_warns_when_it_switches_the_motion_off(corpus_with_targets, tmp_path, monkeypatch, caplog):
    model_dir, output = tmp_path / "model", tmp_path / "calibrated"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(model_dir)

    def jittery(pipe, clips, target, steps, max_scale):  # flickers more than the real videos even without motion
        return 0.0, {0.0: 2 * target + 0.01, max_scale: 3 * target + 0.02}

    monkeypatch.setattr(calibrate_motion, "calibrate", jittery)
    calibrate_motion.main(["--model", str(model_dir), "--dataset_path", str(corpus_with_targets / "targets"),
                           "--output_dir", str(output), "--max_clips", "2"])
    assert Speech2VideoConfig.from_pretrained(output).motion_scale == 0.0
    assert "will not blink or move their head" in caplog.text
