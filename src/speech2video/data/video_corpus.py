"""Real talking-face videos -> a `datasets.DatasetDict` in the shared corpus schema (see `schema.py`).

Per file: decode the frames with their timestamps and the speech (`load_audio`), resample the video to
25 fps by timestamp (output frame i shows the source frame on screen at (i + 0.5) / 25 s after the first
frame) with the audio cut to start at that same first frame, align the face (`align_clip`), split the clip
where the face is lost for longer than `max_gap` frames, and encode the crops as mp4 bytes.
Files that cannot be used (no audio, no face, unreadable, no frames) are dropped with a report line each;
the rest of the corpus is still built. Layout presets parse labels from file names (GRID, CREMA-D, RAVDESS,
MEAD); emotion labels are for evaluation only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..audio import SAMPLING_RATE, load_audio
from ..errors import AudioError, Speech2VideoError
from ..video import encode_mp4, rgb_array
from .schema import COMMON_FEATURES, FPS, SPLIT_FRACTIONS, audio_to_int16

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mpg", ".mpeg", ".avi", ".flv", ".mov", ".mkv")
REPORT_COLUMNS = ("source", "status", "note", "seconds")


class ClipDropped(Speech2VideoError):
    """A source video gives no usable clip (the message says why)."""


# ---------------------------------------------------------------------------------------------- presets

CREMA_D_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMA_D_SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened", "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about", "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold", "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment", "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before", "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
CREMA_D_INTENSITIES = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fear",
                    "07": "disgust", "08": "surprise"}
RAVDESS_SENTENCES = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
MEAD_EMOTIONS = ("angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised")


def grid_labels(path: Path) -> dict:
    """GRID: speaker from the nearest folder named s<N> or *_s<N> (else the folder above any `video/`),
    text from ../align/<name>.align (or <name>.align beside the video) without `sil`."""
    folder = path.parent.parent if path.parent.name == "video" else path.parent
    speaker = next((match[1] for part in reversed(path.parent.parts)
                    if (match := re.fullmatch(r"(?:.*_)?(s\d+)", part))), folder.name)
    text = ""
    for align in (path.parent.parent / "align" / f"{path.stem}.align", path.with_suffix(".align")):
        if align.is_file():
            words = [line.split()[2] for line in align.read_text().splitlines() if len(line.split()) == 3]
            text = " ".join(word for word in words if word != "sil")
            break
    return {"speaker_id": f"grid-{speaker}", "text": text, "emotion": ""}


def crema_d_labels(path: Path) -> dict:
    """CREMA-D: <actor>_<sentence>_<emotion>_<intensity>, e.g. 1001_DFA_ANG_XX.flv."""
    actor, sentence, emotion, intensity = path.stem.split("_")[:4]
    return {"speaker_id": f"crema-d-{actor}", "text": CREMA_D_SENTENCES.get(sentence, ""),
            "emotion": CREMA_D_EMOTIONS.get(emotion, ""), "intensity": CREMA_D_INTENSITIES.get(intensity, "")}


def ravdess_labels(path: Path) -> dict:
    """RAVDESS: modality-channel-emotion-intensity-statement-repetition-actor, e.g. 01-01-06-01-02-01-12.mp4."""
    _, channel, emotion, intensity, statement, _, actor = path.stem.split("-")[:7]
    return {"speaker_id": f"ravdess-{actor}", "text": RAVDESS_SENTENCES.get(statement, ""),
            "emotion": RAVDESS_EMOTIONS.get(emotion, ""),
            "intensity": {"01": "normal", "02": "strong"}.get(intensity, ""),
            "gender": "male" if int(actor) % 2 else "female",
            "vocal_channel": {"01": "speech", "02": "song"}.get(channel, "")}


def mead_labels(path: Path) -> dict:
    """MEAD: <speaker>/video/<view>/<emotion>/level_<n>/<nnn>.mp4, e.g. M003/video/front/angry/level_1/001.mp4."""
    parts = path.parts
    speaker = next((part for part in parts if re.fullmatch(r"[MW]\d{3}", part)), path.parent.name)
    emotion = next((part for part in parts if part in MEAD_EMOTIONS), "")
    level = next((part.removeprefix("level_") for part in parts if part.startswith("level_")), "")
    view = parts[parts.index(emotion) - 1] if emotion and parts.index(emotion) > 0 else ""
    return {"speaker_id": f"mead-{speaker}", "text": "", "emotion": emotion, "intensity": level, "view": view}


def no_labels(path: Path) -> dict:
    """No preset: each file is its own speaker, no text or emotion."""
    return {"speaker_id": path.stem, "text": "", "emotion": ""}


PRESETS = {"none": no_labels, "grid": grid_labels, "crema-d": crema_d_labels, "ravdess": ravdess_labels,
           "mead": mead_labels}
PRESET_EXTRA_COLUMNS = {"none": (), "grid": (), "crema-d": ("intensity",),
                        "ravdess": ("intensity", "gender", "vocal_channel"), "mead": ("intensity", "view")}


# ------------------------------------------------------------------------------------- one source clip

@dataclass
class SourceClip:
    """A decoded video file: frames (N, H, W, 3) uint8 with start times (N,) s and the time the last frame
    ends; audio (n,) float32 16 kHz whose first sample plays at `audio_start` s (same clock as the frames)."""

    frames: np.ndarray
    times: np.ndarray
    end: float
    audio: np.ndarray
    audio_start: float


def read_clip(path: str | os.PathLike) -> SourceClip:
    """Decode a video file's frames (with timestamps) and its speech; raises `ClipDropped` or `AudioError`.

    All frames are held in memory (~0.8 MB per 512 px frame): meant for clips of up to a minute or so.
    """
    import av

    audio = load_audio(path)  # raises AudioError for a file without (readable) audio
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ClipDropped("no video track")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or FPS)
        frames, times = [], []
        for frame in container.decode(stream):
            times.append(frame.time if frame.time is not None else len(times) / rate)
            frames.append(rgb_array(frame))
    with av.open(str(path)) as container:  # when the first audio sample plays, on the frames' clock
        first = next(container.decode(audio=0), None)
        audio_start = first.time if first is not None and first.time is not None else 0.0
    if not frames:
        raise ClipDropped("no video frames decoded (zero frames)")
    times = np.asarray(times, dtype=np.float64)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1 / rate
    return SourceClip(np.stack(frames), times, float(times[-1] + step), audio, float(audio_start))


def resample_indices(times: np.ndarray, end: float, fps: float = FPS) -> np.ndarray:
    """Source frame shown at each output frame's centre: index (T,) into frames with start `times` (N,).

    Output frame i covers [i, i + 1) / fps after the first source frame; it shows the source frame whose
    span [times[k], times[k + 1]) (the last one ends at `end`) contains the centre (i + 0.5) / fps.
    """
    order = np.argsort(times, kind="stable")
    num_frames = int(np.floor((end - times[order[0]]) * fps + 1e-6))
    centres = times[order[0]] + (np.arange(num_frames) + 0.5) / fps
    return order[np.searchsorted(times[order], centres, side="right") - 1]


def resample_clip(clip: SourceClip, fps: float = FPS) -> tuple[np.ndarray, np.ndarray]:
    """(frames (T, H, W, 3) at `fps`, audio (T * 16000 / fps,)) both starting at the first video frame.

    Audio before the first frame is cut, missing audio (a late start or early end) is filled with silence.
    """
    indices = resample_indices(clip.times, clip.end, fps)
    samples_per_frame = SAMPLING_RATE / fps
    num_samples = round(len(indices) * samples_per_frame)
    offset = round((clip.times.min() - clip.audio_start) * SAMPLING_RATE)  # audio sample at the first frame
    audio = np.zeros(num_samples, np.float32)
    source = clip.audio[max(offset, 0):max(offset, 0) + num_samples - max(-offset, 0)]
    audio[max(-offset, 0):max(-offset, 0) + len(source)] = source
    return clip.frames[indices], audio


@lru_cache(maxsize=1)
def _detector():
    """One dlib detector per worker process (dlib objects cannot be pickled)."""
    from ..teachers.alignment import LandmarkDetector

    return LandmarkDetector()


def clip_rows(path: str | os.PathLike, labels: dict, clip_id: str, image_size: int = 128, max_gap: int = 12,
              min_frames: int = 25, detect_every: int = 5) -> tuple[list[dict], str]:
    """Schema rows of one video file (one per stretch with a face) and a note on what was dropped.

    Stretches without a face longer than `max_gap` frames split the clip; pieces shorter than `min_frames`
    are dropped. Raises `ClipDropped` / `AudioError` when nothing usable is left.
    """
    from ..teachers.alignment import align_clip, runs

    frames, audio = resample_clip(read_clip(path))
    if len(frames) < min_frames:
        raise ClipDropped(f"only {len(frames)} frames at {FPS:g} fps (< {min_frames})")
    aligned = align_clip(frames, image_size, max_gap=max_gap, detect_every=detect_every, detector=_detector())
    if not aligned.found.any():
        raise ClipDropped(f"no face found in any of {len(frames)} frames (dlib's detector finds frontal faces from "
                          f"about 80 px across; a smaller one would give a blurred {image_size} px crop)")
    pieces = [(start, end) for start, end in runs(aligned.found) if end - start >= min_frames]
    if not pieces:
        raise ClipDropped(f"face found in {aligned.found.sum()} of {len(frames)} frames, no stretch of {min_frames}")
    samples_per_frame = SAMPLING_RATE / FPS
    rows = [{
        **labels,
        "clip_id": clip_id if len(pieces) == 1 else f"{clip_id}-part{number}",
        "audio": audio_to_int16(audio[round(start * samples_per_frame):round(end * samples_per_frame)]),
        "sampling_rate": SAMPLING_RATE,
        "video": encode_mp4(aligned.crops[start:end], FPS),
        "fps": FPS,
        "num_frames": end - start,
        "image_size": image_size,
    } for number, (start, end) in enumerate(pieces)]
    kept = sum(end - start for start, end in pieces)
    no_face = int((~aligned.found).sum())
    interpolated = int(np.isnan(aligned.landmarks).any(axis=(1, 2)).sum()) - no_face
    note = f"{kept}/{len(frames)} frames kept in {len(pieces)} piece(s)"
    for count, what in [(interpolated, "without a face filled in"), (no_face, "without a face dropped"),
                        (len(frames) - kept - no_face, f"dropped in pieces under {min_frames} frames")]:
        note += f"; {count} {what}" if count else ""
    return rows, note


# ------------------------------------------------------------------------------------------- the corpus

def find_videos(input_dir: str | os.PathLike) -> list[Path]:
    """Video files under `input_dir` (recursive), sorted."""
    return sorted(path for path in Path(input_dir).rglob("*")
                  if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file())


def assign_split(key: str, fractions: dict[str, float] = SPLIT_FRACTIONS) -> str:
    """Deterministic split of a key (speaker or clip id) from its SHA-1: the same key always lands the same."""
    position = int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big") / 2**64
    for split, fraction in fractions.items():
        position -= fraction
        if position < 0:
            return split
    return split


def _process_batch(batch: dict, image_size: int, max_gap: int, min_frames: int, detect_every: int) -> dict:
    """`datasets.map` worker over one file (a batch of 1): its rows, each carrying the file's report; a
    placeholder row with status "dropped" when the file gives nothing."""
    labels = {column: values[0] for column, values in batch.items() if column != "path"}
    path = batch["path"][0]
    started = time.perf_counter()
    try:
        rows, note = clip_rows(path, labels, labels["clip_id"], image_size, max_gap, min_frames, detect_every)
        status = "ok"
    except (ClipDropped, AudioError) as error:
        rows, note, status = [], str(error), "dropped"
    except Exception as error:  # a corrupt file can fail anywhere in FFmpeg or dlib: report it, keep building
        rows, note, status = [], f"unreadable or corrupt ({type(error).__name__}: {error})", "dropped"
    report = {"source": path, "status": status, "note": note, "seconds": time.perf_counter() - started}
    if not rows:
        rows = [{**labels, "audio": [], "sampling_rate": SAMPLING_RATE, "video": b"", "fps": FPS, "num_frames": 0,
                 "image_size": image_size}]
    rows = [{**row, **report} for row in rows]
    return {column: [row[column] for row in rows] for column in rows[0]}


@dataclass
class CorpusReport:
    """Per source file: (path, status "ok"/"dropped", note, seconds of processing)."""

    files: list[tuple[str, str, str, float]]

    @property
    def dropped(self) -> list[tuple[str, str, str, float]]:
        return [entry for entry in self.files if entry[1] == "dropped"]

    def __str__(self) -> str:
        lines = [f"{status:8s} {Path(source).name}: {note} ({seconds:.2f} s)"
                 for source, status, note, seconds in self.files]
        seconds = [entry[3] for entry in self.files]
        lines.append(f"{len(self.files) - len(self.dropped)} of {len(self.files)} files used, "
                     f"{np.mean(seconds) if seconds else 0:.2f} s per file (per worker)")
        return "\n".join(lines)


def build_video_corpus(input_dir: str | os.PathLike, output_dir: str | os.PathLike, preset: str = "none",
                       image_size: int = 128, split_by: str | None = "clip", num_proc: int | None = None,
                       max_clips: int | None = None, max_gap: int = 12, min_frames: int = 25,
                       detect_every: int = 5, overwrite: bool = False, shard_size: int = 200):
    """Build the corpus of the videos under `input_dir` and save it to `output_dir` with `save_to_disk`.

    `split_by`: "speaker" or "clip" (a hash of the speaker or source clip id, 80/10/10), or None (all train).
    `detect_every`: run the face detector every k frames (landmarks still every frame).
    Files are processed `shard_size` at a time and each shard saved: an interrupted build, run again with the
    same arguments, keeps the finished shards (`data.shards`).
    Returns (`datasets.DatasetDict`, `CorpusReport`).
    """
    from datasets import Dataset, DatasetDict, Features, Value

    from .shards import ShardedBuild

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {sorted(PRESETS)}")
    if split_by not in ("speaker", "clip", None):
        raise ValueError(f"split_by must be 'speaker', 'clip' or None, got {split_by!r}")
    paths = find_videos(input_dir)[:max_clips]
    if not paths:
        raise ValueError(f"no video files ({', '.join(VIDEO_SUFFIXES)}) under {input_dir}")
    extra = PRESET_EXTRA_COLUMNS[preset]
    files = []
    for path in paths:
        labels = PRESETS[preset](path)
        clip_id = path.relative_to(input_dir).with_suffix("").as_posix()  # unique even where stems repeat (MEAD)
        split_key = labels["speaker_id"] if split_by == "speaker" else clip_id  # pieces of a clip stay together
        files.append({"path": str(path), "clip_id": clip_id, "split": assign_split(split_key) if split_by else "train",
                      **{column: labels.get(column, "") for column in ("speaker_id", "text", "emotion", *extra)}})
    bookkeeping = {"split": Value("string"), "source": Value("string"), "status": Value("string"),
                   "note": Value("string"), "seconds": Value("float32")}
    features = Features({**COMMON_FEATURES, **{column: Value("string") for column in extra}, **bookkeeping})
    options = dict(image_size=image_size, max_gap=max_gap, min_frames=min_frames, detect_every=detect_every)
    build = ShardedBuild(output_dir, dict(files=files, shard_size=shard_size, **options), overwrite=overwrite)
    processed = build.run("files", files, lambda shard: Dataset.from_list(shard).map(
        _process_batch, batched=True, batch_size=1, num_proc=min(num_proc or os.cpu_count() or 1, len(shard)),
        remove_columns=list(files[0]), features=features, desc="Aligning faces", fn_kwargs=options,
    ), shard_size)
    first_rows = {}  # a file split into pieces has one row per piece, each with the file's report
    for entry in zip(*(processed[column] for column in REPORT_COLUMNS)):
        first_rows.setdefault(entry[0], entry)
    report = CorpusReport(list(first_rows.values()))
    for source, _, note, _ in report.dropped:
        logger.warning("dropped %s: %s", source, note)
    splits, statuses = processed["split"], processed["status"]
    corpus = DatasetDict({
        split: processed.select([index for index, (name, status) in enumerate(zip(splits, statuses))
                                 if name == split and status == "ok"]).remove_columns(list(bookkeeping))
        for split in SPLIT_FRACTIONS if split in splits
    })
    return build.finish(corpus), report
