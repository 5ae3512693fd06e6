"""Build a corpus of aligned face crops + speech from a folder of real talking-face videos.

    python examples/build_corpus.py --input_dir ../shared/data/grid_s1/video --preset grid --output_dir corpora/grid_s1
    python examples/build_corpus.py --input_dir ../shared/data/real_multi/video --output_dir corpora/real_multi

The corpus is a `datasets.DatasetDict` (see speech2video/data/schema.py) saved with `save_to_disk`; every
dropped file or frame range is listed in the report printed at the end (and saved as report.txt beside it).
"""

import argparse
import time
from pathlib import Path

from speech2video.data.video_corpus import PRESETS, build_video_corpus


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input_dir", required=True, help="folder of videos (searched recursively)")
    parser.add_argument("--output_dir", required=True, help="where the DatasetDict is saved")
    parser.add_argument("--preset", default="none", choices=sorted(PRESETS), help="parse labels from file names")
    parser.add_argument("--image_size", type=int, default=128, help="side of the square face crops")
    parser.add_argument("--split_by", default="clip", choices=["clip", "speaker", "none"],
                        help="train/validation/test by a hash of the clip or speaker id; none: all train")
    parser.add_argument("--detect_every", type=int, default=5, help="run the face detector every k frames")
    parser.add_argument("--num_proc", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--max_clips", type=int, default=None, help="use only the first N files (quick runs)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output_dir")
    return parser.parse_args()


def main():
    args = parse_args()
    started = time.perf_counter()
    corpus, report = build_video_corpus(
        args.input_dir, args.output_dir, preset=args.preset, image_size=args.image_size,
        split_by=None if args.split_by == "none" else args.split_by, num_proc=args.num_proc,
        max_clips=args.max_clips, detect_every=args.detect_every, overwrite=args.overwrite,
    )
    elapsed = time.perf_counter() - started
    (Path(args.output_dir) / "report.txt").write_text(f"{report}\n")
    print(report)
    print(corpus)
    num_files = len(report.files)
    print(f"{elapsed:.1f} s wall for {num_files} files: {elapsed / num_files:.2f} s per file")


if __name__ == "__main__":
    main()
