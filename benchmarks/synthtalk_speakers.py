"""How separable are SynthTalk's speakers by voice alone? Prints one JSON object.

A simple classifier (logistic regression) on MFCC statistics (mean and standard deviation of 20 MFCCs)
identifies each speaker's held-out clip among all speakers, after training on the other clips. Each
clip has its own sentence and, with --emotions, its own random emotion.

    python benchmarks/synthtalk_speakers.py --num-speakers 500 --clips-per-speaker 4
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time

import numpy as np
import torch
from scipy.fft import dct

from speech2video.data.synthtalk import EMOTIONS, Speaker
from speech2video.data.synthtalk.corpus import speak
from speech2video.data.synthtalk.sentences import sentence_pool
from speech2video.evaluation.mel import log_mel_spectrogram


def mfcc_statistics(audio: np.ndarray) -> np.ndarray:
    """Mean and std over voiced frames of 20 MFCCs (DCT-II of 40 log-mel bands), shape (40,)."""
    log_mel = log_mel_spectrogram(audio, n_mels=40).numpy()
    voiced = log_mel[log_mel.mean(axis=1) > np.percentile(log_mel.mean(axis=1), 30)]
    mfcc = dct(voiced, type=2, norm="ortho", axis=1)[:, :20]
    return np.concatenate([mfcc.mean(axis=0), mfcc.std(axis=0)])


def clip_features(task: tuple) -> np.ndarray:
    torch.set_num_threads(1)
    speaker_id, clip, text, emotion, intensity = task
    audio, _, _ = speak(Speaker.from_seed(speaker_id), emotion, intensity, text, seed=speaker_id * 100 + clip)
    return mfcc_statistics(audio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-speakers", type=int, default=500)
    parser.add_argument("--clips-per-speaker", type=int, default=4)
    parser.add_argument("--emotions", action="store_true", help="random emotion per clip (default: neutral)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(args.seed)
    sentences = sentence_pool("train", args.num_speakers * args.clips_per_speaker, args.seed)
    emotions = list(EMOTIONS) if args.emotions else ["neutral"]
    tasks = [
        (s, c, sentences[s * args.clips_per_speaker + c], emotions[int(rng.integers(len(emotions)))], float(rng.uniform(0.4, 1)))
        for s in range(args.num_speakers) for c in range(args.clips_per_speaker)
    ]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool() as pool:
        features = np.stack(pool.map(clip_features, tasks, chunksize=16))
    synthesis_seconds = time.perf_counter() - start
    labels = np.array([t[0] for t in tasks])
    test = np.array([t[1] == args.clips_per_speaker - 1 for t in tasks])
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=10.0))
    classifier.fit(features[~test], labels[~test])
    accuracy = float((classifier.predict(features[test]) == labels[test]).mean())
    print(json.dumps({
        "num_speakers": args.num_speakers,
        "clips_per_speaker": args.clips_per_speaker,
        "emotions": "random" if args.emotions else "neutral",
        "features": "mean+std of 20 MFCCs",
        "classifier": "logistic regression",
        "held_out_clip_accuracy": round(accuracy, 4),
        "chance": round(1 / args.num_speakers, 4),
        "synthesis_seconds": round(synthesis_seconds, 1),
    }))


if __name__ == "__main__":
    main()
