import subprocess
import sys

from speech2video import read_video


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "speech2video", *map(str, args)], capture_output=True, text=True)


def test_help_is_quick_and_does_not_import_torch():
    code = "import sys; from speech2video.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "generate" in result.stdout and result.stdout.strip().endswith("False")


def test_generate_round_trip_and_overwrite(tiny_model_dir, wav_file, tmp_path):
    out = tmp_path / "out.mp4"
    result = run_cli("generate", wav_file, "-o", out, "--model", tiny_model_dir, "--seed", 3)
    assert result.returncode == 0, result.stderr
    frames, fps = read_video(out)
    assert len(frames) == 30 and fps == 25
    again = run_cli("generate", wav_file, "-o", out, "--model", tiny_model_dir)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert run_cli("generate", wav_file, "-o", out, "--model", tiny_model_dir, "--overwrite").returncode == 0


def test_errors_are_one_clear_line(tiny_model_dir, wav_file, tmp_path):
    missing = run_cli("generate", tmp_path / "none.wav", "-o", tmp_path / "o.mp4", "--model", tiny_model_dir)
    assert missing.returncode == 2 and "audio file not found" in missing.stderr and "Traceback" not in missing.stderr
    no_folder = run_cli("generate", tmp_path / "none.wav", "-o", tmp_path / "nope" / "o.mp4", "--model", tiny_model_dir)
    assert no_folder.returncode == 2 and "output folder does not exist" in no_folder.stderr
    too_lively = run_cli("generate", tmp_path / "none.wav", "-o", tmp_path / "o.mp4", "--model", tiny_model_dir,
                         "--motion-scale", 5)
    assert too_lively.returncode == 2 and "motion_scale must be" in too_lively.stderr and "Traceback" not in too_lively.stderr
    pictured = run_cli("generate", wav_file, "-o", tmp_path / "o.mp4", "--model", tiny_model_dir,
                       "--reference-image", tmp_path / "face.png")
    assert pictured.returncode == 2 and "no identity teacher" in pictured.stderr and "Traceback" not in pictured.stderr
