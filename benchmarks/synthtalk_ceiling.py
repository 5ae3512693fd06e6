"""How much of SynthTalk's emotion and identity can any listener recover from the voice? (prints JSON)

SynthTalk draws each speaker's voice and face from a shared latent, and each emotion scales the voice's
pitch, range, rate, breath, roughness and loudness. This benchmark skips audio altogether: it gives a
gradient-boosted classifier the *exact* espeak-ng parameters of every utterance (what a perfect acoustic
analysis could at best recover) and measures emotion accuracy and identity R² on unseen speakers. That is
the ceiling for the student's targets on this corpus:

- `gain_invariant`: every parameter but loudness. Recordings come at any gain (the student is trained with
  gain augmentation and the pipeline normalises the waveform), so this is the ceiling for a voice model
  meant for real microphones.
- `with_level`: adds the utterance's absolute loudness, which in SynthTalk only the emotion sets.
- `pitch_range_rate`: pitch level, pitch range, speaking rate and gender only.

    python benchmarks/synthtalk_ceiling.py                # 40 s
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score

from speech2video.data.synthtalk.emotions import EMOTIONS
from speech2video.data.synthtalk.speakers import ACCENTS, IDENTITY_NAMES, VOICE_LINKED, Speaker

FEATURE_SETS = {
    "pitch_range_rate": ("log_pitch", "log_pitch_range", "log_rate", "gender"),
    "gain_invariant": ("log_pitch", "log_pitch_range", "log_rate", "gender", "breath", "roughness",
                       "formant_percent", "formant_shape", "tilt", "accent"),
}
FEATURE_SETS["with_level"] = FEATURE_SETS["gain_invariant"] + ("log_level",)


def sample_utterances(speaker_ids: np.ndarray, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """One utterance per entry of `speaker_ids` with an emotion and intensity drawn as the corpus draws them.

    Returns the voice parameters by name (each (n,) or (n, k)), the emotion indices (n,) and identities (n, D).
    """
    names = list(EMOTIONS)
    columns: dict[str, list] = {name: [] for name in FEATURE_SETS["with_level"]}
    emotions, identities = [], []
    for speaker_id in speaker_ids:
        speaker = Speaker.from_seed(int(speaker_id))
        emotion = int(rng.integers(len(names)))
        strength = 0.0 if names[emotion] == "neutral" else float(rng.uniform(0.4, 1.0))
        style = EMOTIONS[names[emotion]]
        voice = speaker.voice.expressing(style, strength)
        columns["log_pitch"].append(np.log(voice.pitch_hz))
        columns["log_pitch_range"].append(np.log(voice.pitch_top_hz / voice.pitch_hz))
        columns["log_rate"].append(np.log(voice.words_per_minute))
        columns["gender"].append(float(voice.gender == "female"))
        columns["breath"].append(voice.breath)
        columns["roughness"].append(voice.roughness)
        columns["formant_percent"].append(voice.formant_percent)
        columns["formant_shape"].append(voice.formant_shape)
        columns["tilt"].append(voice.tilt)
        columns["accent"].append(np.eye(len(ACCENTS))[ACCENTS.index(voice.accent)])
        columns["log_level"].append(strength * np.log(style.volume))
        emotions.append(emotion)
        identities.append(speaker.identity)
    features = {name: np.asarray(values, dtype=np.float64).reshape(len(speaker_ids), -1) for name, values in columns.items()}
    return features, np.asarray(emotions), np.stack(identities)


def stack(features: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    return np.concatenate([features[name] for name in names], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num_train", type=int, default=20_000, help="training utterances (one speaker each)")
    parser.add_argument("--num_test", type=int, default=5_000, help="test utterances, from speakers never trained on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    train, train_emotion, train_identity = sample_utterances(np.arange(args.num_train), rng)
    test_ids = np.arange(args.num_train, args.num_train + args.num_test)
    test, test_emotion, test_identity = sample_utterances(test_ids, rng)

    results = {"num_train": args.num_train, "num_test": args.num_test, "emotion_chance": round(1 / len(EMOTIONS), 4)}
    for set_name, names in FEATURE_SETS.items():
        classifier = HistGradientBoostingClassifier(max_iter=300, random_state=0)
        classifier.fit(stack(train, names), train_emotion)
        accuracy = float((classifier.predict(stack(test, names)) == test_emotion).mean())
        r2 = np.array([
            r2_score(test_identity[:, d], HistGradientBoostingRegressor(max_iter=200, random_state=0)
                     .fit(stack(train, names), train_identity[:, d]).predict(stack(test, names)))
            for d in range(len(IDENTITY_NAMES))
        ])
        results[set_name] = {
            "emotion_accuracy": round(accuracy, 4),
            "identity_r2_voice_linked_mean": round(float(r2[VOICE_LINKED].mean()), 4),
            "identity_r2_control_mean": round(float(r2[~VOICE_LINKED].mean()), 4),
            "identity_r2": {name: round(float(value), 4) for name, value in zip(IDENTITY_NAMES, r2)},
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
