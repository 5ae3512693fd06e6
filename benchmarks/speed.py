"""End-to-end speed of the default model on this machine (eager path; the optimised and streaming paths of
issue 9 are not built yet).

For each input length, a fresh process loads the model, reads a wav, generates and writes the mp4; the
parent reports the best and median of `--repeats` runs: frames/s end to end (decode -> encoder ->
generator -> mp4 written), the real-time factor (seconds of video per second of compute), the model load
time, and the child's peak RSS. Cold start is `import speech2video` + loading the default model in a new
process, after a first run has warmed the OS caches. Prints one JSON object.

    python benchmarks/speed.py [--lengths 4 60] [--repeats 3]
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

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
import speech2video
from speech2video import Speech2VideoPipeline
pipe = Speech2VideoPipeline.from_pretrained()
loaded = time.perf_counter()
if sys.argv[1] != "-":
    video = pipe(sys.argv[1], seed=0)
    video.save(sys.argv[2], overwrite=True)
    frames = len(video.frames)
else:
    frames = 0
done = time.perf_counter()
print(json.dumps({"load_s": loaded - started, "generate_s": done - loaded, "frames": frames,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(*args: str) -> dict:
    output = subprocess.run([sys.executable, "-c", CHILD, *args], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[4.0, 60.0], help="input lengths in seconds")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    speech, rate = soundfile.read(EXAMPLE, dtype="float32")
    report = {"model": "default", "path": "eager"}
    with tempfile.TemporaryDirectory() as folder:
        run_child("-")  # warm the OS file cache
        cold = [run_child("-")["load_s"] for _ in range(args.repeats)]
        report["cold_start_s"] = {"min": round(min(cold), 3), "median": round(statistics.median(cold), 3)}
        for seconds in args.lengths:
            audio = np.tile(speech, int(np.ceil(seconds * rate / len(speech))))[: int(seconds * rate)]
            wav, mp4 = Path(folder) / f"{seconds:g}s.wav", Path(folder) / f"{seconds:g}s.mp4"
            soundfile.write(wav, audio, rate)
            runs = [run_child(str(wav), str(mp4)) for _ in range(args.repeats)]
            fps = [run["frames"] / run["generate_s"] for run in runs]
            report[f"{seconds:g}s"] = {
                "frames": runs[0]["frames"],
                "end_to_end_fps": {"max": round(max(fps), 1), "median": round(statistics.median(fps), 1)},
                "real_time_factor": {"max": round(max(fps) / 25, 2), "median": round(statistics.median(fps) / 25, 2)},
                "peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs)),
            }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
