"""Stage 2, the generator: what it is trained on and the losses besides the adversarial ones.

The frozen stage-1 student turns each clip's audio into the generator's inputs once (`student_features`).
A training example is one clip: a window of `motion_frames` real frames (the motion encoder reads their
motion codes) with, inside it, `frames` consecutive frames that the generator renders and the critics judge.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from ..data.schema import decode_audio, decode_frames
from ..evaluation.sync import VIDEO_WINDOW, audio_windows, mouth_crops
from ..teachers.mouth import MOUTH_BOX, mouth_regions, sample_frames

MOUTH_ROWS = 0.55  # rows below this fraction of the face crop hold the mouth and jaw
MOUTH_WEIGHT = 3.0  # reconstruction weight of those rows relative to the rest


@dataclass
class StudentFeatures:
    """The frozen student's view of one clip: content (T, C), identity (D,), emotion_probs (E,) (None when the
    voice was not read)."""

    content: torch.Tensor
    identity: torch.Tensor | None
    emotion_probs: torch.Tensor | None


def student_features(model, dataset, feature_extractor, cache_dir: str | os.PathLike | None = None,
                     batch_size: int = 16, cache_limit: int = 8, read_voice: bool = True) -> list[StudentFeatures]:
    """Run the student over every clip of `dataset` on clean audio, in padded batches (masked: padding-invariant).
    `read_voice=False`: the content alone (no identity or emotion, never cached).

    With `cache_dir`, the features are kept there in a safetensors file named by a digest of the student's
    weights and every clip's audio and frame count, and read back by the next run with the same student and clips;
    only the `cache_limit` most recently used of these files are kept.
    """
    if cache_dir is None or not read_voice:
        return _run_student(model, dataset, feature_extractor, batch_size, read_voice)
    path = Path(cache_dir) / f"student-features-{_features_digest(model, dataset)}.safetensors"
    if path.exists():
        with contextlib.suppress(OSError):  # a read-only cache is still read
            path.touch()  # used now: the last to be dropped
        tensors = load_file(path)
        contents = tensors["content"].split(tensors["num_frames"].tolist())
        return [StudentFeatures(*clip) for clip in zip(contents, tensors["identity"], tensors["emotion_probs"])]
    features = _run_student(model, dataset, feature_extractor, batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")  # renamed when whole: a killed run leaves no half file
    save_file({"content": torch.cat([f.content for f in features]),
               "num_frames": torch.tensor([len(f.content) for f in features]),
               "identity": torch.stack([f.identity for f in features]),
               "emotion_probs": torch.stack([f.emotion_probs for f in features])}, partial)
    os.replace(partial, path)
    _drop_least_recently_used(Path(cache_dir), cache_limit)
    return features


def _drop_least_recently_used(cache_dir: Path, keep: int) -> None:
    """Delete all but the `keep` most recently used student feature files of `cache_dir`."""
    last_used = {}
    for path in cache_dir.glob("student-features-*.safetensors"):
        with contextlib.suppress(FileNotFoundError):  # another run may have dropped it meanwhile
            last_used[path] = path.stat().st_mtime
    for path in sorted(last_used, key=last_used.get, reverse=True)[keep:]:
        path.unlink(missing_ok=True)


def _features_digest(model, dataset) -> str:
    """sha256 (first 16 hex digits) of the student's weights and config, the package version and the clips."""
    from .. import __version__

    digest = hashlib.sha256(f"{__version__} {model.config.to_json_string()}".encode())
    for name, tensor in sorted(model.encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())  # any dtype, bf16 too
    for batch in dataset.select_columns(["audio", "num_frames"]).with_format("numpy").iter(batch_size=256):
        for audio, num_frames in zip(batch["audio"], batch["num_frames"]):
            digest.update(np.asarray(audio).tobytes())
            digest.update(int(num_frames).to_bytes(8, "little"))
    return digest.hexdigest()[:16]


@torch.no_grad()
def _run_student(model, dataset, feature_extractor, batch_size: int, read_voice: bool = True) -> list[StudentFeatures]:
    model.eval()
    clips = dataset.select_columns(["audio", "num_frames"])
    features = []
    for start in tqdm(range(0, len(clips), batch_size), desc="student features"):
        rows = [clips[i] for i in range(start, min(start + batch_size, len(clips)))]
        inputs = feature_extractor([decode_audio(row) for row in rows], sampling_rate=16_000,
                                   padding=True, return_attention_mask=True, return_tensors="pt")
        num_frames = torch.tensor([row["num_frames"] for row in rows])
        speech = model.encode_speech(inputs.input_values, inputs.attention_mask, num_frames, read_voice=read_voice)
        for i, frames in enumerate(num_frames.tolist()):
            features.append(StudentFeatures(speech.content_features[i, :frames],
                                            speech.identity_embeds[i] if read_voice else None,
                                            speech.emotion_logits[i].softmax(-1) if read_voice else None))
    return features


