"""Draw a model's contact sheet and two short sample videos from held-out clips (docs/samples/).

    python docs/make_samples.py --model synthtalk-128 --corpus synthtalk-test
    python docs/make_samples.py --model grid-s1-128 --corpus grid-test

The sheet has a row per video and clip at the same 8 moments: the real frames, the speech-only video and,
for a model that can use a picture (an identity teacher or reference frames), the static-image baseline
given the clip's first real frame. The videos put them side by side, with the clip's audio.
"""

import argparse
from pathlib import Path

import numpy as np
import skia
from datasets import load_from_disk

from speech2video import Speech2VideoPipeline, write_video
from speech2video.data.schema import decode_audio, decode_frames

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {"synthtalk-test": ROOT / "corpora" / "synthtalk-targets", "grid-test": ROOT / "corpora" / "grid_s1"}
OUTPUT = Path(__file__).parent / "samples"
CLIPS = (3, 11)  # fixed test clips (unseen speakers and sentences)
COLUMNS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="synthtalk-test")
    args = parser.parse_args()
    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    name = args.model or "default"
    test = load_from_disk(str(CORPORA[args.corpus]))["test"]
    with_baseline = pipe.model.config.takes_reference_image
    OUTPUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in CLIPS:
        row = test[index]
        audio, real = decode_audio(row), decode_frames(row)
        speech_only = pipe(audio, sampling_rate=16_000, seed=0).frames[: len(real)]
        videos = [real, speech_only]
        if with_baseline:
            videos.append(pipe(audio, sampling_rate=16_000, seed=0, reference_image=real[0]).frames[: len(real)])
        moments = np.linspace(0, len(real) - 1, COLUMNS).round().astype(int)
        rows += [np.concatenate(list(video[moments]), axis=1) for video in videos]
        path = OUTPUT / ("-".join(filter(None, [name, Path(row["clip_id"]).name, row["emotion"]])) + ".mp4")
        write_video(path, np.concatenate(videos, axis=2), fps=25.0, audio=audio, overwrite=True)
        print(f"wrote {path}: real | speech-only{' | static-image baseline' * with_baseline} ({row['text']!r})")
    sheet = np.concatenate(rows, axis=0)
    rgba = np.concatenate([sheet, np.full(sheet.shape[:2] + (1,), 255, np.uint8)], axis=2)
    sheet_path = OUTPUT / f"{name}-contact-sheet.png"
    skia.Image.fromarray(np.ascontiguousarray(rgba), colorType=skia.ColorType.kRGBA_8888_ColorType).save(
        str(sheet_path), skia.kPNG)
    print(f"wrote {sheet_path}: per clip, rows real / speech-only{' / baseline' * with_baseline} at {COLUMNS} moments")


if __name__ == "__main__":
    main()
