"""Does silence around the speech change what the student hears? Prints one JSON object.

Recordings rarely start and stop with the voice. Each SynthTalk test clip is heard with `--seconds` of
near-silence (noise 80 dB below full scale) added at each end, and the student's emotion accuracy, gender
accuracy and voice-linked identity R^2 are compared with those of the clip as it is.

    python benchmarks/silence.py --model synthtalk-128 --corpus corpora/synthtalk-targets
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from datasets import load_from_disk
from tqdm.auto import tqdm
from transformers import Wav2Vec2FeatureExtractor

from speech2video import Speech2VideoModel
from speech2video.data.schema import decode_audio
from speech2video.data.synthtalk.speakers import VOICE_LINKED
from speech2video.evaluation import r2_per_dimension

NOISE_LEVEL = 1e-4  # -80 dBFS


def near_silence(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """`seconds` of noise at `NOISE_LEVEL` at 16 kHz, float32."""
    return (NOISE_LEVEL * rng.standard_normal(round(seconds * 16_000))).astype(np.float32)


@torch.no_grad()
def heard(model, test, seconds: float) -> dict:
    """Emotion accuracy, gender accuracy and voice-linked identity R^2 with `seconds` of near-silence at each end."""
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True)
    labels = model.config.emotion_labels
    rng = np.random.default_rng(0)
    identity, emotion = [], []
    for row in tqdm(test, desc=f"{seconds} s of silence"):
        audio = np.concatenate([near_silence(rng, seconds), decode_audio(row), near_silence(rng, seconds)])
        speech = model.encode_speech(extractor(audio, sampling_rate=16_000, return_tensors="pt").input_values)
        identity.append(speech.identity_embeds[0].numpy())
        emotion.append(labels[int(speech.emotion_logits[0].argmax())])
    identity = np.array(identity)
    r2 = r2_per_dimension(identity, np.array(test["identity"]))
    female = np.array([gender == "female" for gender in test["gender"]])
    return {
        "emotion_accuracy": round(float(np.mean([e == truth for e, truth in zip(emotion, test["emotion"])])), 4),
        "gender_accuracy": round(float(np.mean((identity[:, 0] > 0.5) == female)), 4),  # dimension 0: gender
        "identity_r2_voice_linked": round(float(np.nanmean(r2[VOICE_LINKED])), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--corpus", required=True, help="a SynthTalk corpus (labels are read for scoring only)")
    parser.add_argument("--seconds", type=float, nargs="+", default=[0.0, 0.5, 1.5])
    args = parser.parse_args()
    model = Speech2VideoModel.from_pretrained(args.model).eval()
    test = load_from_disk(args.corpus)["test"]
    print(json.dumps({"model": args.model, "test_clips": len(test),
                      "silence_at_each_end_s": {str(s): heard(model, test, s) for s in args.seconds}}, indent=1))


if __name__ == "__main__":
    main()
