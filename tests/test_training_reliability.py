"""Training a team can leave running: a run killed with SIGKILL resumes to the state (and the loss log) of an
uninterrupted run, and `accelerate launch --num_processes 2` (DDP over gloo) trains like one process at equal
global batch."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_distillation.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def _arguments(corpus, output, *extra):
    return ["--dataset_path", str(corpus / "targets"), "--output_dir", str(output), "--model_config",
            str(corpus / "config.json"), "--max_frames", "25", "--learning_rate", "3e-3", "--lr_warmup_steps", "0",
            "--validation_steps", "1000", "--seed", "0", *extra]


def _weights(folder: Path) -> dict:
    return load_file(folder / "model.safetensors")


def test_sigkilled_run_resumes_to_the_uninterrupted_state(corpus_with_targets, tmp_path):
    options = ["--train_batch_size", "4", "--max_train_steps", "60", "--checkpointing_steps", "3",
               "--checkpoints_total_limit", "2"]
    reference, victim = tmp_path / "uninterrupted", tmp_path / "killed"
    subprocess.run([sys.executable, str(SCRIPT), *_arguments(corpus_with_targets, reference, *options)],
                   check=True, env=ENV, capture_output=True)

    process = subprocess.Popen([sys.executable, str(SCRIPT), *_arguments(corpus_with_targets, victim, *options)],
                               env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not any(victim.glob("*checkpoint-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    delay = random.uniform(0.0, 1.0)  # a random moment: mid-step, mid-save, or between checkpoints
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, f"the run finished before the kill ({delay:.2f} s after its first save)"
    assert not (victim / "model.safetensors").exists()

    resumed = subprocess.run([sys.executable, str(SCRIPT), *_arguments(corpus_with_targets, victim, *options),
                              "--resume_from_checkpoint", "latest"], env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr, f"nothing to resume {delay:.2f} s after the first save"
    expected, actual = _weights(reference), _weights(victim)
    for name in expected:
        assert (expected[name] - actual[name]).abs().max() <= 1e-6, f"{name} differs (killed {delay:.2f} s in)"
    assert not list(victim.glob(".checkpoint-*.tmp")), "a half-written checkpoint was left behind"
    # the steps the killed run logged after its checkpoint are taken again: the log holds each step once
    expected_losses, actual_losses = _losses(reference), _losses(victim)
    assert len(actual_losses) == len(expected_losses) == 60
    assert max(abs(a - b) / abs(a) for a, b in zip(expected_losses, actual_losses)) < 1e-4


def _losses(folder: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (folder / "losses.jsonl").read_text().splitlines()]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two training processes need two cores")
def test_two_processes_train_like_one_at_equal_global_batch(corpus_with_targets, tmp_path):
    """No augmentation and whole clips (`--max_frames` above any clip), so the global batches hold the same
    audio; what differs is padding (each process pads to its own longest clip) and float summation order."""
    options = ["--max_train_steps", "8", "--checkpointing_steps", "1000", "--no_augmentation", "--max_frames", "1000"]
    single, double = tmp_path / "one-process", tmp_path / "two-processes"
    subprocess.run([sys.executable, str(SCRIPT), *_arguments(corpus_with_targets, single, *options),
                    "--train_batch_size", "4"], check=True, env=ENV, capture_output=True)
    # --multi_gpu starts the processes (torchrun); ACCELERATE_USE_CPU makes Accelerate join them over gloo on
    # the CPU (`accelerate launch --cpu --num_processes 2` alone would start a single process)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517"]
    result = subprocess.run([*launch, str(SCRIPT), *_arguments(corpus_with_targets, double, *options),
                             "--train_batch_size", "2"], env={**ENV, "ACCELERATE_USE_CPU": "true"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Num processes: 2" in result.stderr
    one, two = _losses(single), _losses(double)
    assert len(one) == len(two) == 8
    relative = [abs(a - b) / abs(a) for a, b in zip(one, two)]
    print("relative loss difference per step, 1 vs 2 processes:", [round(r, 4) for r in relative])
    assert relative[0] < 0.005, f"same weights, same audio: step 1 must agree ({one[0]} vs {two[0]})"
    # every step, not only the first: the processes average their gradients, so both take the global batch's
    # step (each on its own half, they drifted 1.4-2.9 % apart from step 2; averaged, 0.01-0.09 %)
    assert max(relative) < 0.005, f"per-step loss, 1 vs 2 processes: {one} vs {two}"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two training processes need two cores")
def test_the_generator_script_trains_on_two_processes(corpus_with_targets, tmp_path):
    """Stage 2 under DDP: critics and generator synchronised, losses averaged over the 2 processes, and the
    saved model loads. (Its per-step losses are not compared with 1 process: each process draws its own
    motion noise, so the runs differ by design.)"""
    from conftest import tiny_config
    from speech2video import Speech2VideoModel
    from speech2video.data.synthtalk import EMOTIONS

    student, output = tmp_path / "student", tmp_path / "generator"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(student)
    script = SCRIPT.with_name("train_generator.py")
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29518"]
    result = subprocess.run([*launch, str(script), "--dataset_path", str(corpus_with_targets / "targets"),
                             "--student_model_path", str(student), "--output_dir", str(output),
                             "--train_batch_size", "1", "--motion_frames", "16", "--max_train_steps", "6",
                             "--adversarial_start_step", "3", "--checkpointing_steps", "3", "--validation_steps", "100",
                             "--cache_dir", str(tmp_path / "cache")],  # the main process writes it, the other reads
                            env={**ENV, "ACCELERATE_USE_CPU": "true"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Num processes: 2" in result.stderr
    logs = [json.loads(line) for line in (output / "losses.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in logs] == list(range(1, 7)) and "loss_d" in logs[-1]
    assert Speech2VideoModel.from_pretrained(output).config.identity_dim == 14
    kept = sorted(path.suffix for path in (tmp_path / "cache" / "student-features").iterdir())
    assert kept == [".safetensors", ".safetensors"]  # training and validation clips, no partial file left


def test_sharded_setups_are_refused_with_a_clear_message():
    """FSDP and DeepSpeed shard parameters and gather them in the wrapper's forward, which the scripts bypass."""
    from types import SimpleNamespace

    from accelerate.utils import DistributedType

    from speech2video.training.distributed import require_replicated_parameters

    for sharded in (DistributedType.FSDP, DistributedType.DEEPSPEED):
        with pytest.raises(SystemExit, match="not supported.*--multi_gpu"):
            require_replicated_parameters(SimpleNamespace(distributed_type=sharded))
    require_replicated_parameters(SimpleNamespace(distributed_type=DistributedType.MULTI_CPU))


