"""End-to-end speed of the default model on this machine, eager path beside the optimised (compiled) one.

For each path and input length, a fresh process loads the model, then streams the generation of a wav into
an mp4 (audio decode -> encoder -> generator -> mp4 written, what `speech2video generate` does). Reported,
best and median of `--repeats` runs: frames/s end to end, the real-time factor (seconds of video per
second of compute), the time to the first frame after the model is loaded (streaming), and the process's
peak RSS. Cold start is `import speech2video` + loading the default model in a new process, after a first
run has warmed the OS caches (and, for the compiled path, inductor's on-disk cache: it includes loading
the compiled generator). `batch` compares 8 inputs of 4 s one by one with `batch_size=4`. Prints one
JSON object.

    python benchmarks/speed.py [--lengths 4 60 600] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "audio" / "synthtalk_happy.wav"
PATHS = ("eager", "compiled")

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
import speech2video
from speech2video import Speech2VideoPipeline
from speech2video.video import VideoWriter
path, task = sys.argv[1], sys.argv[2]
pipe = Speech2VideoPipeline.from_pretrained(compile=path == "compiled")
loaded = time.perf_counter()
result = {"load_s": loaded - started}
if task == "stream":
    stream = pipe(sys.argv[3], seed=0, stream=True)
    chunks = iter(stream)
    first = next(chunks)
    result["first_frame_s"] = time.perf_counter() - loaded
    with VideoWriter(sys.argv[4], stream.fps, stream.audio, stream.sampling_rate, overwrite=True) as writer:
        writer.write(first)
        for frames in chunks:
            writer.write(frames)
    result.update(generate_s=time.perf_counter() - loaded, frames=stream.num_frames)
elif task == "batch":
    inputs = sys.argv[3:]
    pipe(inputs[0], seed=0)  # warm-up
    began = time.perf_counter()
    for item in inputs:
        pipe(item, seed=0)
    one_by_one = time.perf_counter() - began
    began = time.perf_counter()
    pipe(inputs, seed=0, batch_size=4)
    result.update(one_by_one_s=one_by_one, batched_s=time.perf_counter() - began, clips=len(inputs))
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def run_child(*args: str) -> dict:
    output = subprocess.run([sys.executable, "-c", CHILD, *args], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def best_and_median(values: list[float], best=max, digits: int = 1) -> dict:
    return {"best": round(best(values), digits), "median": round(statistics.median(values), digits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[4.0, 60.0, 600.0], help="input lengths in seconds")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (1 for inputs over 300 s)")
    args = parser.parse_args()
    speech, rate = soundfile.read(EXAMPLE, dtype="float32")
    report = {"model": "default", "machine_threads": __import__("torch").get_num_threads()}
    with tempfile.TemporaryDirectory() as folder:
        run_child("eager", "-")  # warm the OS file cache
        for path in PATHS:
            cold = [run_child(path, "-")["load_s"] for _ in range(args.repeats)]
            entry = report.setdefault(path, {})
            entry["cold_start_s"] = best_and_median(cold, best=min, digits=3)
            for seconds in args.lengths:
                audio = np.tile(speech, int(np.ceil(seconds * rate / len(speech))))[: int(seconds * rate)]
                wav, mp4 = Path(folder) / f"{seconds:g}s.wav", Path(folder) / f"{seconds:g}s.mp4"
                soundfile.write(wav, audio, rate)
                runs = [run_child(path, "stream", str(wav), str(mp4)) for _ in range(1 if seconds > 300 else args.repeats)]
                fps = [run["frames"] / run["generate_s"] for run in runs]
                entry[f"{seconds:g}s"] = {
                    "frames": runs[0]["frames"],
                    "end_to_end_fps": best_and_median(fps),
                    "real_time_factor": best_and_median([f / 25 for f in fps], digits=2),
                    "first_frame_ms": best_and_median([1000 * run["first_frame_s"] for run in runs], best=min, digits=0),
                    "peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs)),
                }
            clips = []
            for index in range(8):
                clip = Path(folder) / f"clip{index}.wav"
                soundfile.write(clip, np.roll(speech, index * 1000)[: 4 * rate], rate)
                clips.append(str(clip))
            batch = run_child(path, "batch", *clips)
            entry["batch_8x4s"] = {"one_by_one_s_per_clip": round(batch["one_by_one_s"] / 8, 3),
                                   "batch_size_4_s_per_clip": round(batch["batched_s"] / 8, 3)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
