"""Generation chunk by chunk: speech of any length in bounded memory, frames as soon as they are rendered.

The encoder reads the speech `chunk_seconds` at a time with `context_seconds` more on each side, so its
attention never spans more than a chunk and the content features are continuous across chunk seams.
Identity and emotion are read once and held for the whole video (a recording does not change speaker, and a
viewer expects a stable face): the pooled heads from the first chunk (and its right context), the voice
statistics, cheap to compute, from the first `VOICE_SECONDS`, so a long silence or a noise before the voice
does not decide the face. The motion process carries its state from chunk to chunk and draws its noise in
fixed blocks, so it is the same for any chunking.
Speech no longer than a chunk is encoded in one pass, exactly as `Speech2VideoModel.forward` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F

CHUNK_SECONDS = 5.0
CONTEXT_SECONDS = 1.0
VOICE_SECONDS = 20.0  # of audio the voice statistics are read from (about 70 ms of one core)
FIRST_BATCH_FRAMES = 4  # the first frames of a video are rendered in a small batch, so they come sooner


class FrameStream:
    """The frames of B utterances, rendered `frame_batch_size` frames at a time.

    Args:
        model: a `Speech2VideoModel`.
        input_values (B, L): normalised audio at `model.config.sampling_rate`, zero-padded; num_samples (B,):
            each item's length (a length per item rather than a (B, L) mask: long audio costs no extra memory).
        num_frames (B,): frames of each utterance at `fps`.
        emotion: override of the inferred emotion (label or class index); identity_embeds (1 or B, D):
            override of the inferred identity (the static-image baseline).
        seeds: the seed of each item's motion (default: random); motion_scale: its reach (default: the
            model's `config.motion_scale`; 0 a still face).
        decoder: renders styles (N, style_dim) into frames (default `model.generator.decode`), e.g. a
            `optimization.CompiledDecoder`.
        reference_pixels (1, 3, S, S): a picture of the speaker in [0, 1] for every item, for a model with
            `config.reference_frame` (the static-image baseline); encoded once.

    Construction encodes the first chunk, so `identity_embeds` (B, D), `emotion_probs` (B, E) and
    `narrowband` ((B,) bool or None, `SpeechEncoderOutput.narrowband`) are known before any frame. Iterating yields frames (B, t, 3, S, S) in [0, 1] in
    order, the first `FIRST_BATCH_FRAMES` then `frame_batch_size` at a time, `total_frames` = max(num_frames)
    in all (shorter items are padded: cut each at its num_frames).
    """

    @torch.inference_mode()
    def __init__(self, model, input_values: torch.Tensor, num_samples: torch.Tensor, num_frames: torch.Tensor,
                 fps: float, emotion=None, identity_embeds: torch.Tensor | None = None, seeds=None,
                 frame_batch_size: int = 16, chunk_seconds: float = CHUNK_SECONDS,
                 context_seconds: float = CONTEXT_SECONDS, decoder=None, motion_scale: float | None = None,
                 reference_pixels: torch.Tensor | None = None):
        config = model.config
        self.model = model
        self.input_values, self.num_samples = input_values, num_samples.reshape(-1)
        self.num_frames = num_frames
        self.total_frames = int(num_frames.max())
        self.fps = fps
        self.seeds = [int(torch.randint(2**62, ())) for _ in num_frames] if seeds is None else list(seeds)
        self.frame_batch_size = frame_batch_size
        self.motion_scale = motion_scale
        self.decode = decoder or model.generator.decode
        if reference_pixels is not None and len(reference_pixels) != 1:
            raise ValueError(f"reference_pixels must be one picture (1, 3, S, S), got {tuple(reference_pixels.shape)}")
        self.reference = model.reference_features(reference_pixels, 1)  # added to every frame's decoder
        self.chunk_frames = max(1, round(chunk_seconds * fps))
        self.context_samples = round(context_seconds * config.sampling_rate)
        self.stride = math.prod(config.encoder_config.conv_stride)  # audio samples per encoder feature
        self.feature_lengths = model.encoder.wav2vec2._get_feat_extract_output_lengths(self.num_samples)

        voice_samples = min(self.input_values.shape[1], round(VOICE_SECONDS * config.sampling_rate))
        voice_mask = (torch.arange(voice_samples)[None] < self.num_samples[:, None]).long()
        voice = (self.input_values[:, :voice_samples], voice_mask)
        first = self._encode(0, min(self.chunk_frames, self.total_frames), voice)
        self._first_content = first.content_features
        batch_size = len(num_frames)
        self.narrowband = first.narrowband
        self.emotion_probs = model.emotion_probs(first.emotion_logits, emotion)
        self._generator_emotion = model.emotion_probs(first.emotion_logits, emotion, config.emotion_temperature)
        if identity_embeds is None:  # the voice's reading; the generator gets it as `generator_identity` says
            self.identity_embeds = first.identity_embeds
            self._generator_identity = model.generator_identity(first.identity_embeds)
        else:
            self.identity_embeds = self._generator_identity = identity_embeds.expand(batch_size, -1)

    def _encode(self, start: int, stop: int, voice: tuple[torch.Tensor, torch.Tensor] | None = None):
        """The encoder on the audio of frames start..stop plus context; content (B, stop - start + 2k, C)
        for frames start - k .. stop + k (k = the generator's content context; outside the video, its edge
        frames repeated). `voice`: the audio identity and emotion are read from (voice statistics); without it
        only content is read."""
        rate, k = self.model.config.sampling_rate, self.model.config.content_context
        first_frame, last_frame = max(0, start - k), min(self.total_frames, stop + k)
        first_sample = max(0, math.floor(first_frame / self.fps * rate) - self.context_samples)
        first_sample -= first_sample % self.stride  # the window's features are then features of the whole
        last_sample = math.ceil(last_frame / self.fps * rate) + self.context_samples
        values = self.input_values[:, first_sample:last_sample]
        positions = torch.arange(first_sample, first_sample + values.shape[1])
        attention_mask = (positions[None] < self.num_samples[:, None]).long()
        speech = self.model.encoder(values, attention_mask, self.num_frames, frames=(first_frame, last_frame),
                                    first_feature=first_sample // self.stride, feature_lengths=self.feature_lengths,
                                    voice=voice, read_voice=voice is not None)
        padding = (first_frame - (start - k), stop + k - last_frame)  # outside the video: its edge frames repeated
        speech.content_features = F.pad(speech.content_features.transpose(1, 2), padding, mode="replicate").transpose(1, 2)
        return speech

    def __iter__(self) -> Iterator[torch.Tensor]:
        state = None
        for start in range(0, self.total_frames, self.chunk_frames):
            stop = min(start + self.chunk_frames, self.total_frames)
            styles, state = self._styles(start, stop, state)
            first = 0
            while first < stop - start:
                size = self.frame_batch_size if start + first else min(FIRST_BATCH_FRAMES, self.frame_batch_size)
                with torch.inference_mode():  # not held across the yield: the caller's code runs outside it
                    batch = styles[:, first : first + size].flatten(0, 1)  # (B * size, style_dim)
                    pieces = batch.split(self.frame_batch_size)
                    frames = torch.cat([self.decode(piece, self.reference) for piece in pieces])
                yield frames.unflatten(0, (len(self.num_frames), -1))
                first += size

    @torch.inference_mode()
    def _styles(self, start: int, stop: int, state):
        """Styles (B, stop - start, style_dim) of frames start..stop, and the motion state after them."""
        model, k = self.model, self.model.config.content_context
        content = self._first_content if start == 0 else self._encode(start, stop).content_features
        generators = [torch.Generator().manual_seed(seed) for seed in self.seeds]  # noise drawn from block 0
        motion, state = model.sample_motion(len(self.num_frames), stop - start, generators, state, start, self.motion_scale)
        styles = model.generator.styles(content, self._generator_identity, self._generator_emotion, F.pad(motion, (0, 0, k, k)))
        return styles[:, k : k + stop - start], state