def test_one_cpu_thread_of_several_cores_is_warned_about(monkeypatch, caplog):
    """`accelerate launch` gives a CPU process one thread: a single process is told how to use every core."""
    import logging
    from types import SimpleNamespace

    import torch

    from speech2video.training import distributed

    logger = logging.getLogger("test_threads")
    single_cpu = SimpleNamespace(device=torch.device("cpu"), num_processes=1)
    monkeypatch.setattr(distributed.os, "cpu_count", lambda: 4)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with caplog.at_level(logging.WARNING, logger="test_threads"):
            distributed.warn_if_one_cpu_thread(single_cpu, logger)
            distributed.warn_if_one_cpu_thread(SimpleNamespace(device=torch.device("cpu"), num_processes=2), logger)
        assert [r.getMessage() for r in caplog.records] == [
            "training on 1 CPU thread of 4 cores; to use them all, run `accelerate launch --num_cpu_threads_per_process 4 ...`"]
        torch.set_num_threads(2)
        caplog.clear()
        distributed.warn_if_one_cpu_thread(single_cpu, logger)
        assert not caplog.records
    finally:
        torch.set_num_threads(threads)


def test_resuming_drops_the_log_entries_the_run_takes_again(tmp_path):
    """Steps after the checkpoint, and a line the kill cut short, leave the log; earlier steps stay as they were."""
    from speech2video.training.logs import drop_logs_after

    lines = [json.dumps({"step": step, "loss": 1.0 / step}) for step in range(1, 8)]
    (tmp_path / "losses.jsonl").write_text("\n".join(lines) + '\n{"step": 8, "lo')
    drop_logs_after(tmp_path, 5)
    assert (tmp_path / "losses.jsonl").read_text() == "\n".join(lines[:5]) + "\n"
    drop_logs_after(tmp_path / "elsewhere", 5)  # no log yet: nothing to do


def test_the_checkpoint_to_resume_is_found_as_diffusers_scripts_take_it(tmp_path, caplog):
    """A folder, a name inside the output dir, or "latest"; a missing one is refused before any corpus loads."""
    from conftest import load_example_script
    from speech2video.training.checkpointing import find_checkpoint, resume

    for step in (500, 1000):
        (tmp_path / f"checkpoint-{step}").mkdir()
    assert find_checkpoint(tmp_path, "latest") == tmp_path / "checkpoint-1000"
    assert find_checkpoint(tmp_path, "checkpoint-500") == tmp_path / "checkpoint-500"
    assert find_checkpoint(tmp_path, str(tmp_path / "checkpoint-500")) == tmp_path / "checkpoint-500"
    assert find_checkpoint(tmp_path / "new-run", "latest") is None and find_checkpoint(tmp_path, None) is None
    with caplog.at_level("INFO"):
        assert resume(None, tmp_path / "new-run", "latest") == 0
    assert "starting a new run" in caplog.text
    with pytest.raises(FileNotFoundError, match="checkpoint-700"):
        find_checkpoint(tmp_path, "checkpoint-700")
    for script in ("train_distillation", "train_generator"):
        arguments = ["--dataset_path", "corpus", "--output_dir", str(tmp_path), "--resume_from_checkpoint", "checkpoint-700"]
        if script == "train_generator":
            arguments += ["--student_model_path", "student"]
        with pytest.raises(SystemExit):
            load_example_script(script).parse_args(arguments)
