"""Stage 1, cross-modal distillation: what the speech student is trained to predict, and how it is scored.

The targets are face-teacher outputs cached as corpus columns (`speech2video.teachers.targets`):
`teacher_identity` (D,) and `teacher_emotion` (E,) per clip, `teacher_mouth_open` (T,) per frame.
Ground-truth labels are never used here except by `validation_metrics`, for reporting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data.schema import decode_audio

SAMPLES_PER_FRAME = 640  # 16 kHz / 25 fps
MAX_SPEED_CHANGE = 0.05  # the speed augmentation's default reach, either way


def load_corpora(paths: list[str], split: str, drop: tuple[str, ...] = ("video",)):
    """The `split` of every corpus, concatenated on the columns they all have, without the `drop` ones (by
    default the video frames, which stage 1 never reads). E.g. SynthTalk with all three targets and a real
    corpus with mouth targets only: the mouth is learnt from both."""
    from datasets import concatenate_datasets, load_from_disk

    parts = [load_from_disk(path)[split] for path in paths]
    shared = [c for c in parts[0].column_names if c not in drop and all(c in part.column_names for part in parts)]
    parts = [part.select_columns(shared) for part in parts]
    return concatenate_datasets(parts) if len(parts) > 1 else parts[0]


@dataclass
class DistillationBatch:
    """input_values (B, L) normalised audio, attention_mask (B, L), num_frames (B,),
    identity (B, D), emotion (B, E) (None where the corpus has no such target), mouth_open (B, T) with
    frame_mask (B, T); if asked for, clean_input_values (B, L): the same crops before the microphone, room,
    gain and noise (`Crop.clean_audio`), normalised alike."""

    input_values: torch.Tensor
    attention_mask: torch.Tensor
    num_frames: torch.Tensor
    identity: torch.Tensor | None
    emotion: torch.Tensor | None
    mouth_open: torch.Tensor
    frame_mask: torch.Tensor
    clean_input_values: torch.Tensor | None = None


@dataclass(frozen=True)
class Augmentation:
    """How training crops are varied: always a random gain and background noise (20-40 dB SNR); a speed change
    of up to `max_speed_change` either way (frame targets are resampled with it, so their meaning does not
    change; the voice's pitch and formants move with the speed, as another speaker's would: 0.05 is about a
    semitone, 0.25 four); on `channel_probability` of the crops another microphone and room
    (`random_channel`); and on `telephone_probability` of them, last, a telephone line (`telephone_line`)."""

    max_speed_change: float = MAX_SPEED_CHANGE
    channel_probability: float = 0.0
    telephone_probability: float = 0.0


class Crop(NamedTuple):
    """A training crop: audio (n,) as the student hears it, the per-frame mouth targets (t,), and clean_audio
    (n,): the same speech at the same speed before the microphone, room, gain and noise of the augmentation."""

    audio: np.ndarray
    mouth: np.ndarray
    clean_audio: np.ndarray


def crop_clip(row: dict, max_frames: int, rng: np.random.Generator, augmentation: Augmentation | None = None) -> Crop:
    """A random window of at most `max_frames` video frames.

    The window starts on a frame boundary so audio and frame targets stay aligned; with an `augmentation`, it
    is varied so (`Augmentation`).
    """
    audio = decode_audio(row)
    mouth = np.asarray(row["teacher_mouth_open"], np.float32)
    frames = min(len(mouth), len(audio) // SAMPLES_PER_FRAME)
    start = int(rng.integers(0, max(1, frames - max_frames + 1)))
    length = min(max_frames, frames - start)
    audio = audio[start * SAMPLES_PER_FRAME:(start + length) * SAMPLES_PER_FRAME]
    mouth = mouth[start:start + length]
    if augmentation is None:
        return Crop(audio, mouth, audio)
    return _augment(audio, mouth, rng, augmentation)


def _augment(audio: np.ndarray, mouth: np.ndarray, rng: np.random.Generator, augmentation: Augmentation) -> Crop:
    import soxr

    change = augmentation.max_speed_change
    speed = rng.uniform(1 - change, 1 + change)
    audio = soxr.resample(audio, 16_000 * speed, 16_000).astype(np.float32)  # faster speech, higher pitch
    frames = max(1, round(len(audio) / SAMPLES_PER_FRAME))
    mouth = np.interp(np.linspace(0, len(mouth) - 1, frames), np.arange(len(mouth)), mouth).astype(np.float32)
    audio = audio[: frames * SAMPLES_PER_FRAME]
    audio = clean = np.pad(audio, (0, frames * SAMPLES_PER_FRAME - len(audio)))
    if augmentation.channel_probability and rng.random() < augmentation.channel_probability:
        audio = random_channel(audio, rng)
        audio = audio / max(1.0, float(np.abs(audio).max()))  # as loud as before at most, never clipped
    audio = audio * 10 ** (rng.uniform(-6, 6) / 20)
    power = np.mean(audio**2) + 1e-8
    audio = audio + rng.standard_normal(len(audio)).astype(np.float32) * np.sqrt(power / 10 ** (rng.uniform(20, 40) / 10))
    if augmentation.telephone_probability and rng.random() < augmentation.telephone_probability:
        audio = telephone_line(audio)  # the room's noise goes down the line with the voice
    return Crop(np.clip(audio, -1, 1).astype(np.float32), mouth, clean)


def random_channel(audio: np.ndarray, rng: np.random.Generator, sampling_rate: int = 16_000) -> np.ndarray:
    """The same speech (n,) as another microphone in another room might record it, (n,) float32.

    A smooth random equaliser (a tilt and three broad bumps over log frequency, up to about +-10 dB), a
    bandwidth limit between telephone (3.5 kHz) and full band, reverberation in 7 of 10 draws (an
    exponentially decaying noise response, RT60 0.15-0.6 s), background noise at 15-40 dB SNR, in half the
    draws mains hum at 10-40 dB SNR and in 3 of 10 a bass line at 5-30 dB SNR: what separates a synthetic
    corpus from real recordings, which a read-out fitted on clean clips alone trusts.
    """
    from scipy.signal import fftconvolve

    n = len(audio)
    frequencies = np.fft.rfftfreq(n, 1 / sampling_rate)
    octaves = np.log2(np.maximum(frequencies, 50.0) / 50.0) / np.log2(sampling_rate / 2 / 50.0)  # 0 .. 1
    gain_db = rng.uniform(-6, 6) * octaves + sum(
        rng.uniform(-4, 4) * np.cos(np.pi * k * octaves + rng.uniform(0, 2 * np.pi)) for k in (1, 2, 3)
    )
    cutoff = rng.uniform(3500, sampling_rate / 2)
    gain_db = gain_db - 40 * np.clip((frequencies - cutoff) / 2000, 0, 1)
    recorded = np.fft.irfft(np.fft.rfft(audio) * 10 ** (gain_db / 20), n)
    if rng.random() < 0.7:
        time = np.arange(sampling_rate // 2) / sampling_rate
        response = rng.standard_normal(len(time)) * np.exp(-6.9 * time / rng.uniform(0.15, 0.6))
        response[0] = 1 / rng.uniform(0.3, 1.0)  # the direct sound, against the reverberant tail
        recorded = fftconvolve(recorded, response / np.abs(response).max())[:n]
    power = np.mean(recorded**2) + 1e-9
    recorded = recorded + rng.standard_normal(n) * np.sqrt(power / 10 ** (rng.uniform(15, 40) / 10))
    if rng.random() < 0.5:
        hum = mains_hum(n, rng.choice([50.0, 60.0]), rng.uniform(1, 6), rng.uniform(0, 2 * np.pi, 8), sampling_rate)
        recorded = recorded + at_snr(hum, power, rng.uniform(10, 40))
    if rng.random() < 0.3:
        recorded = recorded + at_snr(bass_line(n, rng, sampling_rate), power, rng.uniform(5, 30))
    return recorded.astype(np.float32)


def telephone_line(audio: np.ndarray, sampling_rate: int = 16_000) -> np.ndarray:
    """The speech (n,) as a telephone carries it, (n,) float32 at the same rate: 300-3400 Hz (a fourth-order
    band-pass, zero-phase), sampled at 8 kHz and back with soxr at `load_audio`'s quality, so nothing lies above
    4 kHz, as in a narrowband recording the pipeline is given (where an equaliser's low-pass still leaves the
    room's noise above it)."""
    import soxr
    from scipy.signal import butter, sosfiltfilt

    band = sosfiltfilt(butter(4, [300, 3400], btype="bandpass", fs=sampling_rate, output="sos"), audio)
    narrow = soxr.resample(soxr.resample(band, sampling_rate, 8_000, quality="HQ"), 8_000, sampling_rate, quality="HQ")
    return np.pad(narrow, (0, max(0, len(audio) - len(narrow))))[: len(audio)].astype(np.float32)


def heard_through_random_channels(audio: np.ndarray, index: int) -> np.ndarray:
    """Clip number `index`'s audio (n,) through a random microphone and room (`random_channel`) seeded by the
    index alone: the probes' channels (`benchmarks/`), the same for every model measured and never a training draw."""
    return random_channel(audio, np.random.default_rng([7, index]))


def at_snr(sound: np.ndarray, speech_power: float, snr_db: float) -> np.ndarray:
    """`sound` scaled to `snr_db` below `speech_power`."""
    return sound * np.sqrt(speech_power / (np.mean(sound**2) + 1e-12) / 10 ** (snr_db / 10))


def mains_hum(n: int, fundamental: float, decay_db: float, phases: np.ndarray, sampling_rate: int = 16_000) -> np.ndarray:
    """(n,) mains hum: `fundamental` (50 or 60 Hz) and its harmonics, one per phase (radians), each `decay_db`
    weaker than the one below."""
    time = np.arange(n) / sampling_rate
    return sum(10 ** (-decay_db * k / 20) * np.sin(2 * np.pi * fundamental * (k + 1) * time + phase)
               for k, phase in enumerate(phases))


def bass_line(n: int, rng: np.random.Generator, sampling_rate: int = 16_000) -> np.ndarray:
    """(n,) background music's bass: plucked 40-160 Hz notes (three harmonics) of 0.2-0.5 s each."""
    bass, start = np.zeros(n), 0
    while start < n:
        time = np.arange(min(int(rng.uniform(0.2, 0.5) * sampling_rate), n - start)) / sampling_rate
        note = rng.uniform(40, 160)
        bass[start : start + len(time)] = (sum(np.sin(2 * np.pi * note * k * time) / k**2 for k in (1, 2, 3))
                                           * np.exp(-time * rng.uniform(1, 6)))
        start += len(time)
    return bass


def collate(rows: list[dict], feature_extractor, max_frames: int, rng: np.random.Generator,
            augmentation: Augmentation | None = None, with_clean_audio: bool = False):
    """Rows of a corpus with teacher targets -> a padded `DistillationBatch`, each clip a random crop
    (`crop_clip`), varied by `augmentation` if given; `with_clean_audio` adds the crops before the channel."""

    def per_clip(column):
        if column not in rows[0]:
            return None
        return torch.tensor(np.array([row[column] for row in rows]), dtype=torch.float32)

    def extract(audios):
        return feature_extractor(audios, sampling_rate=16_000, padding=True, return_attention_mask=True,
                                 return_tensors="pt")

    crops = [crop_clip(row, max_frames, rng, augmentation) for row in rows]
    features = extract([crop.audio for crop in crops])
    num_frames = torch.tensor([len(crop.mouth) for crop in crops])
    mouth = torch.zeros(len(rows), int(num_frames.max()))
    for i, crop in enumerate(crops):
        mouth[i, : len(crop.mouth)] = torch.from_numpy(crop.mouth)
    return DistillationBatch(
        input_values=features.input_values,
        attention_mask=features.attention_mask,
        num_frames=num_frames,
        identity=per_clip("teacher_identity"),
        emotion=per_clip("teacher_emotion"),
        mouth_open=mouth,
        frame_mask=torch.arange(mouth.shape[1])[None] < num_frames[:, None],
        clean_input_values=extract([crop.clean_audio for crop in crops]).input_values if with_clean_audio else None,
    )


def distillation_losses(speech, batch: DistillationBatch, temperature: float = 2.0, identity_l2: float = 1.0):
    """Per-term losses of the student's `SpeechEncoderOutput` against the teacher targets.

    identity: 1 - cosine similarity (+ `identity_l2` x mean squared error); emotion: KL(teacher || student)
    with the student's logits softened by `temperature` (x T^2, Hinton et al.); mouth: masked per-frame MSE.
    A term whose target the batch lacks, or the student did not read (`read_voice=False`), is left out.
    """
    mask = batch.frame_mask & speech.frame_mask
    losses = {"mouth": ((speech.mouth_open - batch.mouth_open) ** 2)[mask].mean()}
    if batch.identity is not None and speech.identity_embeds is not None:
        identity = (1 - F.cosine_similarity(speech.identity_embeds, batch.identity, dim=-1)).mean()
        losses["identity"] = identity + identity_l2 * F.mse_loss(speech.identity_embeds, batch.identity)
    if batch.emotion is not None and speech.emotion_logits is not None:
        student = F.log_softmax(speech.emotion_logits / temperature, dim=-1)
        losses["emotion"] = F.kl_div(student, batch.emotion.clamp_min(1e-8), reduction="batchmean") * temperature**2
    return losses


def content_anchor_loss(content: torch.Tensor, anchor: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """How far the student's content features (B, T, C) moved from the anchor's (B, T, C) on the frames of
    `mask` (B, T): the mean squared difference in units of the anchor's variance per channel (0: the same
    features; 1: as far as the anchor's own spread)."""
    anchor = anchor[mask]
    return ((content[mask] - anchor) ** 2).mean() / anchor.var(0).mean().clamp_min(1e-8)


def _whole_clips(dataset, feature_extractor, channels: int = 0, seed: int = 0, narrowband: bool = False):
    """The feature extractor's inputs (input_values (1, L), attention_mask (1, L)) of each clip, one at a time;
    with `channels`, each clip is followed by that many `random_channel` recordings of it. With `narrowband`,
    the clip and those recordings are each heard over a telephone line (`telephone_line`)."""
    rng = np.random.default_rng(seed)
    for row in tqdm(dataset, desc="narrowband voice statistics" if narrowband else "voice statistics"):
        audio = decode_audio(row)
        copies = [random_channel(audio, rng) for _ in range(channels)]
        versions = [audio] + copies
        if narrowband:
            versions = [telephone_line(version) for version in versions]
        for version in versions:
            yield feature_extractor(version, sampling_rate=16_000, return_attention_mask=True, return_tensors="pt")


@torch.no_grad()
def _pooled_and_voice_statistics(encoder, dataset, feature_extractor, channels: int = 0, seed: int = 0,
                                 narrowband: bool = False):
    """Per whole clip (and per channel copy; see `_whole_clips`): the pooled heads' identity (N, D) and emotion
    logits (N, E), and the raw voice statistics. Zeroed pooled heads give zeros, so the wav2vec2 encoder is
    then not run."""
    identity, emotion, statistics = [], [], []
    pooled_heads_read = not encoder.reads_speaker_from_voice_statistics_only()
    for inputs in _whole_clips(dataset, feature_extractor, channels, seed, narrowband):
        statistics.append(encoder.voice_statistics.statistics(inputs.input_values, inputs.attention_mask))
        if pooled_heads_read:
            hidden = encoder.wav2vec2(inputs.input_values).last_hidden_state
            mask = torch.ones(hidden.shape[:2], dtype=torch.bool)
            identity.append(encoder.identity_head(hidden, mask))
            emotion.append(encoder.emotion_head(hidden, mask))
    statistics = torch.cat(statistics)
    if not pooled_heads_read:
        return (statistics.new_zeros(len(statistics), encoder.identity_head.projection.out_features),
                statistics.new_zeros(len(statistics), encoder.emotion_head.projection.out_features), statistics)
    return torch.cat(identity), torch.cat(emotion), statistics


def fit_voice_statistics(model, dataset, feature_extractor, temperature: float = 2.0, identity_l2: float = 1.0,
                         weight_decay: float = 1e-2, channels: int = 0, narrowband_copies: int = 0,
                         identity_dims_without_mel_means: tuple[int, ...] = (),
                         identity_dims_without_pitch_range: tuple[int, ...] = ()) -> dict:
    """Fit a student's voice-statistics read-outs (`VoiceStatistics`) on `dataset`'s whole clips, keeping all else.
    With `channels`, each clip is also heard through that many `random_channel` recordings, with its targets.
    With `narrowband_copies` (a model with `voice_statistics_narrowband`), the narrowband scaler and read-outs
    are then fitted the same way on each clip and that many other random-channel recordings of it, all heard
    over a telephone line (their own seed, so the other read-outs are the same with or without them).
    The identity dimensions in `identity_dims_without_mel_means` (a linear read-out only) do not read the per-band
    means of the log-mel spectrogram: the long-term spectrum, which the microphone and room colour as much as
    the voice, so a dimension that synthetic voices show there but real recordings do not is read from the rest.
    Those in `identity_dims_without_pitch_range` do not read the interquartile range of log F0: real speech spans
    a far wider one than SynthTalk's voices, so a linear read-out of it extrapolates (6-12 standard deviations).

    The scaler is fitted on the clips; the two read-outs, their last layers from zero weights (a hidden layer,
    if any, from a seeded random start), then minimise the identity and emotion distillation losses (as in
    training, with the pooled heads' outputs held fixed, plus `weight_decay` x their squared weights) over
    all clips at once with L-BFGS: minutes on a CPU, where small-batch Adam barely moved them. Returns the
    training losses before and after (and the narrowband read-outs' ones).
    """
    encoder = model.encoder.eval()
    voice_statistics = encoder.voice_statistics
    if narrowband_copies and not voice_statistics.narrowband:
        raise ValueError("narrowband_copies: the model has no narrowband read-outs (voice_statistics_narrowband)")
    unread = {"identity_dims_without_mel_means": (identity_dims_without_mel_means, slice(0, voice_statistics.n_mels)),
              "identity_dims_without_pitch_range": (identity_dims_without_pitch_range, 3 * voice_statistics.n_mels + 1)}
    for name, (dims, _) in unread.items():  # checked before the statistics, which take minutes
        if not dims:
            continue
        if not isinstance(encoder.identity_statistics_head, torch.nn.Linear):
            raise ValueError(f"{name} needs linear read-outs (voice_statistics_hidden_size 0)")
        if not all(0 <= dim < model.config.identity_dim for dim in dims):
            raise ValueError(f"{name} {dims}: the identity has dimensions 0..{model.config.identity_dim - 1}")
        if name == "identity_dims_without_pitch_range" and not voice_statistics.pitch:
            raise ValueError(f"{name}: the model's voice statistics have no pitch (voice_statistics_pitch)")
    teacher_identity = torch.tensor(np.array(dataset["teacher_identity"]), dtype=torch.float32)
    teacher_emotion = torch.tensor(np.array(dataset["teacher_emotion"]), dtype=torch.float32).clamp_min(1e-8)
    losses = {}
    kinds = [("", False, channels)] + ([("narrowband_", True, narrowband_copies)] if narrowband_copies else [])
    for prefix, narrowband, copies in kinds:
        identity, emotion, statistics = _pooled_and_voice_statistics(
            encoder, dataset, feature_extractor, copies, seed=int(narrowband), narrowband=narrowband)
        voice_statistics.fit_scaler(statistics, narrowband=narrowband)
        heads = [getattr(encoder, f"{prefix}identity_statistics_head"), getattr(encoder, f"{prefix}emotion_statistics_head")]
        before, after = _fit_read_outs(
            heads, identity, emotion, voice_statistics.standardise(statistics, narrowband=narrowband),
            teacher_identity.repeat_interleave(1 + copies, dim=0), teacher_emotion.repeat_interleave(1 + copies, dim=0),
            [(dims, read) for dims, read in unread.values() if dims], temperature, identity_l2, weight_decay)
        losses.update({f"{prefix}loss_before": before, f"{prefix}loss_after": after})
    return losses


def _fit_read_outs(heads, identity, emotion, standardised, teacher_identity, teacher_emotion, unread,
                   temperature: float, identity_l2: float, weight_decay: float) -> tuple[float, float]:
    """Fit the identity and emotion read-outs `heads` of standardised statistics (N, S), added to the pooled
    heads' identity (N, D) and emotion logits (N, E), to the teacher targets with L-BFGS (`fit_voice_statistics`);
    `unread` = [(identity dimensions, statistics they do not read)]. Returns the loss before and after."""
    parameters = [p for head in heads for p in head.parameters()]
    weights = [p for p in parameters if p.dim() > 1]
    kept = torch.ones_like(heads[0].weight) if unread else None
    if kept is not None:  # the fit starts those weights at zero and never gives them a gradient
        for dims, statistics_read in unread:
            kept[list(dims), statistics_read] = 0
        hook = heads[0].weight.register_hook(lambda gradient: gradient * kept)
    last = [head[-1] if isinstance(head, torch.nn.Sequential) else head for head in heads]
    with torch.no_grad(), torch.random.fork_rng():  # start from the mean residuals (a zero identity would give
        torch.manual_seed(0)                         # the cosine no gradient)
        for head in heads:
            for layer in head.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.reset_parameters()
        for layer in last:
            layer.weight.zero_()
        last[0].bias.copy_((teacher_identity - identity).mean(dim=0))
        last[1].bias.copy_((temperature * teacher_emotion.log() - emotion).mean(dim=0))

    def loss_fn():
        predicted_identity = identity + heads[0](standardised)
        student = F.log_softmax((emotion + heads[1](standardised)) / temperature, dim=-1)
        return ((1 - F.cosine_similarity(predicted_identity, teacher_identity, dim=-1)).mean()
                + identity_l2 * F.mse_loss(predicted_identity, teacher_identity)
                + F.kl_div(student, teacher_emotion, reduction="batchmean") * temperature**2
                + weight_decay * sum(weight.square().sum() for weight in weights))

    before = loss_fn().item()
    optimizer = torch.optim.LBFGS(parameters, max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    optimizer.step(closure)
    if kept is not None:
        hook.remove()
    return before, loss_fn().item()


@torch.no_grad()
def fit_voice_statistics_scaler(model, dataset, feature_extractor, max_clips: int = 256) -> None:
    """Fit a new student's voice-statistics scaler on the first `max_clips` clips of `dataset` (whole clips)."""
    voice_statistics = model.encoder.voice_statistics
    clips = dataset.select(range(min(max_clips, len(dataset))))
    voice_statistics.fit_scaler(torch.cat([voice_statistics.statistics(inputs.input_values, inputs.attention_mask)
                                           for inputs in _whole_clips(clips, feature_extractor)]))
