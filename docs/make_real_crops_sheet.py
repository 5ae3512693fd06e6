"""Draw docs/images/real_aligned_crops.jpg: aligned face crops from real-video corpora, one row per clip.

    python examples/build_corpus.py --input_dir ../shared/data/real_multi/video --output_dir corpora/real_multi
    python docs/make_real_crops_sheet.py corpora/real_multi corpora/grid_s1
"""

import sys
from pathlib import Path

import numpy as np
import skia
from datasets import load_from_disk

from speech2video.data.schema import decode_frames

OUTPUT = Path(__file__).parent / "images" / "real_aligned_crops.jpg"


def main(corpus_paths: list[str], clips_per_corpus: int = 5, frames_per_clip: int = 5) -> None:
    rows = []
    for path in corpus_paths:
        corpus = load_from_disk(path)
        clips = [row for split in corpus.values() for row in split][:clips_per_corpus]
        for row in clips:
            frames = decode_frames(row)
            picks = np.linspace(0, len(frames) - 1, frames_per_clip).round().astype(int)
            rows.append(np.concatenate([frames[i] for i in picks], axis=1))
    sheet = np.concatenate(rows, axis=0)
    rgba = np.concatenate([sheet, np.full(sheet.shape[:2] + (1,), 255, np.uint8)], axis=2)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    skia.Image.fromarray(np.ascontiguousarray(rgba), colorType=skia.ColorType.kRGBA_8888_ColorType).save(str(OUTPUT), skia.kJPEG, 85)
    print(f"wrote {OUTPUT} ({len(rows)} clips x {frames_per_clip} frames)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["corpora/real_multi", "corpora/grid_s1"])
