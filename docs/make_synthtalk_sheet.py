"""Draw docs/images/synthtalk_contact_sheet.png: SynthTalk identities (rows) x emotions (columns).

    python docs/make_synthtalk_sheet.py
"""

from pathlib import Path

import numpy as np
import skia

from speech2video.data.synthtalk import EMOTIONS, Speaker, make_clip

OUTPUT = Path(__file__).parent / "images" / "synthtalk_contact_sheet.png"
SENTENCE = "Bob bought a big map at the market."


def main(num_speakers: int = 6, image_size: int = 96) -> None:
    rows = []
    for speaker_id in range(num_speakers):
        speaker = Speaker.from_seed(speaker_id)
        cells = []
        for emotion in EMOTIONS:
            clip = make_clip(speaker, emotion, 1.0, SENTENCE, seed=speaker_id, image_size=image_size)
            cells.append(clip.frames[int(np.argmax(clip.mouth_open))])  # the widest-open frame
        rows.append(np.concatenate(cells, axis=1))
    sheet = np.concatenate(rows, axis=0)
    rgba = np.concatenate([sheet, np.full(sheet.shape[:2] + (1,), 255, np.uint8)], axis=2)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    skia.Image.fromarray(rgba, colorType=skia.ColorType.kRGBA_8888_ColorType).save(str(OUTPUT), skia.kPNG)
    print(f"wrote {OUTPUT} ({num_speakers} speakers x {len(EMOTIONS)} emotions: {', '.join(EMOTIONS)})")


if __name__ == "__main__":
    main()
