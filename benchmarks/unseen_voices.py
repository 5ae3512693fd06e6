"""Lips and speaker read-outs on voices no model here has heard: Festival's English voices (prints JSON).

The lips are learnt from espeak-ng's voices (SynthTalk), one real speaker (GRID) and, where a corpus was built
with them, Festival's training voices (Czech, Finnish, Catalan, Russian: `festival.TRAINING_VOICES`). Festival's
three English voices (`kal` and `ked`, diphone men; `slt`, an HTS woman; `festival.EVALUATION_VOICES`) are never
in a corpus, and Festival tells the time of every phone: SynthTalk's mouth model (visemes, coarticulation, the
lips shut on p/b/m) turns those times into the mouth opening a SynthTalk face would show saying the sentence.
The student's mouth opening is correlated with it over all frames of a voice, beside the loudness of the
audio (the plainest guess at the lips); with `--render` so is the mouth the SynthTalk evaluation teacher
(which no training used) reads on the rendered video, for models that draw SynthTalk's face. Models that infer
the speaker also give the gender each voice is read as and the emotions inferred (all three read neutrally).

The sentences are SynthTalk's test side (no model trained on them), one in three read 15 % faster and one in
three 20 % slower (Festival's `Duration_Stretch`).

    python benchmarks/unseen_voices.py --model synthtalk-128 [--sentences 40] [--render]

Needs Festival and its English voices (`make system-deps` installs them where it can).
"""

from __future__ import annotations

import argparse
import collections
import json

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import Wav2Vec2FeatureExtractor

from speech2video import Speech2VideoPipeline
from speech2video.audio import SAMPLING_RATE, frame_energy
from speech2video.data.schema import FPS
from speech2video.data.synthtalk.animation import mouth_track
from speech2video.data.synthtalk.festival import EVALUATION_VOICES, is_installed, speak
from speech2video.data.synthtalk.sentences import sentence_pool
from speech2video.evaluation import mouth_opening_correlation
from speech2video.teachers.synthtalk import EVALUATOR, SynthTalkTeacher

STRETCHES = (1.0, 0.85, 1.2)  # Festival's Duration_Stretch, by sentence index: as written, faster, slower


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedded model name or folder (default: the default model)")
    parser.add_argument("--sentences", type=int, default=40, help="sentences each voice reads")
    parser.add_argument("--render", action="store_true",
                        help="also render each video and correlate the mouth the SynthTalk evaluation teacher reads "
                             "on it (for models that draw SynthTalk's face, e.g. synthtalk-128)")
    parser.add_argument("--seed", type=int, default=0, help="the motion seed of the rendered videos")
    args = parser.parse_args()
    missing = [voice.package for voice in EVALUATION_VOICES if not is_installed(voice)]
    if missing:
        parser.error(f"Festival's English voices are not installed: apt-get install festival {' '.join(missing)} "
                     "(or `make system-deps`)")

    pipe = Speech2VideoPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    model, labels = pipe.model, pipe.model.config.emotion_labels
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE, do_normalize=True)
    teacher = SynthTalkTeacher.from_pretrained(EVALUATOR) if args.render else None
    texts = sentence_pool("test", args.sentences)
    figures = {"model": args.model or "default", "sentences_per_voice": len(texts), "voices": {}}
    for voice in EVALUATION_VOICES:
        utterances = (speak(text, voice, STRETCHES[index % len(STRETCHES)]) for index, text in enumerate(texts))
        truth, student, loudness, rendered, emotions, female = [], [], [], [], collections.Counter(), []
        for audio, phones, starts in tqdm(utterances, desc=voice.name, total=len(texts)):
            duration = len(audio) / SAMPLING_RATE
            num_frames = max(1, round(duration * FPS))
            truth.append(mouth_track(phones, starts, duration, num_frames, FPS).opening)
            loudness.append(20 * np.log10(frame_energy(audio, num_frames, FPS) + 1e-4))
            inputs = extractor(audio, sampling_rate=SAMPLING_RATE, return_tensors="pt")
            with torch.no_grad():
                speech = model.encode_speech(inputs.input_values, None, torch.tensor([num_frames]))
            student.append(speech.mouth_open[0].numpy())
            emotions[labels[int(speech.emotion_logits[0].argmax())]] += 1
            female.append(float(speech.identity_embeds[0, 0]) > 0.5)
            if teacher is not None:
                frames = np.asarray(pipe(audio, sampling_rate=SAMPLING_RATE, seed=args.seed).frames)[:num_frames]
                read = teacher.predict(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255).mouth_open.numpy()
                rendered.append(np.pad(read, (0, num_frames - len(read)), mode="edge"))
        pooled = lambda series: round(mouth_opening_correlation(np.concatenate(series), np.concatenate(truth)), 4)  # noqa: E731
        figures["voices"][voice.name] = {
            "sex": voice.sex,
            "student_mouth_corr": pooled(student),
            "loudness_corr": pooled(loudness),
            **({"rendered_mouth_corr": pooled(rendered)} if teacher is not None else {}),
        }
        if model.config.infers_speaker:  # a single-identity model (grid-s1-128) reads no speaker
            figures["voices"][voice.name]["read_as_female"] = round(float(np.mean(female)), 3)
            figures["voices"][voice.name]["predicted_emotions"] = {label: round(emotions[label] / len(texts), 3) for label in labels}
    for name in ("student_mouth_corr", "loudness_corr", *(("rendered_mouth_corr",) if teacher is not None else ())):
        figures[f"mean_{name}"] = round(float(np.mean([v[name] for v in figures["voices"].values()])), 4)
    if model.config.infers_speaker:
        figures["gender_accuracy"] = round(float(np.mean(
            [v["read_as_female"] if v["sex"] == "female" else 1 - v["read_as_female"] for v in figures["voices"].values()])), 3)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
