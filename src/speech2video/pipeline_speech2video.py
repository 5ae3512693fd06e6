"""Speech2VideoPipeline: the `speech-to-video` task.

    pipe = pipeline("speech-to-video", model=path)      # after `import speech2video`
    video = pipe("speech.wav", seed=0)                   # -> Speech2VideoOutput
    video.save("talking_face.mp4")
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import Pipeline, Wav2Vec2FeatureExtractor
from transformers.pipelines import PIPELINE_REGISTRY

from .audio import load_audio
from .checkpoints import DEFAULT_MODEL, PRETRAINED_DIR
from .errors import AudioError, Speech2VideoError
from .modeling_speech2video import Speech2VideoModel, num_video_frames, zero_mean_unit_variance
from .optimization import CompiledDecoder
from .streaming import FrameStream
from .video import VideoWriter, write_video

MAX_FPS = 60.0
MAX_MOTION_SCALE = 3.0  # beyond it the motion codes leave what the generator saw in training
DEFAULT_FRAME_BATCH = 16  # frames rendered at a time: 16 keeps a batch's activations in cache (2x the fps of 64)


@dataclass
class InferredFromVoice:
    """What the model read from the voice, and the speech the video goes with.

    fps; audio (num_samples,) float32 mono at `sampling_rate` (the input speech); emotion_probs
    {label: probability} and identity_embedding (D,) as inferred from the voice (or overridden); emotion_probs
    is empty for a model that does not infer the speaker (`config.infers_speaker`). narrowband: the voice was
    heard as narrowband speech (a telephone line, an 8 kHz recording; read with the model's narrowband
    read-outs where it has them, `config.voice_statistics_narrowband`); None for a model without voice
    statistics, which cannot tell.
    """

    fps: float
    audio: np.ndarray = field(repr=False)
    sampling_rate: int
    emotion_probs: dict[str, float]
    identity_embedding: np.ndarray = field(repr=False)
    narrowband: bool | None = None

    @property
    def emotion(self) -> str | None:
        """The most probable (or the overriding) emotion; None when the model does not infer it."""
        return max(self.emotion_probs, key=self.emotion_probs.get) if self.emotion_probs else None


@dataclass
class Speech2VideoOutput(InferredFromVoice):
    """A generated talking-face video: frames (T, H, W, 3) uint8, plus what `InferredFromVoice` holds."""

    frames: np.ndarray = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps

    def save(self, path, overwrite: bool = False):
        """Write an mp4 (H.264 + AAC, the input speech muxed in); refuses to replace a file unless `overwrite`."""
        return write_video(path, self.frames, self.fps, self.audio, self.sampling_rate, overwrite=overwrite)


@dataclass
class Speech2VideoStream(InferredFromVoice):
    """A talking-face video being generated (`pipe(audio, stream=True)`): iterate over it for frame chunks
    (t, H, W, 3) uint8 in order, `num_frames` in all, or `save(path)` to write them to an mp4 as they come.
    Everything but the frames is known before the first chunk. Memory does not grow with the duration.
    """

    chunks: Iterable[np.ndarray] = field(default=(), repr=False)
    num_frames: int = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.chunks)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def save(self, path, overwrite: bool = False):
        """Write the frames to an mp4 as they are generated (the speech muxed in); returns the path."""
        with VideoWriter(path, self.fps, self.audio, self.sampling_rate, overwrite) as writer:
            for frames in self:
                writer.write(frames)
        return writer.path


class Speech2VideoPipeline(Pipeline):
    """Speech in (a path, file bytes, or an array with `sampling_rate`), talking-face video out.

    Call options:
        sampling_rate (`int`): rate of an array input (files carry their own).
        emotion (`str`): override the emotion inferred from the voice, one of `model.config.emotion_labels`
            (refused by a model that does not infer the speaker, `config.infers_speaker` False).
        seed (`int`): seed of the spontaneous motion (blinks, head motion): same seed, same video.
        motion_scale (`float`): how much the face moves, 0 (still) to 3 (default `model.config.motion_scale`,
            calibrated to the training videos).
        fps (`float`): frame rate of the output (default `model.config.fps`).
        frame_batch_size (`int`): frames rendered at a time (default 16, the fastest on a CPU).
        reference_image: a picture of the speaker (path or (H, W, 3) uint8 array, an aligned face crop like
            the training frames): identity is read from it by the model's identity teacher instead of
            inferred from the voice (the paper's static-image baseline), and a model with
            `config.reference_frame` also renders from its pixels. Needs one of the two.
        identity_embedding: (D,) numbers in place of the identity inferred from the voice, e.g. another
            output's `identity_embedding`, to keep one face across several recordings.
        batch_size (`int`): with a list of inputs, how many go through the encoder together.
        stream (`bool`): return a `Speech2VideoStream` at once and render frames as it is iterated over
            (one input; memory bounded for any duration; `.save(path)` writes the mp4 on the way).

    `compile` (constructor, default False): render through `torch.compile` (`optimization.CompiledDecoder`):
    1.4-1.6x the frames per second end to end on a CPU, the same frames up to float rounding, a compilation
    of a few seconds when the pipeline is built (tens of seconds the first time on a machine).

    Speech of any length works: the encoder reads it in chunks of `streaming.CHUNK_SECONDS` with context on
    both sides, and identity and emotion are read once, near the start (the voice statistics from the first
    `streaming.VOICE_SECONDS`; see `speech2video.streaming`).
    """

    _load_tokenizer = False
    _load_feature_extractor = False
    _load_image_processor = False
    _load_processor = False

    def __init__(self, model: Speech2VideoModel, feature_extractor=None, compile: bool = False, **kwargs):
        # the optimised path: the generator through torch.compile, compiled here rather than at the first frame
        self.decoder = CompiledDecoder(model.generator, DEFAULT_FRAME_BATCH) if compile else None
        if feature_extractor is None:
            feature_extractor = Wav2Vec2FeatureExtractor(
                sampling_rate=model.config.sampling_rate, do_normalize=True, return_attention_mask=True
            )
        super().__init__(model=model, feature_extractor=feature_extractor, **kwargs)
        self.progress_bar_config = {"disable": True}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path=None, **kwargs) -> Speech2VideoPipeline:
        """Build the pipeline from an embedded checkpoint name (default: the package default) or a folder."""
        model_kwargs = {k: kwargs.pop(k) for k in ("dtype", "revision", "local_files_only") if k in kwargs}
        model = Speech2VideoModel.from_pretrained(pretrained_model_name_or_path, **model_kwargs)
        return cls(model=model.eval(), task="speech-to-video", **kwargs)

    def set_progress_bar_config(self, **kwargs) -> None:
        """Options for the tqdm bar over rendered frames, e.g. `disable=False` to show it."""
        self.progress_bar_config = kwargs

    def _sanitize_parameters(self, sampling_rate=None, emotion=None, seed=None, fps=None, frame_batch_size=None,
                             reference_image=None, identity_embedding=None, motion_scale=None):
        fps = float(self.model.config.fps if fps is None else fps)
        if not 0 < fps <= MAX_FPS:
            raise Speech2VideoError(f"fps must be in (0, {MAX_FPS:g}], got {fps}")
        if emotion is not None:
            emotion = self._emotion_index(emotion)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or not -(2**63) <= seed < 2**64):  # what torch.Generator.manual_seed takes
            raise Speech2VideoError(f"seed must be an integer from -2**63 to 2**64 - 1, got {seed!r}")
        if frame_batch_size is not None and (not isinstance(frame_batch_size, int) or frame_batch_size < 1):
            raise Speech2VideoError(f"frame_batch_size must be a positive integer, got {frame_batch_size!r}")
        if motion_scale is not None and (isinstance(motion_scale, bool) or not isinstance(motion_scale, numbers.Real)
                                         or not 0 <= motion_scale <= MAX_MOTION_SCALE):  # numpy numbers too
            raise Speech2VideoError(f"motion_scale must be a number from 0 (a still face) to {MAX_MOTION_SCALE}, "
                                    f"got {motion_scale!r}")
        preprocess = {"sampling_rate": sampling_rate, "fps": fps}
        forward = {"fps": fps, "emotion": emotion, "seed": seed, "frame_batch_size": frame_batch_size or DEFAULT_FRAME_BATCH,
                   "motion_scale": motion_scale}
        if reference_image is not None and identity_embedding is not None:
            raise Speech2VideoError("pass reference_image or identity_embedding, not both")
        if reference_image is not None:
            forward |= self._reference(reference_image)
        if identity_embedding is not None:
            forward["identity_embeds"] = self._identity(identity_embedding)
        return preprocess, forward, {"fps": fps}

    def _emotion_index(self, emotion) -> int:
        labels = self.model.config.emotion_labels
        if not self.model.config.infers_speaker:
            raise Speech2VideoError(
                f"this model takes no emotion (asked for {emotion!r}): it does not infer the speaker, and its face "
                "learnt from voices with no emotion given, so a forced one breaks the face; leave emotion unset")
        if isinstance(emotion, str) and emotion.lower() in labels:
            return labels.index(emotion.lower())
        raise Speech2VideoError(f"unknown emotion {emotion!r}; this model knows: {', '.join(labels)}")

    def _identity(self, embedding) -> torch.Tensor:
        """A given identity embedding (D,) as (1, D), checked."""
        values = np.asarray(embedding, dtype=np.float64)
        size = self.model.config.identity_dim
        if values.shape != (size,) or not np.isfinite(values).all():
            raise Speech2VideoError(f"identity_embedding must be {size} finite numbers, got shape {values.shape}")
        return torch.from_numpy(values)[None].to(self.model.dtype)

    def _reference(self, image) -> dict:
        """What a reference picture (path or (H, W, 3) uint8 array) gives this model: its pixels (1, 3, S, S)
        if it has reference frames, the identity teacher's embedding (1, D) if it has an identity teacher."""
        from .teachers.reference import identity_from_image, load_image, pixels_from_image

        config, dtype = self.model.config, self.model.dtype
        if not config.takes_reference_image:
            raise Speech2VideoError("this model cannot use a reference image: it has no identity teacher "
                                    "(config.identity_teacher) and no reference frames (config.reference_frame)")
        picture = load_image(image)  # read once, for both uses
        given = {}
        if config.reference_frame:
            given["reference_pixels"] = pixels_from_image(picture, config.image_size).to(dtype)
        if config.identity_teacher is not None:
            given["identity_embeds"] = identity_from_image(config.identity_teacher, picture).to(dtype)
        return given

    def preprocess(self, inputs, sampling_rate=None, fps=25.0):
        rate = self.model.config.sampling_rate
        audio = load_audio(inputs, sampling_rate=sampling_rate, target_rate=rate)
        if len(audio) < rate / fps:
            raise AudioError(
                f"the audio is {1000 * len(audio) / rate:.1f} ms long; at least one video frame "
                f"({1000 / fps:.0f} ms) is needed"
            )
        values = torch.from_numpy(audio)
        if self.feature_extractor.do_normalize:  # the feature extractor's normalisation, without its copies
            values = zero_mean_unit_variance(values)
        return {
            "input_values": values[None],
            "num_samples": torch.tensor([len(values)]),
            "num_frames": torch.tensor([num_video_frames(len(audio), rate, fps)]),
            "audio": [audio],
        }

    def _frame_stream(self, model_inputs, fps, emotion=None, seed=None, frame_batch_size=DEFAULT_FRAME_BATCH,
                      identity_embeds=None, motion_scale=None, reference_pixels=None) -> FrameStream:
        return FrameStream(
            self.model, model_inputs["input_values"], model_inputs["num_samples"], model_inputs["num_frames"],
            fps, emotion=emotion, identity_embeds=identity_embeds, frame_batch_size=frame_batch_size,
            decoder=self.decoder, motion_scale=motion_scale, reference_pixels=reference_pixels,
            seeds=None if seed is None else [seed] * len(model_inputs["num_frames"]),
        )

    def _forward(self, model_inputs, fps=25.0, **stream_options):
        stream = self._frame_stream(model_inputs, fps, **stream_options)
        size = self.model.config.image_size
        frames = torch.empty(len(model_inputs["num_frames"]), stream.total_frames, size, size, 3, dtype=torch.uint8)
        done = 0
        with tqdm(total=stream.total_frames, **{"desc": "rendering", "unit": "frame", **self.progress_bar_config}) as bar:
            for chunk in stream:
                frames[:, done : done + chunk.shape[1]] = _to_uint8(chunk)
                done += chunk.shape[1]
                bar.update(chunk.shape[1])
        audio = model_inputs["audio"]
        return {
            "frames": frames,
            "num_frames": model_inputs["num_frames"],
            "emotion_probs": stream.emotion_probs,
            "identity_embeds": stream.identity_embeds,
            "narrowband": stream.narrowband,
            "audio": audio if isinstance(audio[0], np.ndarray) else [a[0] for a in audio],
        }

    def __call__(self, inputs, *args, stream: bool = False, **kwargs):
        """Generate: see the class docstring. With `stream=True` (one input), returns a `Speech2VideoStream`
        whose frames are rendered as you iterate over it, instead of a finished `Speech2VideoOutput`."""
        if not stream:
            return super().__call__(inputs, *args, **kwargs)
        if isinstance(inputs, (list, tuple)) or args:
            raise Speech2VideoError("stream=True takes one input at a time")
        preprocess_params, forward_params, postprocess_params = self._sanitize_parameters(**kwargs)
        model_inputs = self.preprocess(inputs, **preprocess_params)
        frame_stream = self._frame_stream(model_inputs, **forward_params)
        info = self._inferred(frame_stream.emotion_probs[0], frame_stream.identity_embeds[0], frame_stream.narrowband,
                              model_inputs["audio"][0], postprocess_params["fps"])
        return Speech2VideoStream(**info, chunks=self._uint8_chunks(frame_stream), num_frames=frame_stream.total_frames)

    def _uint8_chunks(self, frame_stream: FrameStream) -> Iterator[np.ndarray]:
        """The frames of a one-item stream as (t, S, S, 3) uint8 arrays, with the progress bar."""
        with tqdm(total=frame_stream.total_frames, **{"desc": "rendering", "unit": "frame", **self.progress_bar_config}) as bar:
            for chunk in frame_stream:
                bar.update(chunk.shape[1])
                yield _to_uint8(chunk[0]).numpy()

    def postprocess(self, model_outputs, fps=25.0) -> Speech2VideoOutput:
        num_frames = int(model_outputs["num_frames"][0])
        info = self._inferred(model_outputs["emotion_probs"][0], model_outputs["identity_embeds"][0],
                              model_outputs["narrowband"], model_outputs["audio"][0], fps)
        return Speech2VideoOutput(**info, frames=model_outputs["frames"][0, :num_frames].numpy())

    def _inferred(self, emotion_probs: torch.Tensor, identity_embeds: torch.Tensor, narrowband: torch.Tensor | None,
                  audio, fps: float) -> dict:
        """The `InferredFromVoice` fields of one item: emotion_probs (E,), identity_embeds (D,), narrowband (1,)
        bool or None."""
        return {
            "narrowband": None if narrowband is None else bool(narrowband[0]),
            "fps": fps,
            "audio": np.asarray(audio).reshape(-1),
            "sampling_rate": self.model.config.sampling_rate,
            "emotion_probs": (dict(zip(self.model.config.emotion_labels, emotion_probs.float().tolist()))
                              if self.model.config.infers_speaker else {}),
            "identity_embedding": identity_embeds.float().numpy(),
        }


def _to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """(..., 3, S, S) floats in [0, 1] -> (..., S, S, 3) uint8."""
    return frames.mul(255).round_().clamp_(0, 255).to(torch.uint8).movedim(-3, -1)


if "speech-to-video" not in PIPELINE_REGISTRY.get_supported_tasks():
    PIPELINE_REGISTRY.register_pipeline(
        "speech-to-video", pipeline_class=Speech2VideoPipeline, pt_model=Speech2VideoModel, type="multimodal",
        default={"model": (str(PRETRAINED_DIR / DEFAULT_MODEL), "main")},  # `pipeline("speech-to-video")`
    )
