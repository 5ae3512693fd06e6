"""What a SynthTalk-trained model hears in real voices, and shows: LibriSpeech utterances (one per speaker).

The student never heard a real voice in training. Each utterance goes through the pipeline (as a user's
recording would: identity and emotion read from its first 20 s); this prints one JSON object with the
distribution of the emotions it infers (read speech is mostly neutral, so a sound student should say
"neutral" often) and its gender against the speakers' sex from LibriSpeech's SPEAKERS.TXT (SynthTalk's
identity dimension 0 is gender, > 0.5 female), over all speakers and over the women and the men apart (a
read-out that calls most real voices male is right for nearly all men). With `--render_seconds` (default
2) it also renders the first seconds of each video and has the SynthTalk evaluation teacher, which no
training used, read the gender of the face: what a viewer sees. With `--hum_snr_db`, each utterance is heard
with mains hum (50 Hz and its harmonics, as a recording near power lines or a ground loop has) that many dB
below the speech: a background the voice statistics should not take for the voice. With `--telephone`, each
utterance is heard over a telephone line (300-3400 Hz, sampled at 8 kHz: `telephone_line`), as a phone call or a
narrowband recording is. It also reports the share of utterances the model's voice statistics take for
narrowband speech (the pipeline output's `narrowband`; models with narrowband read-outs read those with them).

    python benchmarks/real_voices.py --model synthtalk-128 [--data ../shared/data/librispeech/librispeech_train-clean-100]
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from speech2video import Speech2VideoPipeline
from speech2video.audio import load_audio
from speech2video.teachers.synthtalk import EVALUATOR, SynthTalkTeacher
from speech2video.training.distillation import at_snr, mains_hum, telephone_line

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech" / "librispeech_train-clean-100"


def speaker_sex(speakers_file: Path) -> dict[str, str]:
    """reader id -> "F" or "M", from LibriSpeech's pipe-separated SPEAKERS.TXT."""
    sexes = {}
    for line in speakers_file.read_text().splitlines():
        if not line.startswith(";") and line.count("|") >= 2:
            reader, sex = (field.strip() for field in line.split("|")[:2])
            sexes[reader] = sex
    return sexes


def first_frames(stream, count: int) -> np.ndarray:
    """The first `count` frames (count, S, S, 3) uint8 of a `Speech2VideoStream`, rendering no more chunks."""
    chunks, total = [], 0
    for chunk in stream:
        chunks.append(chunk)
        total += len(chunk)
        if total >= count:
            break
    return np.concatenate(chunks)[:count]


def with_hum(audio: np.ndarray, snr_db: float) -> np.ndarray:
    """audio (n,) at 16 kHz plus mains hum `snr_db` below its power: 50 Hz and harmonics up to 400 Hz, each 3 dB
    weaker, fixed phases (the same hum for every run)."""
    hum = mains_hum(len(audio), 50.0, 3.0, np.arange(1, 9))
    return (audio + at_snr(hum, np.mean(audio**2), snr_db)).astype(np.float32)


def accuracy(correct: dict[str, list[bool]]) -> dict:
    """Gender accuracy over all speakers, the women and the men."""
    return {"all": round(float(np.mean(correct["F"] + correct["M"])), 3),
            "women": round(float(np.mean(correct["F"])), 3), "men": round(float(np.mean(correct["M"])), 3)}


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedded model name or folder (default: the default model)")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--render_seconds", type=float, default=2.0,
                        help="render this much of each video for the face teacher to read (0: do not render)")
    parser.add_argument("--hum_snr_db", type=float, default=None,
                        help="add mains hum this many dB below the speech (default: the recordings as they are)")
    parser.add_argument("--telephone", action="store_true",
                        help="hear each utterance over a telephone line (300-3400 Hz, 8 kHz), after the hum if any")
    args = parser.parse_args()
    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    teacher = SynthTalkTeacher.from_pretrained(EVALUATOR) if args.render_seconds > 0 else None
    data = Path(args.data)
    sexes = speaker_sex(data / "SPEAKERS.TXT")
    labels = pipe.model.config.emotion_labels
    emotions, heard, shown = collections.Counter(), {"F": [], "M": []}, {"F": [], "M": []}
    narrowband = 0
    files = sorted(data.glob("*.flac"))
    for path in tqdm(files, desc="utterances"):
        audio = load_audio(str(path))
        if args.hum_snr_db is not None:
            audio = with_hum(audio, args.hum_snr_db)
        if args.telephone:
            audio = telephone_line(audio)
        stream = pipe(audio, sampling_rate=16_000, seed=0, stream=True)
        narrowband += bool(stream.narrowband)
        emotions[stream.emotion] += 1
        sex = sexes.get(path.name.split("-")[0])
        if sex not in heard:
            continue
        heard[sex].append((stream.identity_embedding[0] > 0.5) == (sex == "F"))
        if teacher is not None:
            frames = first_frames(stream, max(1, round(args.render_seconds * stream.fps)))
            seen = teacher.predict(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
            shown[sex].append((float(seen.identity[:, 0].mean()) > 0.5) == (sex == "F"))
    print(json.dumps({
        "model": args.model or "default",
        "utterances": len(files),
        "hum_snr_db": args.hum_snr_db,
        "telephone": args.telephone,
        "heard_as_narrowband": round(narrowband / len(files), 3),
        "predicted_emotions": {label: round(emotions[label] / len(files), 3) for label in labels},
        "speakers_with_known_sex": {"women": len(heard["F"]), "men": len(heard["M"])},
        "gender_accuracy_vs_speakers_txt": accuracy(heard),
        **({"rendered_face_gender_accuracy": accuracy(shown)} if teacher is not None else {}),
    }, indent=1))


if __name__ == "__main__":
    main()
