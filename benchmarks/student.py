"""Stage-1 student on a SynthTalk corpus with teacher targets: what it recovers from speech alone.

Prints one JSON object: emotion accuracy vs the label and agreement with the teacher, identity R^2 per
dimension against the ground truth (voice-linked and control means), gender accuracy, per-frame
mouth-opening correlation with the ground truth, and two leakage probes (ridge regressions fitted on the
validation split, scored on the test split; with `--split validation`, fitted on 200 training clips): identity
from the pooled content features, and emotion from the identity embedding. Low leakage means content and identity are disentangled. With
`--grid_corpus`, also the per-frame correlation of its mouth opening with the inner-lip gap measured by the
68 landmarks on real GRID clips; with `--real_corpus`, the same per clip on real speakers no model was
trained on, e.g. a corpus built from ../shared/data/real_multi (any of the corpora can be given alone).

    python benchmarks/student.py --model outputs/student --corpus corpora/synthtalk-targets
    python benchmarks/student.py --model grid-s1-128 --grid_corpus corpora/grid_s1   # the GRID lips only
    python benchmarks/student.py --model grid-s1-128 --grid_corpus corpora/grid_s1 --voice_shifts -4 4 8   # other voices
    python benchmarks/student.py --model grid-s1-128 --grid_corpus corpora/grid_s1 --random_channels   # other rooms
    python benchmarks/student.py --model synthtalk-128 --corpus corpora/synthtalk-targets --telephone   # phone calls
    python examples/build_corpus.py --input_dir ../shared/data/real_multi --output_dir corpora/real_multi --split_by none
    python benchmarks/student.py --model synthtalk-128 --real_corpus corpora/real_multi   # unseen real speakers
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import soxr
import torch
from scipy.signal import istft, stft
from datasets import concatenate_datasets, load_from_disk
from transformers import Wav2Vec2FeatureExtractor

from speech2video import Speech2VideoModel
from speech2video.audio import frame_energy
from speech2video.data.synthtalk.speakers import IDENTITY_NAMES, VOICE_LINKED
from speech2video.data.schema import decode_audio, decode_frames
from speech2video.evaluation import inner_lip_gap, mouth_landmarks, mouth_opening_correlation, r2_per_dimension
from speech2video.training.distillation import collate, heard_through_random_channels, telephone_line


@torch.no_grad()
def student_outputs(model, split) -> dict:
    """Per clip: identity (D,), emotion probs (E,), mean content (C,), mouth predictions and truth per frame."""
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    outputs = {"identity": [], "emotion": [], "content": [], "mouth": [], "mouth_truth": []}
    for start in range(0, len(split), 8):
        rows = [split[i] for i in range(start, min(start + 8, len(split)))]
        batch = collate(rows, extractor, max_frames=10_000, rng=np.random.default_rng(0))
        speech = model.encode_speech(batch.input_values, batch.attention_mask, batch.num_frames)
        for i, row in enumerate(rows):
            n = int(batch.num_frames[i])
            outputs["identity"].append(speech.identity_embeds[i].numpy())
            outputs["emotion"].append(speech.emotion_logits[i].softmax(-1).numpy())
            outputs["content"].append(speech.content_features[i, :n].mean(0).numpy())
            outputs["mouth"].append(speech.mouth_open[i, :n].numpy())
            outputs["mouth_truth"].append(np.asarray(row["mouth_open"][:n], np.float32))
    return outputs


def shifted_voice(audio: np.ndarray, semitones: float, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """The same speech (n,) at the same tempo with all its frequencies, pitch and formants alike, `semitones`
    higher (lower if negative): as a smaller (larger) speaker would say it. A phase vocoder stretches it in time
    by the frequency ratio, then resampling brings it back to its length, (n,) float32."""
    ratio = 2 ** (semitones / 12)
    _, _, spectrum = stft(audio, nperseg=n_fft, noverlap=n_fft - hop)  # (bins, steps)
    position = np.arange(0, spectrum.shape[1] - 1, 1 / ratio)
    step, fraction = position.astype(int), position % 1
    magnitude = (1 - fraction) * np.abs(spectrum[:, step]) + fraction * np.abs(spectrum[:, step + 1])
    expected = 2 * np.pi * hop * np.arange(spectrum.shape[0])[:, None] / n_fft  # each bin's phase advance per hop
    deviation = np.angle(spectrum[:, step + 1]) - np.angle(spectrum[:, step]) - expected
    advance = expected + (deviation + np.pi) % (2 * np.pi) - np.pi
    phase = np.angle(spectrum[:, :1]) + np.cumsum(np.c_[np.zeros(len(advance)), advance[:, :-1]], axis=1)
    _, stretched = istft(magnitude * np.exp(1j * phase), nperseg=n_fft, noverlap=n_fft - hop)
    shifted = soxr.resample(stretched, 16_000 * ratio, 16_000)[: len(audio)]
    return np.pad(shifted, (0, len(audio) - len(shifted))).astype(np.float32)


def recorded_call(audio: np.ndarray) -> np.ndarray:
    """Speech (n,) float as a telephone line carries it (`telephone_line`), stored as 16-bit samples (n,) int16."""
    return np.clip(np.round(telephone_line(audio) * 32767), -32768, 32767).astype(np.int16)


def over_a_telephone_line(row: dict) -> dict:
    """A corpus row's audio as a telephone line carries it, stored as the corpus stores it (`recorded_call`)."""
    return {"audio": recorded_call(decode_audio(row))}