@dataclass
class GeneratorBatch:
    """B clips. Whole motion window (W frames): real (B, W, 3, S, S) in [0, 1], content (B, W, C);
    per clip: the generator's identity (B, D) and emotion_probs (B, E), teacher_identity (B, D),
    teacher_emotion (B, E); in the rendered part (frames `start` .. `start` + T of the window):
    teacher_mouth (B, T) (the teacher fields are None for a corpus without teacher targets); audio windows
    of the whole window and its `max_shift` neighbours
    (B, W + 2 max_shift, n_mels, 20): the window's frame w is at index w + max_shift; reference (B, 3, S, S),
    another frame of each clip (a picture of the speaker) when asked for, else None."""

    real: torch.Tensor
    content: torch.Tensor
    identity: torch.Tensor
    emotion_probs: torch.Tensor
    teacher_identity: torch.Tensor | None
    teacher_emotion: torch.Tensor | None
    teacher_mouth: torch.Tensor | None
    audio_windows: torch.Tensor
    start: int
    frames: int
    max_shift: int
    reference: torch.Tensor | None = None


def collate_generator(examples, motion_frames: int, frames: int, max_shift: int, rng: np.random.Generator,
                      conditioning: str = "teacher", reference_frames: bool = False) -> GeneratorBatch:
    """examples: (corpus row, StudentFeatures) pairs of clips with at least `motion_frames` frames.

    `conditioning` says where the generator's identity and emotion come from: "teacher", the face
    teachers' targets for the clip (the spaces the student predicts in, so at inference the student's
    outputs take their place), or "student", the frozen student's own predictions. Content is always the
    student's. A corpus without teacher targets (no `teacher_*` columns) can only be used with "student".
    With `reference_frames`, each clip also gives a picture of its speaker: one of its frames outside the
    rendered ones, drawn at random (its mouth says nothing about the rendered frames').
    """
    has_targets = "teacher_identity" in examples[0][0]
    if conditioning == "teacher" and not has_targets:
        raise ValueError('conditioning="teacher" needs a corpus with teacher targets '
                         "(examples/cache_teacher_targets.py); use conditioning=\"student\"")
    start = int(rng.integers(2, motion_frames - frames - 1))  # keeps the content context inside the window
    real, content, audio, mouth, reference = [], [], [], [], []
    for row, student in examples:
        num_frames = len(student.content)
        first = int(rng.integers(0, num_frames - motion_frames + 1))
        video = decode_frames(row, first, first + motion_frames)
        real.append(torch.from_numpy(video).permute(0, 3, 1, 2).float() / 255)
        content.append(student.content[first:first + motion_frames])
        mel = audio_windows(decode_audio(row), num_frames)  # (T_clip, n_mels, 20)
        index = torch.arange(first - max_shift, first + motion_frames + max_shift).clamp(0, num_frames - 1)
        audio.append(mel[index])
        if has_targets:
            mouth.append(torch.tensor(row["teacher_mouth_open"][first + start:first + start + frames]))
        if reference_frames:
            index = int(rng.integers(0, num_frames - frames))
            index += frames if index >= first + start else 0  # skip the rendered frames
            picture = decode_frames(row, index, index + 1)[0]
            reference.append(torch.from_numpy(picture).permute(2, 0, 1).float() / 255)
    teacher_identity = teacher_emotion = teacher_mouth = None
    if has_targets:
        teacher_identity = torch.tensor(np.array([row["teacher_identity"] for row, _ in examples]), dtype=torch.float32)
        teacher_emotion = torch.tensor(np.array([row["teacher_emotion"] for row, _ in examples]), dtype=torch.float32)
        teacher_mouth = torch.stack(mouth)
    from_teacher = conditioning == "teacher"
    return GeneratorBatch(
        real=torch.stack(real), content=torch.stack(content),
        identity=teacher_identity if from_teacher else torch.stack([s.identity for _, s in examples]),
        emotion_probs=teacher_emotion if from_teacher else torch.stack([s.emotion_probs for _, s in examples]),
        teacher_identity=teacher_identity, teacher_emotion=teacher_emotion, teacher_mouth=teacher_mouth,
        audio_windows=torch.stack(audio),
        start=start, frames=frames, max_shift=max_shift, reference=torch.stack(reference) if reference_frames else None,
    )


