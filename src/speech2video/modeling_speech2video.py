"""Speech2Video: a wav2vec2 speech encoder (the distilled student) and a style-modulated frame generator.

    audio (B, L) at 16 kHz
      -> SpeechEncoder: Wav2Vec2Model -> hidden (B, N, H) at 50 Hz
           attentive statistics pooling -> identity_embeds (B, D)      (identity teacher's space)
           attentive statistics pooling -> emotion_logits  (B, E)      (emotion teacher's classes)
           per-frame projection, resampled to the video fps -> content_features (B, T, C)
      -> MotionProcess: seeded Gaussian noise -> GRU -> motion (B, T, M)  (blinks, head motion)
      -> FrameGenerator: [content_t with +-k frames of context, identity, emotion, motion_t] -> style_t
           -> AdaIN-modulated up-convolutions from 4x4 to image_size -> frames (B, T, 3, S, S) in [0, 1]
           (with `config.reference_frame`, a picture of the speaker (B, 3, S, S) can join the decoder at every
           resolution through `ReferenceEncoder`: the static-image baseline)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel, Wav2Vec2Model
from transformers import initialization as init
from transformers.utils import ModelOutput

from .checkpoints import embedded_models, resolve_model_path
from .configuration_speech2video import Speech2VideoConfig
from .errors import CheckpointError
from .evaluation.mel import mel_edges, mel_filterbank
from .formants import FormantTrack, track_formants
from .modulation import MODULATION_BANDS_HZ, modulation_statistics
from .pitch import PitchTrack, track_pitch


def num_video_frames(num_samples, sampling_rate: int, fps: float):
    """Frames covering `num_samples` of audio: round(duration * fps), at least 1 (ints or a LongTensor)."""
    if isinstance(num_samples, torch.Tensor):
        return torch.round(num_samples.double() * fps / sampling_rate).long().clamp_min(1)
    return max(1, round(num_samples * fps / sampling_rate))


@dataclass
class SpeechEncoderOutput(ModelOutput):
    """What the student infers from speech.

    identity_embeds (B, identity_dim); emotion_logits (B, num_emotions);
    content_features (B, T, content_dim) at the video frame rate; mouth_open (B, T), the mouth opening
    read from the content features; frame_mask (B, T) bool, False on padding; narrowband (B,) bool, the
    voice heard as narrowband speech (a telephone line, an 8 kHz recording), which a model with
    `config.voice_statistics_narrowband` reads with its narrowband read-outs (None without voice statistics
    or when the voice is not read).
    """

    identity_embeds: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    content_features: torch.Tensor | None = None
    mouth_open: torch.Tensor | None = None
    frame_mask: torch.Tensor | None = None
    narrowband: torch.Tensor | None = None


@dataclass
class Speech2VideoModelOutput(ModelOutput):
    """frames (B, T, 3, S, S) in [0, 1], plus the intermediate features that produced them
    (identity_embeds (B, D), emotion_logits (B, E), content_features (B, T, C), motion (B, T, M), frame_mask (B, T))
    and narrowband (B,) bool or None, as `SpeechEncoderOutput` says."""

    frames: torch.Tensor | None = None
    identity_embeds: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    content_features: torch.Tensor | None = None
    motion: torch.Tensor | None = None
    frame_mask: torch.Tensor | None = None
    narrowband: torch.Tensor | None = None


class AttentiveStatisticsPooling(nn.Module):
    """Attention-weighted mean and standard deviation over time, projected: (B, N, H) -> (B, out)."""

    def __init__(self, hidden_size: int, output_size: int, attention_size: int = 128):
        super().__init__()
        self.attention = nn.Sequential(nn.Linear(hidden_size, attention_size), nn.Tanh(), nn.Linear(attention_size, 1))
        self.projection = nn.Linear(2 * hidden_size, output_size)

    def forward(self, hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.attention(hidden_states).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=-1).unsqueeze(-1)
        mean = (weights * hidden_states).sum(dim=1)
        variance = (weights * hidden_states.square()).sum(dim=1) - mean.square()
        return self.projection(torch.cat([mean, variance.clamp_min(1e-6).sqrt()], dim=-1))


class VoiceStatistics(nn.Module):
    """Utterance-level voice statistics (B, L) -> (B, 3 * n_mels [+ 6] [+ 4]): per mel band, the mean and
    standard deviation of the log-mel spectrogram and the standard deviation of its frame-to-frame change over
    the real samples; with `pitch`, six pitch statistics (`pitch_statistics`); with `modulation`, the
    loudness envelope's modulation power in four bands (`speech2video.modulation`: syllable rhythm, shimmer
    of a rough voice); with `robust_pitch`, the pitch is tracked above `ROBUST_PITCH_HIGHPASS_HZ` and its level
    is the median of log F0 (real recordings' hum, rumble and background music otherwise give the tracker
    octave slips that pull a mean). Standardised by a scaler fitted on training clips (`fit_scaler`; `mean` and
    `variance` are saved with the model and do not depend on the batch, so several processes train like one);
    with `narrowband`, narrowband speech (`is_narrowband`: a telephone line, an 8 kHz recording) by a second one.

    The x-vector idea: on SynthTalk, linear read-outs of these statistics predict emotion (0.41 vs 0.25) and
    voice-linked identity (R^2 0.45 vs 0.22) of unseen speakers better than the pooled states of the small
    from-scratch encoder, so the identity and emotion heads read both; the pitch statistics add to both.
    """

    def __init__(self, n_mels: int, sampling_rate: int, pitch: bool = False, modulation: bool = False,
                 n_fft: int = 400, hop_length: int = 160, robust_pitch: bool = False, formants: bool = False,
                 narrowband: bool = False):
        super().__init__()
        self.n_mels, self.sampling_rate, self.n_fft, self.hop_length = n_mels, sampling_rate, n_fft, hop_length
        self.pitch, self.modulation, self.robust_pitch, self.formants = pitch, modulation, robust_pitch, formants
        self.narrowband = narrowband
        self.size = (3 * n_mels + (NUM_PITCH_STATISTICS if pitch else 0) + (len(MODULATION_BANDS_HZ) if modulation else 0)
                     + (NUM_FORMANT_STATISTICS if formants else 0))
        self.register_buffer("mean", torch.zeros(self.size))
        self.register_buffer("variance", torch.ones(self.size))
        if narrowband:  # the scaler of narrowband speech
            self.register_buffer("narrowband_mean", torch.zeros(self.size))
            self.register_buffer("narrowband_variance", torch.ones(self.size))
        # the mel bands `is_narrowband` compares, as plain indices (from_pretrained leaves unsaved buffers unset):
        # those wholly within NARROWBAND_EMPTY_HZ, and those centred in the telephone band
        edges = mel_edges(n_mels, sampling_rate)  # band i spans edges i .. i + 2
        self.above_telephone = [i for i in range(n_mels)
                                if NARROWBAND_EMPTY_HZ[0] <= edges[i] and edges[i + 2] <= NARROWBAND_EMPTY_HZ[1]]
        self.telephone_band = [i for i in range(n_mels) if TELEPHONE_BAND_HZ[0] < edges[i + 1] < TELEPHONE_BAND_HZ[1]]
        above = [i for i in range(n_mels) if edges[i + 1] >= TELEPHONE_BAND_HZ[1]]
        self.narrowband_unread = [offset + i for offset in (0, n_mels, 2 * n_mels) for i in above]  # mean, spread, change
        if narrowband and not self.detects_narrowband:
            raise ValueError(f"narrowband voice statistics need a mel band wholly between {NARROWBAND_EMPTY_HZ} Hz: "
                             f"more bands than {n_mels} (e.g. 40)")

    def scaler(self, narrowband: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """The scaler's (mean, variance), each (size,); with `narrowband`, the narrowband scaler's."""
        return (self.narrowband_mean, self.narrowband_variance) if narrowband else (self.mean, self.variance)

    def fit_scaler(self, statistics: torch.Tensor, narrowband: bool = False) -> None:
        """Set the scaler (with `narrowband`, the narrowband one) from raw statistics (N, size) of training clips."""
        mean, variance = self.scaler(narrowband)
        mean.copy_(statistics.mean(dim=0))
        variance.copy_(statistics.var(dim=0))

    def is_narrowband(self, statistics: torch.Tensor) -> torch.Tensor:
        """Raw statistics (B, size) -> (B,) bool: the speech is narrowband, its mean log-mel power between 4 and
        6 kHz more than `NARROWBAND_BELOW_NATS` below that between 0.3 and 3.4 kHz (a telephone line or an
        8 kHz recording leaves those bands empty: 11-18 nats below on LibriSpeech's voices; wideband recordings,
        also through random microphones and rooms, are 5 or fewer below)."""
        band_means = statistics[:, : self.n_mels]
        level = band_means[:, self.above_telephone].mean(dim=1) - band_means[:, self.telephone_band].mean(dim=1)
        return level < NARROWBAND_BELOW_NATS

    def statistics(self, input_values: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The statistics before the scaler, (B, size), of the speech with its silence trimmed (`trim_silence`)."""
        input_values, attention_mask = trim_silence(input_values, attention_mask, self.hop_length, self.sampling_rate)
        window = torch.hann_window(self.n_fft, device=input_values.device)
        spectrum = torch.stft(input_values.float(), self.n_fft, self.hop_length, window=window, center=False,
                              return_complex=True).abs().square()  # (B, F, N): frame i = samples from i * hop
        filterbank = mel_filterbank(self.n_mels, self.n_fft, self.sampling_rate).to(input_values.device)
        log_mel = torch.log(filterbank @ spectrum + 1e-6)  # (B, n_mels, N)
        lengths = attention_mask.sum(dim=1)
        valid = (lengths - self.n_fft) // self.hop_length + 1  # frames inside the real samples
        mask = (torch.arange(log_mel.shape[-1], device=log_mel.device) < valid[:, None])[:, None].float()
        change = log_mel.diff(dim=-1)
        statistics = [*masked_mean_std(log_mel, mask), masked_mean_std(change, mask[..., 1:])[1]]
        if self.pitch:
            highpass = ROBUST_PITCH_HIGHPASS_HZ if self.robust_pitch else 0.0
            track = track_pitch(input_values, lengths, self.sampling_rate, highpass_hz=highpass)
            statistics.append(pitch_statistics(track, median_level=self.robust_pitch))
        if self.modulation:
            statistics.append(modulation_statistics(input_values, lengths, self.sampling_rate))
        if self.formants:
            statistics.append(formant_statistics(track_formants(input_values, track.voiced, self.sampling_rate)))
        return torch.cat(statistics, dim=1)

    def standardise(self, statistics: torch.Tensor, narrowband: bool = False) -> torch.Tensor:
        """Raw statistics (B, size) -> scaled ones. With `narrowband`, by the narrowband scaler, and the mel
        bands above the telephone band read as zeros: a narrowband recording holds only its noise floor there,
        which a 16-bit file's rounding alone moves by hundreds of the training copies' standard deviations."""
        mean, variance = self.scaler(narrowband)
        standardised = (statistics.to(mean.dtype) - mean) / (variance + 1e-5).sqrt()
        if narrowband:
            standardised = standardised.index_fill(1, torch.tensor(self.narrowband_unread, device=mean.device), 0.0)
        return standardised

    @property
    def detects_narrowband(self) -> bool:
        """Whether the mel bands reach above the telephone band, as `is_narrowband` needs."""
        return bool(self.above_telephone and self.telephone_band)

    def forward(self, input_values: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The standardised statistics (B, size) and which items are narrowband speech (B,) bool (None when the
        mel bands cannot tell, `detects_narrowband`); with `narrowband`, those items are standardised by the
        narrowband scaler. An item without a sound (digital silence, e.g. a muted video) gets the training
        clips' mean (zeros): no voice reads as the average voice, not as an extreme one."""
        sounded = (input_values.abs() * attention_mask).amax(dim=1) > 0
        statistics = self.statistics(input_values, attention_mask)
        standardised = self.standardise(statistics)
        narrowband = self.is_narrowband(statistics) & sounded if self.detects_narrowband else None
        if self.narrowband:
            standardised = torch.where(narrowband[:, None], self.standardise(statistics, narrowband=True), standardised)
        return standardised * sounded[:, None], narrowband


NUM_PITCH_STATISTICS = 6
TELEPHONE_BAND_HZ = (300.0, 3400.0)
NARROWBAND_EMPTY_HZ = (4000.0, 6000.0)  # above a telephone's band and an 8 kHz recording's Nyquist frequency
NARROWBAND_BELOW_NATS = -8.0  # the mean log-mel power there, against the telephone band's: about -35 dB
ROBUST_PITCH_HIGHPASS_HZ = 150.0
SILENCE_BELOW_DB = 40.0  # frames this far below the utterance's loudest one count as silence,
SILENCE_ABOVE_FLOOR_DB = 15.0  # and so do frames less than this above its quietest tenth (a room's noise)
SILENCE_MARGIN_SECONDS = 0.15  # kept at each end of the speech, as SynthTalk's clips have


def zero_mean_unit_variance(values: torch.Tensor) -> torch.Tensor:
    """Audio (L,) normalised as `Wav2Vec2FeatureExtractor(do_normalize=True)` does, without its copies."""
    return (values - values.mean()) / torch.sqrt(values.var(correction=0) + 1e-7)


def trim_silence(input_values: torch.Tensor, attention_mask: torch.Tensor, hop_length: int = 160,
                 sampling_rate: int = 16_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut each item's silence (10 ms frames `SILENCE_BELOW_DB` below its loudest, or less than
    `SILENCE_ABOVE_FLOOR_DB` above its quietest tenth) before its first and after its last speech frame down to
    `SILENCE_MARGIN_SECONDS`, and normalise what is kept to zero mean and unit variance, as the feature
    extractor does: (B, L), (B, L) -> (B, L'), (B, L') left-aligned. The voice statistics then describe the
    voice, not how long the recording ran before and after it (1.5 s of silence at each end took the released
    read-outs from 50 to 31 % emotion on SynthTalk's test speakers). An item without a level (digital
    silence) is kept whole."""
    lengths = attention_mask.sum(dim=1)
    values = input_values.float()
    power = F.pad(values, (0, (-values.shape[1]) % hop_length)).unflatten(1, (-1, hop_length)).square().mean(-1)
    frame_valid = torch.arange(power.shape[1], device=values.device)[None] < (lengths[:, None] // hop_length)
    level = 10 * torch.log10(power + 1e-12)
    loudest = level.masked_fill(~frame_valid, -torch.inf).amax(dim=1, keepdim=True)
    floor = level.masked_fill(~frame_valid, torch.nan).nanquantile(0.1, dim=1, keepdim=True)  # a noisy room's level
    # digital silence is its own floor, and an item shorter than a frame has none (NaN): no speech frame
    speech = frame_valid & (level > torch.maximum(loudest - SILENCE_BELOW_DB, floor + SILENCE_ABOVE_FLOOR_DB))
    margin = round(SILENCE_MARGIN_SECONDS * sampling_rate)
    pieces = []
    for item, length, frames in zip(values, lengths.tolist(), speech):
        where = frames.nonzero().flatten()
        if len(where) == 0:
            pieces.append(item[:length])
            continue
        start = max(0, int(where[0]) * hop_length - margin)
        stop = min(length, (int(where[-1]) + 1) * hop_length + margin)
        pieces.append(zero_mean_unit_variance(item[start:stop]))
    trimmed = torch.nn.utils.rnn.pad_sequence(pieces, batch_first=True)
    kept_lengths = torch.tensor([len(piece) for piece in pieces], device=values.device)
    mask = (torch.arange(trimmed.shape[1], device=values.device)[None] < kept_lengths[:, None]).long()
    return trimmed.to(input_values.dtype), mask


def pitch_statistics(track: PitchTrack, median_level: bool = False) -> torch.Tensor:
    """(B, 6): mean (with `median_level`, the median) and interquartile range of log F0 (the range, robust to
    the tracker's octave slips) and mean |change| of log F0 between voiced frames, the voiced fraction, voicing
    onsets per second (a speaking-rate cue) and the mean aperiodicity (breathy or rough voice) of voiced
    frames. An item with fewer than 2 voiced frames is measured over all its frames."""
    voiced = torch.where(track.voiced.sum(dim=1, keepdim=True) >= 2, track.voiced, track.valid)
    log_f0 = track.f0.log()
    if median_level:
        level = masked_quantile(log_f0, voiced, 0.5)[:, None]
    else:
        level = masked_mean_std(log_f0[:, None], voiced[:, None].float())[0]
    spread = masked_quantile(log_f0, voiced, 0.75) - masked_quantile(log_f0, voiced, 0.25)
    both = (voiced[:, 1:] & voiced[:, :-1])[:, None].float()
    jump = masked_mean_std(log_f0.diff(dim=-1).abs()[:, None], both)[0]
    frames = track.valid.sum(dim=1, keepdim=True)
    onsets = (track.voiced[:, 1:] & ~track.voiced[:, :-1]).sum(dim=1, keepdim=True) / (frames / track.frame_rate)
    fraction = track.voiced.sum(dim=1, keepdim=True) / frames
    aperiodicity = masked_mean_std(track.aperiodicity[:, None], voiced[:, None].float())[0]
    return torch.cat([level, spread[:, None], jump, fraction, onsets, aperiodicity], dim=1)


NUM_FORMANT_STATISTICS = 5
NEUTRAL_TRACT_FORMANTS_HZ = (500.0, 1500.0, 2500.0, 3500.0)  # a uniform 17.5 cm tube: (2k - 1) c / 4L


def formant_statistics(track: FormantTrack) -> torch.Tensor:
    """(B, 5): the median log frequency of each of the four lowest formants over the frames that have it, and
    the median log of their mean spacing ((F4 - F1) / 3, inversely proportional to the tract's length) over the
    frames that have all four. An item without such a frame (no voiced frame) gets a neutral tract's values."""
    log_frequencies = track.frequencies.log()  # (B, N, 4), NaN where absent
    spacing = ((track.frequencies[..., 3] - track.frequencies[..., 0]) / 3).log()[..., None]
    neutral = torch.tensor(NEUTRAL_TRACT_FORMANTS_HZ, device=log_frequencies.device)
    neutral = torch.cat([neutral, (neutral[3:] - neutral[:1]) / 3]).log()
    values = torch.cat([log_frequencies, spacing], dim=-1)  # (B, N, 5)
    found = ~values.isnan()
    medians = torch.stack([masked_quantile(values[..., k].nan_to_num(), found[..., k], 0.5)
                           for k in range(values.shape[-1])], dim=1)
    return torch.where(found.any(dim=1), medians, neutral)


def masked_quantile(values: torch.Tensor, mask: torch.Tensor, q: float) -> torch.Tensor:
    """The q-quantile (lower) of values (B, N) over the entries where mask (B, N) is True, (B,)."""
    ordered = values.masked_fill(~mask, float("inf")).sort(dim=1).values
    index = ((mask.sum(dim=1) - 1).clamp_min(0) * q).long()
    return ordered.gather(1, index[:, None])[:, 0]


def masked_mean_std(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation over the last axis of values (B, C, N) where mask (B, 1, N) is 1."""
    count = mask.sum(dim=-1).clamp_min(1)
    mean = (values * mask).sum(dim=-1) / count
    variance = ((values - mean[..., None]).square() * mask).sum(dim=-1) / count
    return mean, variance.clamp_min(1e-6).sqrt()


def read_out(in_features: int, out_features: int, hidden_size: int = 0) -> nn.Module:
    """(B, in_features) -> (B, out_features): linear, or with one GELU hidden layer when `hidden_size` > 0.
    Its last layer is `[-1]` of the Sequential (or the Linear itself)."""
    if not hidden_size:
        return nn.Linear(in_features, out_features)
    return nn.Sequential(nn.Linear(in_features, hidden_size), nn.GELU(), nn.Linear(hidden_size, out_features))


class SpeechEncoder(nn.Module):
    """The student: wav2vec2 + identity, emotion and per-frame content heads."""

    def __init__(self, config: Speech2VideoConfig):
        super().__init__()
        hidden_size = config.encoder_config.hidden_size
        self.wav2vec2 = Wav2Vec2Model(config.encoder_config)
        self.identity_head = AttentiveStatisticsPooling(hidden_size, config.identity_dim)
        self.emotion_head = AttentiveStatisticsPooling(hidden_size, config.num_emotions)
        self.content_head = nn.Sequential(nn.LayerNorm(hidden_size), nn.Linear(hidden_size, config.content_dim))
        self.mouth_head = nn.Linear(config.content_dim, 1)  # distilled from the per-frame mouth targets
        self.voice_statistics = None
        if config.voice_statistics_bands:  # read-outs added to the pooled heads' outputs
            bands = config.voice_statistics_bands
            self.voice_statistics = VoiceStatistics(
                bands, config.sampling_rate, config.voice_statistics_pitch, config.voice_statistics_modulation,
                robust_pitch=config.voice_statistics_robust_pitch, formants=config.voice_statistics_formants,
                narrowband=config.voice_statistics_narrowband,
            )
            self.identity_statistics_head = read_out(self.voice_statistics.size, config.identity_dim,
                                                     config.voice_statistics_hidden_size)
            self.emotion_statistics_head = read_out(self.voice_statistics.size, config.num_emotions,
                                                    config.voice_statistics_hidden_size)
            if config.voice_statistics_narrowband:  # the same read-outs for narrowband speech
                self.narrowband_identity_statistics_head = read_out(self.voice_statistics.size, config.identity_dim,
                                                                    config.voice_statistics_hidden_size)
                self.narrowband_emotion_statistics_head = read_out(self.voice_statistics.size, config.num_emotions,
                                                                   config.voice_statistics_hidden_size)

    def reads_speaker_from_voice_statistics_only(self) -> bool:
        """Whether identity and emotion come from the voice-statistics read-outs alone (the pooled heads zeroed,
        `fit_voice_statistics.py --reset_pooled_heads`): then training the wav2vec2 encoder leaves them as they are."""
        pooled = [head.projection for head in (self.identity_head, self.emotion_head)]
        return self.voice_statistics is not None and not any(
            parameter.any() for layer in pooled for parameter in (layer.weight, layer.bias))

    def forward(self, input_values: torch.Tensor, attention_mask: torch.Tensor, num_frames: torch.Tensor,
                frames: tuple[int, int] | None = None, first_feature: int = 0,
                feature_lengths: torch.Tensor | None = None,
                voice: tuple[torch.Tensor, torch.Tensor] | None = None,
                read_voice: bool = True) -> SpeechEncoderOutput:
        """input_values (B, L) normalised audio, attention_mask (B, L), num_frames (B,) -> SpeechEncoderOutput.

        For a window of a longer utterance (see `streaming.FrameStream`): the audio is the window, whose
        first feature is `first_feature` of the whole; `feature_lengths` (B,) and `num_frames` describe the
        whole utterance, and content is returned for video frames `frames` = (start, stop) only. `voice`
        = (input_values (B, L'), attention_mask (B, L')): the audio the voice statistics are read from
        (default: this input), e.g. more of the utterance than the window; `read_voice=False` leaves identity
        and emotion out (None), for windows after the one they were read from.
        """
        hidden = self.wav2vec2(input_values, attention_mask=attention_mask).last_hidden_state  # (B, N, H)
        feature_mask = self.wav2vec2._get_feature_vector_attention_mask(hidden.shape[1], attention_mask).bool()
        content = self.content_head(hidden)  # (B, N, C) at 50 Hz
        content_features, frame_mask = resample_to_frames(
            content, feature_mask.sum(dim=1), num_frames, frames, first_feature, feature_lengths
        )
        identity = emotion = narrowband = None
        if read_voice:
            identity, emotion = self.identity_head(hidden, feature_mask), self.emotion_head(hidden, feature_mask)
        if read_voice and self.voice_statistics is not None:
            statistics, narrowband = self.voice_statistics(*(voice or (input_values, attention_mask)))
            identity_read, emotion_read = self.identity_statistics_head(statistics), self.emotion_statistics_head(statistics)
            if self.voice_statistics.narrowband:
                read_narrowband = narrowband[:, None]
                identity_read = torch.where(read_narrowband, self.narrowband_identity_statistics_head(statistics), identity_read)
                emotion_read = torch.where(read_narrowband, self.narrowband_emotion_statistics_head(statistics), emotion_read)
            identity, emotion = identity + identity_read, emotion + emotion_read
        return SpeechEncoderOutput(
            identity_embeds=identity,
            emotion_logits=emotion,
            content_features=content_features,
            mouth_open=self.mouth_head(content_features).squeeze(-1),
            frame_mask=frame_mask,
            narrowband=narrowband,
        )


def resample_to_frames(features: torch.Tensor, lengths: torch.Tensor, num_frames: torch.Tensor,
                       frames: tuple[int, int] | None = None, first_feature: int = 0,
                       total_lengths: torch.Tensor | None = None):
    """Linearly resample each item's valid features to its video frame count, centre to centre (the
    arithmetic of `F.interpolate(mode="linear")`, so it can also run on a window of a long sequence).

    features (B, N, C) are features `first_feature` .. `first_feature` + N of sequences of `total_lengths`
    (B,) features (default: `lengths`, the valid features of each row, i.e. the whole sequence), spread over
    `num_frames` (B,) frames. Returns the frames `frames` = (start, stop) (default: all) as (B, T, C),
    each item's last frame repeated past its num_frames (as the generator's context expects at an edge),
    and the (B, T) mask of real frames.
    """
    lengths = lengths.to(features.device)
    total_lengths = lengths if total_lengths is None else total_lengths.to(features.device)
    num_frames = num_frames.to(features.device)
    start, stop = frames if frames is not None else (0, int(num_frames.max()))
    frame_index = torch.arange(start, stop, device=features.device, dtype=torch.float64)[None]  # (1, T)
    scale = total_lengths.double()[:, None].clamp_min(1) / num_frames.double()[:, None]
    frame_mask = frame_index.long() < num_frames[:, None]
    shown = frame_index.minimum(num_frames.double()[:, None] - 1)  # past an item's end: its last frame again
    position = ((shown + 0.5) * scale - 0.5).clamp_min(0) - first_feature  # (B, T) in this window
    last = (lengths[:, None] - 1).clamp_min(0)
    low = position.floor().long().clamp(min=0).minimum(last)
    high = (low + 1).minimum(last)
    weight = (position - low).clamp(0, 1).to(features.dtype)[..., None]
    gather = lambda index: features.gather(1, index[..., None].expand(-1, -1, features.shape[-1]))  # noqa: E731
    return torch.lerp(gather(low), gather(high), weight), frame_mask


class MotionProcess(nn.Module):
    """Spontaneous motion: seeded Gaussian noise (B, T, noise_dim) -> GRU -> motion codes (B, T, motion_dim)."""

    def __init__(self, noise_dim: int, motion_dim: int):
        super().__init__()
        self.gru = nn.GRU(noise_dim, motion_dim, batch_first=True)
        self.projection = nn.Linear(motion_dim, motion_dim)

    def forward(self, noise: torch.Tensor, state: torch.Tensor | None = None):
        """Returns motion (B, T, motion_dim) and the GRU state (1, B, motion_dim) to continue a stream."""
        hidden, state = self.gru(noise, state)
        return self.projection(hidden), state


class AdaptiveInstanceNorm(nn.Module):
    """Instance norm whose per-channel scale and shift come from the style vector."""

    def __init__(self, channels: int, style_dim: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels)
        self.affine = nn.Linear(style_dim, 2 * channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        scale, shift = self.affine(style)[:, :, None, None].chunk(2, dim=1)
        return self.norm(x) * (1 + scale) + shift


class UpBlock(nn.Module):
    """x2 nearest upsampling, then twice (3x3 conv -> AdaIN(style) -> LeakyReLU)."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm1 = AdaptiveInstanceNorm(out_channels, style_dim)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.norm2 = AdaptiveInstanceNorm(out_channels, style_dim)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.leaky_relu(self.norm1(self.conv1(x), style), 0.2)
        return F.leaky_relu(self.norm2(self.conv2(x), style), 0.2)


class ZeroInitConv2d(nn.Conv2d):
    """A convolution whose weights and bias start at zero (`Speech2VideoPreTrainedModel._init_weights`)."""


class ReferenceEncoder(nn.Module):
    """A picture of the speaker (B, 3, S, S) in [0, 1] -> what it adds to the decoder at each resolution:
    a list of (B, C_r, r, r) for r = 4, 8, ..., S with the decoder's channels (Speech2Vid's skip connections).

    Stride-2 convolutions from the full resolution down to 4x4; each level's contribution passes a 1x1
    convolution that starts at zero, so a generator trained without pictures renders the same frames when
    this encoder is added, and learns from there what to take from the picture.
    """

    def __init__(self, channels: list[int]):
        super().__init__()
        finest_first = channels[::-1]
        self.stem = nn.Conv2d(3, finest_first[0], 3, padding=1)
        self.downs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 4, stride=2, padding=1) for c_in, c_out in zip(finest_first, finest_first[1:])
        )
        self.skips = nn.ModuleList(ZeroInitConv2d(c, c, 1) for c in finest_first)

    def forward(self, pictures: torch.Tensor) -> list[torch.Tensor]:
        x = F.leaky_relu(self.stem(pictures * 2 - 1), 0.2)
        features = [x]
        for down in self.downs:
            x = F.leaky_relu(down(x), 0.2)
            features.append(x)
        return [skip(feature) for skip, feature in zip(self.skips, features)][::-1]  # coarsest first


