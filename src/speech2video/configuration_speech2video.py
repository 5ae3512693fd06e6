"""Speech2VideoConfig: the speech encoder (student) and frame generator hyper-parameters."""

from __future__ import annotations

import math

from transformers import PretrainedConfig, Wav2Vec2Config

# A small wav2vec2 (the paper's "light-weight" student, 3.8 M parameters): 4 transformer layers of width 256
# over a 5-layer conv front end with 128 channels. The first conv has a 2.5 ms kernel and a 1.25 ms stride
# (wav2vec2-base: 0.6 ms / 0.3 ms); the total stride stays 320 samples (50 Hz). Measured on a 2-core CPU,
# this front end trains 6x faster than wav2vec2-base's (0.15 s vs 2.4 s per batch of 8 x 3 s).
DEFAULT_ENCODER_CONFIG = dict(
    hidden_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=1024,
    conv_dim=(128, 128, 128, 128, 128),
    conv_stride=(20, 2, 2, 2, 2),
    conv_kernel=(40, 3, 3, 3, 2),
    num_conv_pos_embeddings=64,
    num_conv_pos_embedding_groups=16,
    feat_extract_norm="layer",  # layer norm in the conv front end: padded batches give the same features
    do_stable_layer_norm=True,
    apply_spec_augment=False,
    mask_time_prob=0.0,
    hidden_dropout=0.0,
    attention_dropout=0.0,
    activation_dropout=0.0,
    feat_proj_dropout=0.0,
    final_dropout=0.0,
    layerdrop=0.0,
    vocab_size=1,  # no CTC head: the student has no vocabulary
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=None,
)