def widen_generator(model, channels: list[int]):
    """A copy of `model` whose decoder (and picture encoder) has `channels` per resolution and renders the
    same frames: every trained weight is copied into its wider version, the weights that read a new channel
    start at zero and those that write one at a fresh initialisation, so the new channels change nothing until
    training uses them (Net2Net's widening). The 4x4 level keeps its width."""
    old = model.config.generator_channels
    if len(channels) != len(old) or channels[0] != old[0] or any(new < was for new, was in zip(channels, old)):
        raise ValueError(f"generator_channels {list(channels)} must keep {old}'s length and first entry and "
                         "not narrow any level")
    config = copy.deepcopy(model.config)
    config.generator_channels = list(channels)
    wider = type(model)(config).to(model.dtype)
    trained = model.state_dict()
    with torch.no_grad():
        for name, value in wider.state_dict().items():  # views of wider's parameters: written in place
            old_value = trained[name]
            if name.endswith(("affine.weight", "affine.bias")):  # AdaIN: the scale rows, then the shift rows
                half, new_half = len(old_value) // 2, len(value) // 2
                value[:half], value[new_half : new_half + half] = old_value[:half], old_value[half:]
                continue
            if value.ndim > 1:
                value[:, old_value.shape[1]:] = 0  # reads a new input channel
            value[tuple(slice(0, size) for size in old_value.shape)] = old_value
    return wider


def reconstruction_loss(fake: torch.Tensor, real: torch.Tensor, lip_weight: float = 1.0) -> torch.Tensor:
    """L1 over frames (..., 3, S, S), the mouth rows weighted `MOUTH_WEIGHT` times more and, among them, the
    lips (the box the mouth teacher reads, `MOUTH_BOX`) `lip_weight` times more again."""
    size = fake.shape[-2]
    weights = torch.ones(size, size, device=fake.device)
    weights[round(MOUTH_ROWS * size):] = MOUTH_WEIGHT
    top, left, bottom, right = (round(f * size) for f in MOUTH_BOX)
    weights[top:bottom, left:right] *= lip_weight
    return ((fake - real).abs() * weights).mean() / weights.mean()


class MouthShapes:
    """The leading principal modes of the grey mouth region (`teachers.mouth.mouth_regions`) of real frames,
    each in units of its spread: how far the lips open, widen or round, the small modes counted as much as the
    large one (in the pixel L1 a lip corner one pixel off weighs next to nothing)."""

    def __init__(self, mean: torch.Tensor, components: torch.Tensor, spread: torch.Tensor):
        self.mean, self.components, self.spread = mean, components, spread  # (K,), (M, K), (M,)

    @classmethod
    def fit(cls, frames: torch.Tensor, num_modes: int = 8) -> MouthShapes:
        """frames (N, 3, S, S) in [0, 1], a few thousand real frames of many clips."""
        regions = mouth_regions(frames.float())
        mean = regions.mean(0)
        _, singular_values, components = torch.linalg.svd(regions - mean, full_matrices=False)
        return cls(mean, components[:num_modes], singular_values[:num_modes] / (len(regions) - 1) ** 0.5)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (N, 3, S, S) in [0, 1] -> mode scores (N, M), differentiably, on the frames' device."""
        mean, components, spread = (t.to(frames.device) for t in (self.mean, self.components, self.spread))
        return (mouth_regions(frames) - mean) @ components.T / spread


def fit_mouth_shapes(dataset, num_clips: int = 200, frames_per_clip: int = 16, seed: int = 0) -> MouthShapes:
    """`MouthShapes` of `frames_per_clip` frames drawn from each of `num_clips` clips of a corpus split."""
    return MouthShapes.fit(sample_frames(dataset, num_clips, frames_per_clip, seed)[0])


