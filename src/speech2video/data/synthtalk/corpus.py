"""SynthTalk clips and the corpus: speakers x emotions x sentences -> a `datasets.DatasetDict`.

Everything is derived from (seed, split, clip index), so the same seed gives byte-identical audio and video.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

import numpy as np

from ...audio import frame_energy
from ..schema import FPS, SPLIT_FRACTIONS, encode_clip_row, synthtalk_features
from .animation import blink_track, head_track, mouth_track
from . import festival
from .emotions import EMOTIONS
from .face import FaceLook, FaceRenderer
from .festival import FestivalVoice
from .sentences import sentence_pool
from .speakers import IDENTITY_DIMENSIONS, Speaker
from .tts import Espeak, variant_file

SAMPLING_RATE = 16_000
LEAD_SILENCE_S = 0.15
FESTIVAL_DURATION_STRETCH = (0.85, 1.2)  # a Festival voice's pace: 15 % faster to 20 % slower than its own
VOICES = ("espeak", "festival")


@dataclass
class SynthTalkClip:
    """audio (n,) float32 16 kHz; frames (T, S, S, 3) uint8; and the ground truth."""

    audio: np.ndarray
    frames: np.ndarray
    speaker: Speaker
    emotion: str
    intensity: float
    text: str
    phonemes: list[str]
    phoneme_times: list[float]
    mouth_open: np.ndarray   # (T,)
    mouth_width: np.ndarray  # (T,)
    viseme: np.ndarray       # (T,)
    blink: np.ndarray        # (T,)
    head_pose: np.ndarray    # (T, 3) degrees
    festival_voice: str = ""  # the Festival voice that spoke, "" for the speaker's own espeak-ng voice


def speak(speaker: Speaker, emotion: str, intensity: float, text: str, seed: int):
    """The speaker's voice saying `text` with `emotion` at `intensity` (0..1), padded with silence.

    Returns audio (n,) float32 at 16 kHz, the phonemes and their start times in seconds.
    """
    import soxr

    style = EMOTIONS[emotion]
    strength = 0.0 if emotion == "neutral" else intensity
    voice = speaker.voice.expressing(style, strength)
    variant = variant_file(
        gender=voice.gender,
        pitch_hz=voice.pitch_hz,
        pitch_top_hz=voice.pitch_top_hz,
        formant_percent=voice.formant_percent,
        formant_shape=voice.formant_shape,
        tilt=voice.tilt,
        breath=voice.breath,
    )
    utterance = Espeak().speak(text, voice.accent, variant, voice.words_per_minute, seed)
    speech = soxr.resample(utterance.audio, utterance.sampling_rate, SAMPLING_RATE).astype(np.float32)
    rng = np.random.default_rng([seed, 3])
    speech = add_roughness(speech, voice.roughness, rng) * style.volume**strength
    lead = np.zeros(int(LEAD_SILENCE_S * SAMPLING_RATE), np.float32)
    audio = np.clip(np.concatenate([lead, speech, lead]), -0.99, 0.99)
    return audio, utterance.phonemes, [t + LEAD_SILENCE_S for t in utterance.phoneme_times]


def make_clip(speaker: Speaker, emotion: str, intensity: float, text: str, seed: int,
              image_size: int = 128, fps: float = FPS, festival_voice: FestivalVoice | None = None) -> SynthTalkClip:
    """Speak `text` as `speaker` with `emotion` at `intensity` (0..1) and animate the face to it.

    With `festival_voice` that voice speaks instead of the speaker's own, neutrally (its pace varied by the
    seed): only the lips then follow the voice, not the face's voice-linked identity.
    """
    style = EMOTIONS[emotion]
    strength = 0.0 if emotion == "neutral" else intensity
    if festival_voice is None:
        audio, phonemes, times = speak(speaker, emotion, intensity, text, seed)
    elif emotion != "neutral":
        raise ValueError(f"Festival's voices speak neutrally; got emotion {emotion!r}")
    else:
        stretch = float(np.random.default_rng([seed, 5]).uniform(*FESTIVAL_DURATION_STRETCH))
        audio, phonemes, times = festival.speak(text, festival_voice, stretch)
    duration = len(audio) / SAMPLING_RATE
    num_frames = max(1, round(duration * fps))
    rng = np.random.default_rng([seed, 4])
    mouth = mouth_track(phonemes, times, duration, num_frames, fps, resting_open=0.5 * strength * style.mouth_open)
    blink = blink_track(num_frames, fps, rng, style.blink_rate**strength)
    energy = frame_energy(audio, num_frames, fps)
    pose = head_track(num_frames, energy, rng, style.head_energy**strength)

    look = FaceLook.from_identity(speaker.identity, style, strength)
    renderer = FaceRenderer(image_size)
    frames = np.stack([
        renderer.render(look, mouth.opening[t], mouth.width[t], blink[t], pose[t]) for t in range(num_frames)
    ])
    return SynthTalkClip(
        audio=audio, frames=frames, speaker=speaker, emotion=emotion, intensity=strength, text=text,
        phonemes=phonemes, phoneme_times=times, mouth_open=mouth.opening, mouth_width=mouth.width,
        viseme=mouth.viseme, blink=blink, head_pose=pose,
        festival_voice=festival_voice.name if festival_voice else "",
    )


def add_roughness(speech: np.ndarray, roughness: float, rng: np.random.Generator) -> np.ndarray:
    """Seeded shimmer: amplitude modulation by 20-80 Hz noise, depth growing with roughness (0..10)."""
    from scipy.signal import butter, sosfiltfilt

    band = sosfiltfilt(butter(2, (20, 80), "bandpass", fs=SAMPLING_RATE, output="sos"), rng.standard_normal(len(speech)))
    band /= band.std() + 1e-9
    return (speech * (1 + 0.06 * roughness * band)).astype(np.float32)


def split_speakers(num_speakers: int) -> dict[str, range]:
    """Disjoint speaker id ranges per split, each with at least one speaker (num_speakers >= 3)."""
    validation = max(1, round(num_speakers * SPLIT_FRACTIONS["validation"]))
    train = min(round(num_speakers * SPLIT_FRACTIONS["train"]), num_speakers - validation - 1)
    return {"train": range(0, train), "validation": range(train, train + validation),
            "test": range(train + validation, num_speakers)}


def clip_plan(split: str, num_clips: int, speakers: range, seed: int) -> list[dict]:
    """The (speaker, emotion, intensity, sentence, clip seed) of each clip of a split."""
    rng = np.random.default_rng([seed, 4, ("train", "validation", "test").index(split)])
    sentences = sentence_pool(split, max(1, num_clips // 2), seed)
    emotions = list(EMOTIONS)
    return [
        dict(
            clip_id=f"{split}-{i:06d}",
            speaker_id=int(speakers[i % len(speakers)]),
            emotion=emotions[int(rng.integers(len(emotions)))],
            intensity=float(rng.uniform(0.4, 1.0)),
            text=sentences[int(rng.integers(len(sentences)))],
            seed=int(rng.integers(2**31)),
        )
        for i in range(num_clips)
    ]


def _make_row(task: dict) -> dict:
    speaker = Speaker.from_seed(task["speaker_id"], task["corpus_seed"])
    if task["voices"] == "festival":  # a training voice of the speaker's sex, neutral
        voices = [voice for voice in festival.TRAINING_VOICES if voice.sex == speaker.voice.gender]
        voice = voices[task["speaker_id"] % len(voices)]
        clip = make_clip(speaker, "neutral", 0.0, task["text"], task["seed"], task["image_size"], festival_voice=voice)
    else:
        clip = make_clip(speaker, task["emotion"], task["intensity"], task["text"], task["seed"], task["image_size"])
    return encode_clip_row(clip, clip_id=task["clip_id"], fps=FPS)


def build_corpus(output_dir: str | os.PathLike, num_clips: int = 2000, num_speakers: int | None = None,
                 image_size: int = 128, seed: int = 0, num_proc: int | None = None, overwrite: bool = False,
                 shard_size: int = 250, voices: str = "espeak"):
    """Generate SynthTalk and save it with `save_to_disk`; returns the `datasets.DatasetDict`.

    Splits have disjoint speakers (80/10/10) and train/test have disjoint sentences. `voices="festival"` has
    Festival's training voices (recorded people, `festival.TRAINING_VOICES`) speak neutrally in place of the
    speakers' espeak-ng voices: a corpus for the lips, whose faces' identity does not follow the voice.
    `num_speakers` defaults to num_clips // 4 (at least 10). Clips are saved `shard_size` at a time: an
    interrupted build, run again with the same arguments, keeps the finished shards (`data.shards`).
    """
    from datasets import Dataset, DatasetDict
    from tqdm.auto import tqdm

    from ..shards import ShardedBuild

    if voices not in VOICES:
        raise ValueError(f"voices must be one of {VOICES}, got {voices!r}")
    num_speakers = num_speakers or max(10, num_clips // 4)
    if num_speakers < 3:
        raise ValueError("SynthTalk needs at least 3 speakers (one per split)")
    build = ShardedBuild(output_dir, dict(num_clips=num_clips, num_speakers=num_speakers, image_size=image_size,
                                          seed=seed, shard_size=shard_size, voices=voices), overwrite=overwrite)
    speaker_ranges = split_speakers(num_speakers)
    features = synthtalk_features(len(IDENTITY_DIMENSIONS))
    splits = {}
    pool = multiprocessing.get_context("spawn").Pool(num_proc or os.cpu_count() or 1)  # one espeak engine per worker
    try:
        for split, fraction in SPLIT_FRACTIONS.items():
            tasks = [
                {**task, "corpus_seed": seed, "image_size": image_size, "voices": voices}
                for task in clip_plan(split, max(1, round(num_clips * fraction)), speaker_ranges[split], seed)
            ]
            progress = tqdm(total=len(tasks), desc=f"SynthTalk {split}")

            def make_shard(shard_tasks):
                rows = []
                for row in pool.imap(_make_row, shard_tasks, chunksize=4):
                    rows.append(row)
                    progress.update(1)
                return Dataset.from_list(rows, features=features)

            splits[split] = build.run(split, tasks, make_shard, shard_size)
            progress.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.close()  # workers exit normally and remove their espeak data folders
        pool.join()
    return build.finish(DatasetDict(splits))