# The classes of the FER2013 emotion teacher, in its order.
DEFAULT_EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class Speech2VideoConfig(PretrainedConfig):
    r"""Configuration of a [`Speech2VideoModel`].

    Args:
        encoder_config (`dict` or `Wav2Vec2Config`): the wav2vec2 speech encoder (student).
        identity_dim (`int`): size of the identity embedding (the identity teacher's space, 128 for dlib).
        emotion_labels (`list[str]`): the emotion classes (the emotion teacher's classes, in its order).
        emotion_embed_dim (`int`): size of the learned emotion embedding given to the generator.
        emotion_temperature (`float`): the generator's emotion input is the softmax of the inferred emotion logits
            at this temperature; 0 gives it the one-hot of the most likely emotion, as the face teacher's near
            one-hot readings it learnt from (`train_generator.py --conditioning teacher` sets 0). The emotion
            probabilities the pipeline reports stay at temperature 1.
        binary_identity_dims (`list[int]`): identity dimensions the generator gets from the voice as 0 or 1 (the
            reading thresholded at 0.5), for dimensions the face teacher read as 0 or 1 in training (SynthTalk's
            gender): an in-between reading, never seen in training, renders an ambiguous face. The identity the
            pipeline reports, and an identity or picture given in its place, pass unchanged.
        infers_speaker (`bool`): whether the identity and emotion heads read the speaker from the voice. False
            for a model whose lips alone were fine-tuned (`train_distillation.py --no_identity_distillation
            --no_emotion_distillation` sets it): its heads drifted, so the pipeline reports no emotion for it and
            refuses one given (its generator never learnt to render one).
        content_dim (`int`): size of the per-frame content (lip) features.
        content_context (`int`): frames of temporal context on each side of a frame for the generator.
        motion_noise_dim, motion_dim (`int`): the recurrent noise process driving blinks and head motion.
        motion_scale (`float`): how far the sampled motion codes reach at inference (1 as trained; 0 a still
            face); set after training by `examples/calibrate_motion.py` so the face moves as much as in the
            training videos.
        style_dim (`int`): size of the per-frame style vector that modulates the decoder.
        image_size (`int`): output frames are `image_size` x `image_size` (a power of two, >= 8).
        generator_channels (`list[int]`): decoder channels per resolution from 4x4 up to `image_size`.
        sampling_rate (`int`): audio rate the encoder expects. fps (`float`): default video frame rate.
        identity_teacher (`str`, *optional*): the face teacher whose identity space `identity_dim` is
            ("synthtalk" or "dlib"); with it, the pipeline's `reference_image=` reads identity from a picture.
        voice_statistics_bands (`int`): mel bands of the utterance-level voice statistics that the identity and
            emotion heads also read (`VoiceStatistics`); 0 (models before it) reads the encoder's states only.
        voice_statistics_pitch (`bool`): add six pitch (F0) statistics to the voice statistics.
        voice_statistics_modulation (`bool`): add four amplitude-modulation statistics to the voice statistics.
        voice_statistics_robust_pitch (`bool`): track the pitch above 150 Hz only and take its level as the median
            of log F0, not the mean: hum, rumble and background music give real recordings octave slips.
        voice_statistics_formants (`bool`): add five formant statistics (`formant_statistics`: the vocal tract's
            resonances, which a microphone hardly moves) to the voice statistics; needs `voice_statistics_pitch`.
        voice_statistics_narrowband (`bool`): a second scaler and pair of read-outs for narrowband speech (a
            telephone line or an 8 kHz recording: nothing between 4 and 6 kHz, `VoiceStatistics.is_narrowband`),
            fitted on narrowband copies of the training clips and used for such an utterance in place of the others.
        voice_statistics_hidden_size (`int`): 0 reads the voice statistics linearly; more gives each read-out a
            hidden layer of this size (GELU), for corpora with thousands of speakers.
        reference_frame (`bool`): the generator also sees a picture of the speaker (an aligned face crop, e.g. a
            video's first frame) through an image encoder joined to the decoder at every resolution (the
            skip connections of Chung et al.'s Speech2Vid): the pipeline's `reference_image=` then gives the
            generator the picture's pixels (the static-image baseline of a single-speaker model); without one,
            it renders from speech alone.
        reference_mouth_box (`list[float]`, *optional*): (top, left, bottom, right), fractions of the side, of a
            box around the mouth of an aligned face crop that is greyed out in the reference picture before the
            encoder reads it (as Wav2Lip masks its reference's lower half), so the lips come from the speech, not
            from the picture's mouth; None shows the whole picture.
    """

    model_type = "speech2video"

    def __init__(
        self,
        encoder_config: dict | Wav2Vec2Config | None = None,
        identity_dim: int = 128,
        emotion_labels: list[str] | tuple[str, ...] = DEFAULT_EMOTION_LABELS,
        emotion_embed_dim: int = 32,
        emotion_temperature: float = 1.0,
        binary_identity_dims: list[int] | tuple[int, ...] = (),
        infers_speaker: bool = True,
        content_dim: int = 128,
        content_context: int = 2,
        motion_noise_dim: int = 16,
        motion_dim: int = 16,
        motion_scale: float = 1.0,
        style_dim: int = 256,
        image_size: int = 128,
        generator_channels: list[int] | tuple[int, ...] = (256, 128, 64, 32, 16, 8),
        sampling_rate: int = 16_000,
        fps: float = 25.0,
        identity_teacher: str | None = None,
        voice_statistics_bands: int = 0,
        voice_statistics_pitch: bool = False,
        voice_statistics_modulation: bool = False,
        voice_statistics_robust_pitch: bool = False,
        voice_statistics_formants: bool = False,
        voice_statistics_narrowband: bool = False,
        voice_statistics_hidden_size: int = 0,
        reference_frame: bool = False,
        reference_mouth_box: list[float] | tuple[float, ...] | None = None,
        **kwargs,
    ):
        encoder_config = DEFAULT_ENCODER_CONFIG if encoder_config is None else encoder_config
        if isinstance(encoder_config, dict):
            # a partial dict overrides the defaults; a saved config.json holds every key
            merged = {**DEFAULT_ENCODER_CONFIG, **encoder_config}
            encoder_config = Wav2Vec2Config(**{k: v for k, v in merged.items() if k != "model_type"})
        self.encoder_config = encoder_config
        self.identity_dim = identity_dim
        self.emotion_labels = list(emotion_labels)
        self.emotion_embed_dim = emotion_embed_dim
        self.emotion_temperature = float(emotion_temperature)
        self.binary_identity_dims = list(binary_identity_dims)
        self.infers_speaker = bool(infers_speaker)
        self.content_dim = content_dim
        self.content_context = content_context
        self.motion_noise_dim = motion_noise_dim
        self.motion_dim = motion_dim
        self.motion_scale = motion_scale
        self.style_dim = style_dim
        self.image_size = image_size
        self.generator_channels = list(generator_channels)
        self.sampling_rate = sampling_rate
        self.fps = fps
        self.identity_teacher = identity_teacher
        self.voice_statistics_bands = voice_statistics_bands
        self.voice_statistics_pitch = voice_statistics_pitch
        self.voice_statistics_modulation = voice_statistics_modulation
        self.voice_statistics_robust_pitch = voice_statistics_robust_pitch
        self.voice_statistics_formants = voice_statistics_formants
        self.voice_statistics_narrowband = voice_statistics_narrowband
        self.voice_statistics_hidden_size = voice_statistics_hidden_size
        self.reference_frame = reference_frame
        self.reference_mouth_box = None if reference_mouth_box is None else [float(f) for f in reference_mouth_box]
        super().__init__(**kwargs)
        levels = math.log2(image_size) - 1  # resolutions 4, 8, ..., image_size
        if image_size < 8 or not levels.is_integer() or len(self.generator_channels) != int(levels):
            raise ValueError(
                f"image_size must be a power of two >= 8 with one generator channel count per resolution "
                f"from 4 to image_size ({levels:g} values); got image_size={image_size}, "
                f"generator_channels={self.generator_channels}"
            )
        box = self.reference_mouth_box
        if box is not None and not (len(box) == 4 and 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
            raise ValueError(f"reference_mouth_box must be (top, left, bottom, right) fractions with top < bottom "
                             f"and left < right, got {box}")
        if voice_statistics_formants and not voice_statistics_pitch:
            raise ValueError("voice_statistics_formants needs voice_statistics_pitch (the pitch tracker's voicing "
                             "chooses the frames whose formants count)")
        if voice_statistics_narrowband and not voice_statistics_bands:
            raise ValueError("voice_statistics_narrowband needs voice statistics (voice_statistics_bands > 0)")
        if self.emotion_temperature < 0:
            raise ValueError(f"emotion_temperature must be >= 0 (0: the most likely emotion), got {emotion_temperature}")
        if not all(0 <= dim < identity_dim for dim in self.binary_identity_dims):
            raise ValueError(f"binary_identity_dims must be identity dimensions 0..{identity_dim - 1}, "
                             f"got {self.binary_identity_dims}")
        if len(set(self.emotion_labels)) != len(self.emotion_labels) or not self.emotion_labels:
            raise ValueError(f"emotion_labels must be distinct names, got {self.emotion_labels}")

    @property
    def takes_reference_image(self) -> bool:
        """Whether a picture of the speaker means something to this model: an identity teacher reads it, or
        the generator has reference frames."""
        return self.identity_teacher is not None or self.reference_frame

    @property
    def num_emotions(self) -> int:
        return len(self.emotion_labels)