def perceptual_loss(teacher, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean L1 between the face teacher's trunk features of rendered and real frames (N, 3, S, S): the
    real frame's structure at every scale the teacher sees, not only the few numbers it reads out."""
    with torch.no_grad():
        targets = teacher.trunk_features(real)
    return torch.stack([(a - b).abs().mean() for a, b in zip(teacher.trunk_features(fake), targets)]).mean()


def random_view(frames: torch.Tensor, shift: float = 4 / 64, zoom: float = 0.08, light: float = 0.1) -> torch.Tensor:
    """Frames (N, 3, S, S) in [0, 1], each moved by up to `shift` of its side, zoomed by up to +-`zoom` and its
    contrast and brightness changed by up to +-`light` (and half that), differentiably: what the face teacher
    reads in training with `--teacher_augmentation`, so the generator cannot please the teacher with patterns
    only that one network at that one framing sees."""
    n = len(frames)
    draws = torch.rand(n, 5, device=frames.device) * 2 - 1  # zoom, shift x and y, contrast, brightness
    theta = torch.zeros(n, 2, 3, device=frames.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 + zoom * draws[:, 0]
    theta[:, :, 2] = 2 * shift * draws[:, 1:3]  # affine_grid's units: the side is 2
    grid = F.affine_grid(theta, list(frames.shape), align_corners=False)
    moved = F.grid_sample(frames, grid, padding_mode="border", align_corners=False)
    contrast, brightness = 1 + light * draws[:, 3, None, None, None], light / 2 * draws[:, 4, None, None, None]
    return ((moved - 0.5) * contrast + 0.5 + brightness).clamp(0, 1)


def motion_codes(motion_encoder, real: torch.Tensor, kind: str = "normalised"):
    """The motion codes of real windows (B, W, 3, S, S): (what the generator gets, what the motion critic
    compares with the prior, the KL to a unit Gaussian or None), the first two (B, W, motion_dim).

    The codes are centred on each window: they say how the face moves, not what stays (who, which mood), which
    must come from identity and emotion; otherwise the generator reads them here and ignores its inputs.
    "normalised": scaled to unit mean variance over the batch, so they cannot shrink until ignored (the
    encoder still chooses which dimensions carry the motion). "variational": the generator gets a sample of
    the posterior, the critic its mean.
    """
    batch_size, window = real.shape[:2]
    mean, log_variance = (code.unflatten(0, (batch_size, window)) for code in motion_encoder(real.flatten(0, 1)))
    centred = mean - mean.mean(dim=1, keepdim=True)
    if kind == "normalised":
        codes = centred / centred.flatten(0, 1).var(dim=0).mean().sqrt().clamp_min(1e-4)
        return codes, codes, None
    sample = centred + torch.randn_like(centred) * (0.5 * log_variance).exp()
    return sample, centred, kl_to_standard_normal(centred, log_variance)


@torch.no_grad()
def reconstruction_error(model, motion_encoder, batch: GeneratorBatch, kind: str = "normalised") -> float:
    """Mean absolute error (pixels in [0, 1]) of the rendered frames of `batch` given everything a training
    step gives the generator (its identity and emotion, the motion codes of its real frames; no picture):
    how well the generator draws what it is told, apart from what the voice or the seeded motion cannot know."""
    _, codes, _ = motion_codes(motion_encoder, batch.real, kind)  # the posterior means: no sampling noise
    rendered = slice(batch.start, batch.start + batch.frames)
    styles = model.generator.styles(batch.content, batch.identity, batch.emotion_probs, codes)[:, rendered]
    fake = model.generator.decode(styles.flatten(0, 1)).unflatten(0, (len(styles), batch.frames))
    return (fake - batch.real[:, rendered]).abs().mean().item()


def kl_to_standard_normal(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_variance)) || N(0, 1)), summed over the code, averaged over the rest."""
    return 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance).sum(-1).mean()


def sync_windows(frames: torch.Tensor, batch: GeneratorBatch, shifts: torch.Tensor):
    """Mouth windows of the rendered frames with a full 5-frame neighbourhood, and the audio at each shift.

    frames (B, T, 3, S, S) -> video (B * K, 5, 32, 64) and audio (B * K, len(shifts), n_mels, 20), where
    K = T - 4 centre frames; shift 0 is the matching audio.
    """
    batch_size, length = frames.shape[:2]
    mouths = mouth_crops(frames.flatten(0, 1)).unflatten(0, (batch_size, length))  # (B, T, 32, 64)
    half = VIDEO_WINDOW // 2
    centres = torch.arange(half, length - half)
    video = torch.stack([mouths[:, c - half:c + half + 1] for c in centres], dim=1).flatten(0, 1)
    window_index = batch.start + centres + batch.max_shift  # positions in batch.audio_windows
    audio = batch.audio_windows[:, window_index[:, None] + shifts[None]]  # (B, K, S, n_mels, 20)
    return video, audio.flatten(0, 1)


def sync_loss(expert, video: torch.Tensor, audio: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """InfoNCE: each mouth window (N, 5, 32, 64) must pick its own audio (index 0) among (N, S, n_mels, 20)."""
    audio_embeds = expert.embed_audio(audio.flatten(0, 1)).unflatten(0, audio.shape[:2])
    logits = torch.einsum("nd,nsd->ns", expert.embed_video(video), audio_embeds) / temperature
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))