class FrameGenerator(nn.Module):
    """Per-frame style from [content with context, identity, emotion, motion], then a modulated decoder."""

    def __init__(self, config: Speech2VideoConfig):
        super().__init__()
        channels = config.generator_channels
        self.emotion_embedding = nn.Linear(config.num_emotions, config.emotion_embed_dim, bias=False)
        self.content_context = nn.Conv1d(  # edges repeat the first/last frame: zeros are not content it knows
            config.content_dim, config.content_dim, 2 * config.content_context + 1, padding=config.content_context,
            padding_mode="replicate",
        )
        condition_dim = config.content_dim + config.identity_dim + config.emotion_embed_dim + config.motion_dim
        self.mapping = nn.Sequential(
            nn.Linear(condition_dim, config.style_dim), nn.LeakyReLU(0.2),
            nn.Linear(config.style_dim, config.style_dim), nn.LeakyReLU(0.2),
        )
        self.input = nn.Linear(config.style_dim, channels[0] * 16)
        self.input_norm = AdaptiveInstanceNorm(channels[0], config.style_dim)
        self.blocks = nn.ModuleList(UpBlock(c_in, c_out, config.style_dim) for c_in, c_out in zip(channels, channels[1:]))
        self.to_rgb = nn.Conv2d(channels[-1], 3, 1)
        self.reference = ReferenceEncoder(channels) if config.reference_frame else None

    def styles(self, content: torch.Tensor, identity: torch.Tensor, emotion_probs: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        """content (B, T, C), identity (B, D), emotion_probs (B, E), motion (B, T, M) -> styles (B, T, style_dim)."""
        num_frames = content.shape[1]
        content = self.content_context(content.transpose(1, 2)).transpose(1, 2)
        utterance = torch.cat([identity, self.emotion_embedding(emotion_probs)], dim=-1)
        condition = torch.cat([content, utterance[:, None].expand(-1, num_frames, -1), motion], dim=-1)
        return self.mapping(condition)

    def decode(self, styles: torch.Tensor, reference: list[torch.Tensor] | None = None) -> torch.Tensor:
        """styles (N, style_dim) -> frames (N, 3, S, S) in [0, 1]; `reference`, the `ReferenceEncoder`'s
        output for each frame's picture (N or 1 pictures), joins the decoder at every resolution."""
        x = self.input(styles).view(styles.shape[0], -1, 4, 4)
        x = F.leaky_relu(self.input_norm(x, styles), 0.2)
        for level, block in enumerate([None, *self.blocks]):
            if block is not None:
                x = block(x, styles)
            if reference is not None:
                x = x + reference[level]
        return (torch.tanh(self.to_rgb(x)) + 1) / 2


MOTION_NOISE_BLOCK = 256  # frames of motion noise drawn at a time
MOTION_WARMUP = 16  # noise frames the motion GRU runs on before a stream's first frame (no zero-state transient)


def _noise_blocks(generator, first_block: int, last_block: int, dim: int) -> torch.Tensor:
    """Noise blocks first..last of a seeded stream, shape ((last - first + 1) * MOTION_NOISE_BLOCK, dim)."""
    blocks = [torch.randn(MOTION_NOISE_BLOCK, dim, generator=generator) for _ in range(last_block + 1)]
    return torch.cat(blocks[first_block:])


class Speech2VideoPreTrainedModel(PreTrainedModel):
    config_class = Speech2VideoConfig
    base_model_prefix = "speech2video"
    main_input_name = "input_values"

    def _init_weights(self, module):
        if isinstance(module, ZeroInitConv2d):
            init.zeros_(module.weight)
            init.zeros_(module.bias)
        else:
            super()._init_weights(module)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path=None, *args, **kwargs):
        """Load an embedded checkpoint by name (default: the package's default), a local folder or a Hub id.

        Only safetensors weights are loaded; a bad folder raises `CheckpointError` saying what is wrong.
        Weights load in float32 (the released ones are stored in float16, which CPUs run slowly or not at
        all) unless `dtype=` names another dtype; `dtype="auto"`, which transformers' `pipeline()` passes,
        also means float32.
        """
        kwargs["use_safetensors"] = True
        if kwargs.get("dtype") in (None, "auto"):
            kwargs["dtype"] = torch.float32
        path = resolve_model_path(pretrained_model_name_or_path)
        try:
            return super().from_pretrained(path, *args, **kwargs)
        except OSError as error:
            if Path(path).exists():
                raise
            raise CheckpointError(
                f"{path!r} is not an embedded model ({', '.join(embedded_models())}) nor a local folder, and could "
                f"not be loaded as a Hugging Face Hub id: {str(error).splitlines()[0]}"
            ) from None


