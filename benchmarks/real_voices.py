"""What a SynthTalk-trained student hears in real voices: LibriSpeech utterances (one per speaker).

The student never heard a real voice in training. This prints one JSON object: the distribution of the
emotions it predicts (read speech is mostly neutral, so a sound student should say "neutral" often), and
its gender against the speakers' sex from LibriSpeech's SPEAKERS.TXT (SynthTalk's identity dimension 0 is
gender, > 0.5 female), over all speakers and over the women and the men apart (a read-out that calls most
real voices male is right for nearly all men).

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
from transformers import Wav2Vec2FeatureExtractor

from speech2video import Speech2VideoModel, load_audio

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech" / "librispeech_train-clean-100"


def speaker_sex(speakers_file: Path) -> dict[str, str]:
    """reader id -> "F" or "M", from LibriSpeech's pipe-separated SPEAKERS.TXT."""
    sexes = {}
    for line in speakers_file.read_text().splitlines():
        if not line.startswith(";") and line.count("|") >= 2:
            reader, sex = (field.strip() for field in line.split("|")[:2])
            sexes[reader] = sex
    return sexes


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedded model name or folder (default: the default model)")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    model = Speech2VideoModel.from_pretrained(args.model).eval()
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    data = Path(args.data)
    sexes = speaker_sex(data / "SPEAKERS.TXT")
    labels = model.config.emotion_labels
    emotions, correct = collections.Counter(), {"F": [], "M": []}
    files = sorted(data.glob("*.flac"))
    for path in tqdm(files, desc="utterances"):
        audio = load_audio(path, target_rate=16_000)
        speech = model.encode_speech(extractor(audio, sampling_rate=16_000, return_tensors="pt").input_values)
        emotions[labels[int(speech.emotion_logits[0].argmax())]] += 1
        sex = sexes.get(path.name.split("-")[0])
        if sex in correct:
            correct[sex].append((float(speech.identity_embeds[0, 0]) > 0.5) == (sex == "F"))
    print(json.dumps({
        "model": args.model or "default",
        "utterances": len(files),
        "predicted_emotions": {label: round(emotions[label] / len(files), 3) for label in labels},
        "gender_accuracy_vs_speakers_txt": round(float(np.mean(correct["F"] + correct["M"])), 3),
        "gender_accuracy_women": round(float(np.mean(correct["F"])), 3),
        "gender_accuracy_men": round(float(np.mean(correct["M"])), 3),
        "speakers_with_known_sex": {"women": len(correct["F"]), "men": len(correct["M"])},
    }, indent=1))


if __name__ == "__main__":
    main()