@torch.no_grad()
def predicted_mouths(model, split, alter=None) -> list[np.ndarray]:
    """Per clip of `split`: the student's mouth opening (T,); with `alter(audio, clip_index) -> audio`, from the
    audio so altered (e.g. `shifted_voice`)."""
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True)
    predicted = []
    for index, row in enumerate(split):
        audio = decode_audio(row)
        inputs = extractor(alter(audio, index) if alter else audio, sampling_rate=16_000, return_tensors="pt")
        num_frames = torch.tensor([row["num_frames"]])
        predicted.append(model.encode_speech(inputs.input_values, None, num_frames).mouth_open[0].numpy())
    return predicted


def measured_gaps(split) -> list[np.ndarray]:
    """Per real clip of `split`: the inner-lip gap (T,) the 68 landmarks measure on its frames."""
    return [inner_lip_gap(mouth_landmarks(decode_frames(row))) for row in split]


def grid_mouth_correlations(model, split, voice_shifts=(), random_channels: bool = False, telephone: bool = False) -> dict:
    """Pearson correlation over all frames of `split` (one speaker's real clips) of the student's mouth opening
    with the inner-lip gap measured on the frames; and the same from the voice shifted by each of `voice_shifts`
    semitones, with `random_channels` from each clip heard through a random microphone and room, and with
    `telephone` over a telephone line (stored as 16-bit samples, as a recorded call is)."""
    measured = np.concatenate(measured_gaps(split))
    correlation = lambda alter=None: round(  # noqa: E731
        mouth_opening_correlation(np.concatenate(predicted_mouths(model, split, alter)), measured), 4)
    figures = {"grid_mouth_corr_with_landmarks": correlation()}
    if voice_shifts:
        figures["grid_mouth_corr_voice_shifted"] = {
            f"{semitones:+g}": correlation(lambda audio, _, semitones=semitones: shifted_voice(audio, semitones))
            for semitones in voice_shifts}
    if random_channels:
        figures["grid_mouth_corr_random_channels"] = correlation(heard_through_random_channels)
    if telephone:
        figures["grid_mouth_corr_telephone"] = correlation(lambda audio, _: recorded_call(audio) / np.float32(32767))
    return figures


def real_speakers_mouth_correlations(model, corpus) -> dict:
    """The same correlation per clip over every split of a corpus of several real speakers, whose mouths and
    crops differ in size, so clips are not pooled (mean, median and each clip's), beside the loudness of the
    audio as a reference. Clips with silent audio are left out."""
    clips = concatenate_datasets(list(corpus.values()))
    voiced = clips.filter(lambda row: np.abs(decode_audio(row)).max() > 0)
    predicted, measured = predicted_mouths(model, voiced), measured_gaps(voiced)
    correlations = [mouth_opening_correlation(p, m) for p, m in zip(predicted, measured)]
    by_loudness = [mouth_opening_correlation(  # the audio's level per frame, in dB: the plainest guess at the lips
        20 * np.log10(frame_energy(decode_audio(row), row["num_frames"], row["fps"]) + 1e-4), m)
        for row, m in zip(voiced, measured)]
    return {
        "real_clips": len(voiced),
        "real_clips_silent_left_out": len(clips) - len(voiced),
        "real_mouth_corr_per_clip_mean": round(float(np.mean(correlations)), 4),
        "real_mouth_corr_per_clip_median": round(float(np.median(correlations)), 4),
        "real_loudness_corr_per_clip_mean": round(float(np.mean(by_loudness)), 4),
        "real_mouth_corr_by_clip": {clip: round(float(c), 4) for clip, c in zip(voiced["clip_id"], correlations)},
    }