class Speech2VideoModel(Speech2VideoPreTrainedModel):
    """Speech in, talking-face frames out: `SpeechEncoder` -> `MotionProcess` -> `FrameGenerator`."""

    def __init__(self, config: Speech2VideoConfig):
        super().__init__(config)
        self.encoder = SpeechEncoder(config)
        self.motion = MotionProcess(config.motion_noise_dim, config.motion_dim)
        self.generator = FrameGenerator(config)
        self.post_init()

    def encode_speech(self, input_values, attention_mask=None, num_frames=None,
                      read_voice: bool = True) -> SpeechEncoderOutput:
        """Run the student. num_frames (B,) defaults to round(duration x config.fps) per item; `read_voice=False`
        leaves identity and emotion out (None): only the content, e.g. to train the lips alone."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_values, dtype=torch.long)
        if num_frames is None:
            num_frames = num_video_frames(attention_mask.sum(dim=1), self.config.sampling_rate, self.config.fps)
        num_frames = torch.as_tensor(num_frames).reshape(-1)
        return self.encoder(input_values, attention_mask, num_frames, read_voice=read_voice)

    def sample_motion(self, batch_size: int, num_frames: int, generator=None, state=None, start_frame: int = 0,
                      scale: float | None = None):
        """Motion codes (B, T, M) and the GRU state, from seeded noise, times `scale` (default
        `config.motion_scale`).

        `generator` is a torch.Generator or one per item. Noise is drawn in fixed blocks of
        `MOTION_NOISE_BLOCK` frames, so a given seed gives the same motion for any length or chunking
        (pass the previous `state` and `start_frame` to continue a stream). A stream starts with the GRU run
        on `MOTION_WARMUP` frames of the same noise, so its first frames move like the rest.
        """
        generators = generator if isinstance(generator, (list, tuple)) else [generator] * batch_size
        if len(generators) != batch_size:
            raise ValueError(f"got {len(generators)} generators for a batch of {batch_size}")
        first = start_frame if state is None else start_frame + MOTION_WARMUP  # noise index of the first step
        last = start_frame + MOTION_WARMUP + num_frames - 1
        first_block, last_block = first // MOTION_NOISE_BLOCK, last // MOTION_NOISE_BLOCK
        offset = first - first_block * MOTION_NOISE_BLOCK
        noise = torch.stack([
            _noise_blocks(g, first_block, last_block, self.config.motion_noise_dim)[offset : offset + last - first + 1]
            for g in generators
        ]).to(self.device, self.dtype)
        motion, state = self.motion(noise, state)
        scale = self.config.motion_scale if scale is None else scale
        return scale * motion[:, -num_frames:], state

    def reference_features(self, reference_pixels: torch.Tensor | None, num_frames: int) -> list[torch.Tensor] | None:
        """The decoder's reference input for B clips of `num_frames` frames each, from pictures (B, 3, S, S)
        in [0, 1] (each clip's picture repeated for its frames, batch B * num_frames), the mouth greyed out if
        `config.reference_mouth_box`; None without pictures."""
        if reference_pixels is None:
            return None
        if self.generator.reference is None:
            raise ValueError("this model was not trained with reference frames (config.reference_frame is False)")
        size = self.config.image_size
        if reference_pixels.ndim != 4 or reference_pixels.shape[1:] != (3, size, size):
            raise ValueError(f"reference_pixels must be (B, 3, {size}, {size}), got {tuple(reference_pixels.shape)}")
        reference_pixels = reference_pixels.to(self.dtype)
        if self.config.reference_mouth_box is not None:  # grey, the encoder's zero, where the mouth is
            top, left, bottom, right = (round(f * size) for f in self.config.reference_mouth_box)
            reference_pixels = reference_pixels.clone()
            reference_pixels[..., top:bottom, left:right] = 0.5
        features = self.generator.reference(reference_pixels)
        return [feature.repeat_interleave(num_frames, dim=0) for feature in features]

    def emotion_probs(self, emotion_logits: torch.Tensor, emotion=None, temperature: float = 1.0) -> torch.Tensor:
        """Softmax of the inferred logits (B, E) at `temperature` (0: one-hot of the most likely), or one-hot of
        `emotion` (a label name, an index, or (B,) indices)."""
        if emotion is None and temperature > 0:
            return (emotion_logits / temperature).softmax(dim=-1)
        if emotion is None:
            emotion = emotion_logits.argmax(dim=-1)
        if isinstance(emotion, str):
            emotion = self.config.emotion_labels.index(emotion)
        index = torch.as_tensor(emotion, device=emotion_logits.device).expand(emotion_logits.shape[0])
        return F.one_hot(index, self.config.num_emotions).to(emotion_logits.dtype)

    def generator_identity(self, identity_embeds: torch.Tensor) -> torch.Tensor:
        """The identity (B, D) inferred from the voice as the generator gets it: `config.binary_identity_dims`
        thresholded at 0.5."""
        dims = self.config.binary_identity_dims
        if not dims:
            return identity_embeds
        identity = identity_embeds.clone()
        identity[:, dims] = (identity[:, dims] > 0.5).to(identity.dtype)
        return identity

    def forward(
        self,
        input_values: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        num_frames: torch.Tensor | None = None,
        emotion=None,
        identity_embeds: torch.Tensor | None = None,
        motion: torch.Tensor | None = None,
        reference_pixels: torch.Tensor | None = None,
        generator=None,
        return_dict: bool | None = None,
    ) -> Speech2VideoModelOutput | tuple:
        """Generate frames from speech.

        Args:
            input_values (B, L): normalised 16 kHz audio; attention_mask (B, L): 1 on real samples.
            num_frames (B,): frames per item (default: duration x fps).
            emotion: override of the inferred emotion (label name or class index).
            identity_embeds (B, D): override of the inferred identity (the static-image baseline).
            motion (B, T, M): precomputed motion codes; otherwise sampled with `generator`.
            reference_pixels (B, 3, S, S): a picture of each speaker in [0, 1], for a model with
                `config.reference_frame` (the static-image baseline).
        """
        speech = self.encode_speech(input_values, attention_mask, num_frames)
        batch_size, total_frames = speech.content_features.shape[:2]
        identity = self.generator_identity(speech.identity_embeds) if identity_embeds is None else identity_embeds
        if motion is None:
            motion, _ = self.sample_motion(batch_size, total_frames, generator)
        styles = self.generator.styles(
            speech.content_features, identity,
            self.emotion_probs(speech.emotion_logits, emotion, self.config.emotion_temperature), motion,
        )
        reference = self.reference_features(reference_pixels, total_frames)
        frames = self.generator.decode(styles.flatten(0, 1), reference).unflatten(0, (batch_size, total_frames))
        output = Speech2VideoModelOutput(
            frames=frames,
            identity_embeds=speech.identity_embeds,
            emotion_logits=speech.emotion_logits,
            content_features=speech.content_features,
            motion=motion,
            frame_mask=speech.frame_mask,
            narrowband=speech.narrowband,
        )
        return output if return_dict is not False else output.to_tuple()


AutoConfig.register(Speech2VideoConfig.model_type, Speech2VideoConfig, exist_ok=True)
AutoModel.register(Speech2VideoConfig, Speech2VideoModel, exist_ok=True)