def ridge_probe(train_x, train_y, test_x, alpha: float = 1.0):
    """Closed-form ridge regression with a bias, standardised inputs: predictions on `test_x`."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a = np.c_[(train_x - mean) / std, np.ones(len(train_x))]
    weights = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ train_y)
    return np.c_[(test_x - mean) / std, np.ones(len(test_x))] @ weights


def synthtalk_figures(model, test, probe_clips) -> dict:
    """Emotion, identity, gender and mouth against SynthTalk's truth on the clips `test`, and the leakage probes
    (fitted on `probe_clips`, other speakers' clips)."""
    labels = model.config.emotion_labels
    out, probe = student_outputs(model, test), student_outputs(model, probe_clips)

    truth_identity = np.array(test["identity"])
    r2 = r2_per_dimension(np.array(out["identity"]), truth_identity)
    predicted = np.array(out["emotion"]).argmax(1)
    gender_truth = np.array([g == "female" for g in test["gender"]])
    one_hot = lambda split: np.eye(len(labels))[[labels.index(e) for e in split["emotion"]]]  # noqa: E731
    content_leak = r2_per_dimension(
        ridge_probe(np.array(probe["content"]), np.array(probe_clips["identity"]), np.array(out["content"])), truth_identity
    )
    emotion_leak = ridge_probe(np.array(probe["identity"]), one_hot(probe_clips), np.array(out["identity"])).argmax(1)
    return {
        "clips": len(test),
        "emotion_accuracy_vs_label": round(float(np.mean([labels[p] == e for p, e in zip(predicted, test["emotion"])])), 4),
        "emotion_agreement_with_teacher": round(float(np.mean(predicted == np.array(test["teacher_emotion"]).argmax(1))), 4),
        "identity_r2_voice_linked_mean": round(float(np.nanmean(r2[VOICE_LINKED])), 4),
        "identity_r2_control_mean": round(float(np.nanmean(r2[~VOICE_LINKED])), 4),
        "identity_r2": {name: round(float(v), 4) for name, v in zip(IDENTITY_NAMES, r2)},
        "gender_accuracy": round(float(np.mean((np.array(out["identity"])[:, 0] > 0.5) == gender_truth)), 4),
        "mouth_corr_with_truth": round(mouth_opening_correlation(np.concatenate(out["mouth"]), np.concatenate(out["mouth_truth"])), 4),
        "leakage_identity_r2_voice_linked_from_content": round(float(np.nanmean(content_leak[VOICE_LINKED])), 4),
        "leakage_emotion_accuracy_from_identity": round(float(np.mean([labels[p] == e for p, e in zip(emotion_leak, test["emotion"])])), 4),
        "emotion_chance": round(1 / len(labels), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--corpus", default=None, help="SynthTalk corpus with teacher targets")
    parser.add_argument("--grid_corpus", default=None, help="GRID corpus (examples/build_corpus.py --preset grid)")
    parser.add_argument("--split", default="test", choices=["test", "validation"],
                        help="split of --corpus to measure (validation while tuning)")
    parser.add_argument("--grid_split", default="test", help="split of --grid_corpus to measure (validation while tuning)")
    parser.add_argument("--real_corpus", default=None,
                        help="a corpus of other real speakers no model trained on (examples/build_corpus.py), all splits")
    parser.add_argument("--voice_shifts", type=float, nargs="*", default=[],
                        help="also the GRID lips from the voice shifted by these semitones, tempo kept (e.g. -4 4 8): "
                             "the one speaker heard as larger or smaller ones")
    parser.add_argument("--telephone", action="store_true",
                        help="hear the SynthTalk clips (--corpus) over a telephone line (300-3400 Hz, sampled at 8 kHz); "
                             "with --grid_corpus, also the GRID lips so heard")
    parser.add_argument("--random_channels", action="store_true",
                        help="also the GRID lips from each clip heard through a random microphone and room "
                             "(equaliser, bandwidth, reverberation, noise, hum; the same for every model)")
    args = parser.parse_args()
    if not (args.corpus or args.grid_corpus or args.real_corpus):
        parser.error("give --corpus (SynthTalk with teacher targets), --grid_corpus, --real_corpus, or several")
    if args.telephone and not (args.corpus or args.grid_corpus):
        parser.error("--telephone alters the audio of --corpus and --grid_corpus: give one")
    if (args.voice_shifts or args.random_channels) and not args.grid_corpus:
        parser.error("--voice_shifts and --random_channels alter the audio of --grid_corpus: give it too")

    model = Speech2VideoModel.from_pretrained(args.model).eval()
    figures = {"model": args.model}
    if args.corpus:
        corpus = load_from_disk(args.corpus)
        measured = corpus[args.split]  # the leakage probes are fitted on the validation split, or 200 training clips
        probe_clips = corpus["validation"] if args.split == "test" else corpus["train"].select(range(200))
        if args.telephone:
            figures["synthtalk_over_a_telephone_line"] = True
            measured, probe_clips = (clips.map(over_a_telephone_line, keep_in_memory=True) for clips in (measured, probe_clips))
        figures.update({"split": args.split, **synthtalk_figures(model, measured, probe_clips)})
    if args.grid_corpus:
        grid = load_from_disk(args.grid_corpus)[args.grid_split]
        figures[f"grid_{args.grid_split}_clips"] = len(grid)
        figures.update(grid_mouth_correlations(model, grid, args.voice_shifts, args.random_channels, args.telephone))
    if args.real_corpus:
        figures.update(real_speakers_mouth_correlations(model, load_from_disk(args.real_corpus)))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
