#!/usr/bin/env python
"""Stage 2: train the video generator on the frozen stage-1 student's features (Si et al. 2021, section 2.3).

The generator renders each frame from the student's per-frame content, identity and emotion and a motion
code. While training, the motion code is read from the real frames by a motion encoder (upper face only);
the seeded noise process that replaces it at inference learns the same dynamics from a motion
discriminator. Losses: mouth-weighted L1 reconstruction, face-teacher consistency (the teacher on the
generated frames agrees with its targets; with `--perceptual_weight` its features of the generated and real
frames agree too), hinge GAN losses of the frame (identity/emotion-conditioned), sequence (with the audio)
and motion critics, and a lip-sync critic trained against shifted audio.

    accelerate launch examples/train_generator.py --dataset_path corpora/synthtalk-targets \
        --student_model_path outputs/student --output_dir outputs/synthtalk-128 --max_train_steps 3000

The generator learns to render from identity and emotion in the face teachers' spaces (`--conditioning
teacher`, the targets of each clip); at inference the student's predictions from the voice take their place,
or, for the static-image baseline, the identity teacher's reading of a picture (`reference_image=`).
With `--reference_frames`, the generator also learns to render from the pixels of a picture of the speaker
(another frame of the clip, left out for `--reference_dropout` of the clips so it still renders from speech
alone): the static-image baseline of a single-speaker model, which has no identity to read from a picture.
`--train_only_reference` trains that encoder alone, leaving what the model renders from speech untouched.
`--train_only_mapping` trains only the layers that turn the speech features into styles (the content
convolution and the mapping network), for a new student put in front of a trained generator
(`attach_student.py`): the decoder, the motion process and the picture encoder keep their weights.
"""

import argparse
import contextlib
import json
import logging
import math
import warnings
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm
from transformers import Wav2Vec2FeatureExtractor

from speech2video import Speech2VideoConfig, Speech2VideoModel, Speech2VideoPipeline
from speech2video.data.schema import decode_audio
from speech2video.evaluation.sync import MIN_NEGATIVE_SHIFT, SyncExpert
from speech2video.modeling_discriminators import (
    FrameDiscriminator, MotionDiscriminator, MotionEncoder, SequenceDiscriminator, hinge_discriminator_loss,
    hinge_generator_loss,
)
from speech2video.modeling_speech2video import MOTION_WARMUP
from speech2video.teachers.synthtalk import SynthTalkTeacher
from speech2video.teachers.targets import speaker_targets
from speech2video.training.checkpointing import find_checkpoint, resume, save_checkpoint
from speech2video.training.distillation import load_corpora
from speech2video.training.distributed import (average_gradients, require_replicated_parameters,
                                               warn_if_one_cpu_thread)
from speech2video.training.generator import (
    collate_generator, fit_mouth_shapes, motion_codes, perceptual_loss, random_view, reconstruction_error,
    reconstruction_loss, student_features, sync_loss, sync_windows, widen_generator,
)
from speech2video.training.logs import log_step

logger = logging.getLogger(__name__)


def consistency_teacher(asked: str | None, dataset_paths: list[str]) -> str:
    """The face teacher of the consistency losses: the one asked for, or by default the SynthTalk teacher unless
    the corpora's targets name another (whose spaces it cannot read: dlib's identity, FER's emotions)."""
    try:
        targets_teacher = speaker_targets(dataset_paths).get("teacher")
    except ValueError as error:
        raise SystemExit(str(error)) from None
    foreign = targets_teacher not in (None, "SynthTalkTeacher")
    if asked == "synthtalk" and foreign:
        raise SystemExit(f"--teacher synthtalk: the corpora's identity and emotion targets are {targets_teacher}'s, "
                         "which the SynthTalk teacher cannot read from the rendered frames; train with --teacher none")
    return asked or ("none" if foreign else "synthtalk")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Stage 2: train the video generator on the student's features.")
    parser.add_argument("--dataset_path", required=True, nargs="+",
                        help="corpora with teacher targets (save_to_disk), concatenated on the columns they share")
    parser.add_argument("--student_model_path", required=True, help="stage-1 output (from_pretrained folder)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--model_config", default=None,
                        help="JSON file of generator settings (Speech2VideoConfig arguments) overriding the student's")
    parser.add_argument("--generator_channels", type=int, nargs="+", default=None,
                        help="widen the loaded generator to these channels per resolution (4x4 first); it renders "
                             "the same frames until the new channels learn")
    parser.add_argument("--teacher", choices=["synthtalk", "none"], default=None,
                        help="differentiable face teacher for the consistency losses: the SynthTalk teacher reads "
                             "SynthTalk faces in the space of its targets; default: synthtalk, unless the corpora's "
                             "targets are another teacher's (real faces, `--teacher face`), then none")
    parser.add_argument("--conditioning", choices=["teacher", "student"], default="teacher",
                        help="identity and emotion inputs while training: the face teachers' targets (the student "
                             "predicts in their spaces and replaces them at inference) or the student's predictions")
    parser.add_argument("--reference_frames", action="store_true",
                        help="add a reference-frame encoder to the generator (config.reference_frame) and train it")
    parser.add_argument("--reference_dropout", type=float, default=0.5,
                        help="with --reference_frames, the share of clips rendered without their picture")
    parser.add_argument("--reference_mouth_box", type=float, nargs=4, default=None,
                        metavar=("TOP", "LEFT", "BOTTOM", "RIGHT"),
                        help="with --reference_frames, grey out this box (fractions of the side) of the picture "
                             "(config.reference_mouth_box), so the lips follow the speech, not the picture's mouth")
    parser.add_argument("--train_only_reference", action="store_true",
                        help="with --reference_frames, train the reference encoder alone: the rest of the generator "
                             "keeps its weights, so videos rendered from speech alone stay exactly the same")
    parser.add_argument("--train_only_mapping", action="store_true",
                        help="train only the content convolution and the mapping network (speech features -> "
                             "styles); the decoder, motion process and reference encoder keep their weights")
    parser.add_argument("--max_train_steps", type=int, default=3000)
    parser.add_argument("--max_train_samples", type=int, default=None, help="use only the first N training clips")
    parser.add_argument("--train_batch_size", type=int, default=4, help="clips per step")
    parser.add_argument("--frames", type=int, default=8, help="consecutive frames rendered per clip and step")
    parser.add_argument("--motion_frames", type=int, default=32, help="frames of motion code per clip (shorter clips are skipped)")
    parser.add_argument("--max_shift", type=int, default=6, help="audio shifts (frames) the sync critic rejects")
    parser.add_argument("--learning_rate", type=float, default=2e-4)
    parser.add_argument("--dataloader_num_workers", type=int, default=0,
                        help="processes that decode the next batches' frames and audio while the model trains (0: the "
                             "main process); each batch is drawn from its clips' indices, so the run is the same either way")
    parser.add_argument("--discriminator_learning_rate", type=float, default=2e-4)
    parser.add_argument("--lr_scheduler", choices=["constant", "constant_with_warmup", "linear", "cosine"],
                        default="constant",
                        help="both learning rates over the run (after the warm-up); a decay to zero settles a fine-tune")
    parser.add_argument("--lr_warmup_steps", type=int, default=0)
    parser.add_argument("--adversarial_start_step", type=int, default=300,
                        help="the critics (adversarial and sync losses) start at this step")
    parser.add_argument("--l1_weight", type=float, default=10.0)
    parser.add_argument("--lip_weight", type=float, default=1.0,
                        help="the reconstruction weight of the lips (the mouth teacher's box) relative to the rest "
                             "of the mouth rows: more spends the generator on the mouth's shapes")
    parser.add_argument("--teacher_weight", type=float, default=1.0,
                        help="teacher consistency: emotion KL + identity and mouth errors (identity in units of its spread)")
    parser.add_argument("--emotion_weight", type=float, default=1.0,
                        help="the emotion KL's weight within the teacher consistency (relative to identity and mouth)")
    parser.add_argument("--perceptual_weight", type=float, default=0.0,
                        help="L1 between the face teacher's trunk features of rendered and real frames")
    parser.add_argument("--teacher_augmentation", action="store_true",
                        help="the teacher reads each generated frame moved, zoomed and relit at random, so the "
                             "generator cannot please it with patterns only that network sees")
    parser.add_argument("--adversarial_weight", type=float, default=0.05)
    parser.add_argument("--sync_weight", type=float, default=0.3)
    parser.add_argument("--mouth_shape_weight", type=float, default=0.0,
                        help="mean squared error between the mouth's principal modes (fitted on training frames, each "
                             "in units of its spread) of rendered and real frames: the lips' opening, width and rounding")
    parser.add_argument("--motion_codes", choices=["normalised", "variational"], default="normalised",
                        help="the motion encoder's codes: its means scaled to unit mean variance over the batch (they "
                             "cannot shrink away), or samples of its posterior with a KL to N(0, 1) (--kl_weight; "
                             "collapsed on SynthTalk)")
    parser.add_argument("--kl_weight", type=float, default=0.001, help="with --motion_codes variational")
    parser.add_argument("--ema_decay", type=float, default=0.999)
    parser.add_argument("--gradient_accumulation_steps", type=int, default=1)
    parser.add_argument("--mixed_precision", choices=["no", "fp16", "bf16"], default="no")
    parser.add_argument("--validation_steps", type=int, default=500,
                        help="every N steps: a sample video, and val_l1 in losses.jsonl (the validation clips' "
                             "frames rendered from their teacher targets and real motion codes, mean absolute error)")
    parser.add_argument("--validation_clips", type=int, default=8, help="validation clips of val_l1")
    parser.add_argument("--checkpointing_steps", type=int, default=500)
    parser.add_argument("--checkpoints_total_limit", type=int, default=2)
    parser.add_argument("--resume_from_checkpoint", default=None,
                        help='a checkpoint folder, the name of one in --output_dir (checkpoint-500) or "latest"')
    parser.add_argument("--report_to", default=None, help='e.g. "tensorboard" (logs under output_dir/logs)')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache_dir", default=str(Path.home() / ".cache" / "speech2video"),
                        help='the student\'s features of the clips are kept here for the next run (the eight most '
                             'recently used sets; "" to not keep them)')
    args = parser.parse_args(argv)
    if args.dataloader_num_workers < 0:
        parser.error(f"--dataloader_num_workers {args.dataloader_num_workers}: give a count of processes (>= 0)")
    try:  # before the corpora load
        find_checkpoint(Path(args.output_dir), args.resume_from_checkpoint)
    except FileNotFoundError as error:
        parser.error(f"--resume_from_checkpoint: {error}")
    return args


class Critics(torch.nn.Module):
    """Everything trained against the generator (one module, so one optimizer and one checkpoint entry)."""

    def __init__(self, config):
        super().__init__()
        self.frame = FrameDiscriminator(config.identity_dim + config.num_emotions)
        self.sequence = SequenceDiscriminator()
        self.sync = SyncExpert()
        self.motion = MotionDiscriminator(config.motion_dim)


def write_sample(pipe: Speech2VideoPipeline, row, path: Path, seed: int = 0) -> None:
    """The model's video for one held-out clip, with its audio, as an mp4."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pipe(decode_audio(row), sampling_rate=16_000, seed=seed).save(path, overwrite=True)


def main(argv=None):
    args = parse_args(argv)
    output_dir = Path(args.output_dir)
    accelerator = Accelerator(
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=args.mixed_precision,
        log_with=args.report_to,
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=args.seed),  # same order per epoch on resume
    )
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    logger.info(accelerator.state)
    require_replicated_parameters(accelerator)
    warn_if_one_cpu_thread(accelerator, logger)
    set_seed(args.seed)
    output_dir.mkdir(parents=True, exist_ok=True)

    train_dataset = load_corpora(args.dataset_path, "train", drop=())
    args.teacher = consistency_teacher(args.teacher, args.dataset_path)
    if "teacher_identity" not in train_dataset.column_names and (args.teacher != "none" or args.conditioning != "student"):
        raise SystemExit(f"{' '.join(args.dataset_path)}: no teacher targets (in every corpus): run "
                         "examples/cache_teacher_targets.py on it, or train with --teacher none --conditioning student "
                         "(e.g. a single-speaker real corpus)")
    train_dataset = train_dataset.filter(lambda n: n >= args.motion_frames, input_columns="num_frames")
    if args.max_train_samples is not None:
        train_dataset = train_dataset.select(range(min(args.max_train_samples, len(train_dataset))))
    if args.reference_mouth_box and not args.reference_frames:
        raise SystemExit("--reference_mouth_box needs --reference_frames")
    if args.perceptual_weight > 0 and args.teacher == "none":
        raise SystemExit("--perceptual_weight needs a face teacher whose features it compares (--teacher synthtalk)")
    reference_settings = {"reference_frame": True} if args.reference_frames else {}
    if args.reference_mouth_box:  # otherwise as the model has it
        reference_settings["reference_mouth_box"] = args.reference_mouth_box
    model = Speech2VideoModel.from_pretrained(args.student_model_path, **reference_settings)
    if args.conditioning == "teacher" and "teacher_identity" in train_dataset.column_names:
        targets = train_dataset[0]  # the generator is given these in the spaces the student predicts in
        given = (len(targets["teacher_identity"]), len(targets["teacher_emotion"]))
        predicted = (model.config.identity_dim, len(model.config.emotion_labels))
        if given != predicted:
            raise SystemExit(f"the corpora's targets are {given[0]}-d identities and {given[1]} emotions, but "
                             f"{args.student_model_path} predicts {predicted[0]}-d identities and {predicted[1]} "
                             "emotions: train a student on these corpora first (examples/train_distillation.py)")
    if args.model_config:  # a fresh generator of another shape around the trained student
        student = model
        config = student.config.to_dict() | json.loads(Path(args.model_config).read_text())
        model = Speech2VideoModel(Speech2VideoConfig(**config))
        model.encoder.load_state_dict(student.encoder.state_dict())
    if args.generator_channels:
        try:
            model = widen_generator(model, args.generator_channels)
        except ValueError as error:
            raise SystemExit(f"--generator_channels: {error}") from None
    if args.conditioning == "student":  # the generator learns the student's outputs: no picture maps into them
        model.config.identity_teacher = None
    elif args.teacher == "synthtalk":
        model.config.identity_teacher = "synthtalk"  # the identity space `reference_image=` reads with
    # it learns from the student's emotion probabilities, or from the teacher's near one-hot readings: then it
    # renders the student's most likely emotion
    model.config.emotion_temperature = 1.0 if args.conditioning == "student" else 0.0
    model.encoder.requires_grad_(False)  # stage 2 trains the generator and motion process only
    feature_extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    cache_dir = Path(args.cache_dir) / "student-features" if args.cache_dir else None
    # with a cache, the main process runs the student and writes it, the others then read it
    cache_first = accelerator.main_process_first if cache_dir else contextlib.nullcontext
    with cache_first():
        features = student_features(model, train_dataset, feature_extractor, cache_dir)
    config = model.config

    def collate_train(index):  # windows drawn from the batch's own seed: the same after a resume
        batch_rng = np.random.default_rng([args.seed, zlib.crc32(np.asarray(index, np.int64).tobytes())])
        return collate_generator([(train_dataset[i], features[i]) for i in index], args.motion_frames, args.frames,
                                 args.max_shift, batch_rng, args.conditioning, args.reference_frames)

    train_dataloader = torch.utils.data.DataLoader(
        list(range(len(train_dataset))), batch_size=args.train_batch_size, shuffle=True, drop_last=True,
        generator=torch.Generator().manual_seed(args.seed), collate_fn=collate_train,
        num_workers=args.dataloader_num_workers, persistent_workers=args.dataloader_num_workers > 0,
    )
    motion_encoder = MotionEncoder(config.motion_dim)
    critics = Critics(config)
    teacher = SynthTalkTeacher.from_pretrained() if args.teacher == "synthtalk" else None
    identity_spread = None
    if teacher is not None:  # identity errors in units of each dimension's spread (a 0.1 hue error is not a 0.1 size error)
        identity_spread = torch.tensor(np.array(train_dataset["teacher_identity"]), dtype=torch.float32).std(0).clamp_min(1e-3)
    mouth_shapes = fit_mouth_shapes(train_dataset) if args.mouth_shape_weight > 0 else None
    if args.train_only_reference and not args.reference_frames:
        raise SystemExit("--train_only_reference needs --reference_frames")
    if args.train_only_reference and args.train_only_mapping:
        raise SystemExit("--train_only_reference and --train_only_mapping exclude each other")
    if args.train_only_reference or args.train_only_mapping:
        generator = model.generator
        trained = [generator.reference] if args.train_only_reference else [generator.content_context, generator.mapping]
        model.requires_grad_(False)
        for module in trained:
            module.requires_grad_(True)
        generator_parameters = [parameter for module in trained for parameter in module.parameters()]
    else:
        generator_parameters = [*model.generator.parameters(), *model.motion.parameters()]
    optimizer_g = torch.optim.Adam([*generator_parameters, *motion_encoder.parameters()], lr=args.learning_rate,
                                   betas=(0.5, 0.999))
    optimizer_d = torch.optim.Adam(critics.parameters(), lr=args.discriminator_learning_rate, betas=(0.5, 0.999))
    model, motion_encoder, critics, optimizer_g, optimizer_d, train_dataloader = accelerator.prepare(
        model, motion_encoder, critics, optimizer_g, optimizer_d, train_dataloader
    )
    ema = EMAModel(generator_parameters, decay=args.ema_decay)
    accelerator.register_for_checkpointing(ema)
    if accelerator.is_main_process:
        accelerator.init_trackers("generator", config=vars(args))

    global_step = resume(accelerator, output_dir, args.resume_from_checkpoint)
    # the learning rates depend on the step alone (checkpoints hold no schedule): the critics' schedule spans
    # their own steps, from --adversarial_start_step
    critic_steps = args.max_train_steps - args.adversarial_start_step
    scheduler_g, scheduler_d = (
        get_scheduler(args.lr_scheduler, optimizer, num_warmup_steps=args.lr_warmup_steps, num_training_steps=max(1, steps))
        for optimizer, steps in ((optimizer_g, args.max_train_steps), (optimizer_d, critic_steps))
    )
    with warnings.catch_warnings():  # fast-forwarding a resumed run's schedules, before any optimizer step
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(global_step):
            scheduler_g.step()
        for _ in range(max(0, global_step - args.adversarial_start_step)):
            scheduler_d.step()

    shifts = torch.tensor([0] + [s for s in range(-args.max_shift, args.max_shift + 1) if abs(s) >= MIN_NEGATIVE_SHIFT])
    unwrapped = accelerator.unwrap_model(model)
    sample_pipe = Speech2VideoPipeline(model=unwrapped, feature_extractor=feature_extractor, task="speech-to-video")
    validation_dataset = load_corpora(args.dataset_path, "validation", drop=())
    sample_row = validation_dataset[0]
    # the validation error: the first --validation_clips long enough, each at a fixed window
    validation_dataset = validation_dataset.filter(lambda n: n >= args.motion_frames, input_columns="num_frames")
    validation_dataset = validation_dataset.select(range(min(args.validation_clips, len(validation_dataset))))
    validation_batch = None
    if len(validation_dataset):
        with cache_first():
            validation_features = student_features(unwrapped, validation_dataset, feature_extractor, cache_dir)
        validation_batch = collate_generator(list(zip(validation_dataset, validation_features)), args.motion_frames,
                                             args.frames, args.max_shift, np.random.default_rng(args.seed),
                                             args.conditioning)
    progress = tqdm(total=args.max_train_steps, initial=global_step, desc="generator",
                    disable=not accelerator.is_local_main_process)
    steps_per_epoch = math.ceil(len(train_dataloader) / args.gradient_accumulation_steps)
    first_epoch, skip_batches = divmod(global_step, steps_per_epoch)
    for epoch in range(first_epoch, math.ceil(args.max_train_steps / steps_per_epoch)):
        train_dataloader.set_epoch(epoch)
        batches = train_dataloader
        if epoch == first_epoch and skip_batches:
            batches = accelerator.skip_first_batches(train_dataloader, skip_batches * args.gradient_accumulation_steps)
        for batch in batches:
            if global_step >= args.max_train_steps:
                break
            adversarial = global_step >= args.adversarial_start_step
            with accelerator.accumulate(model, motion_encoder, critics):
                logs = train_step(unwrapped, motion_encoder, critics, teacher, batch, shifts, adversarial, args,
                                  accelerator, optimizer_g, optimizer_d, identity_spread, mouth_shapes)
            if not accelerator.sync_gradients:
                continue
            ema.step(generator_parameters)
            logs["lr"] = scheduler_g.get_last_lr()[0]  # the generator's, this step
            scheduler_g.step()
            if adversarial:
                scheduler_d.step()
            global_step += 1
            progress.update(1)
            if global_step % args.validation_steps == 0:
                with ema_weights(ema, generator_parameters):
                    if validation_batch is not None:
                        logs["val_l1"] = reconstruction_error(unwrapped, accelerator.unwrap_model(motion_encoder),
                                                              validation_batch, args.motion_codes)
                    if accelerator.is_main_process and global_step < args.max_train_steps:  # the last: final.mp4
                        write_sample(sample_pipe, sample_row, output_dir / "samples" / f"step-{global_step}.mp4")
            logs = log_step(accelerator, output_dir, global_step, logs)
            progress.set_postfix(**{k: round(v, 4) for k, v in logs.items()})
            if global_step % args.checkpointing_steps == 0:
                save_checkpoint(accelerator, output_dir, global_step, args.checkpoints_total_limit)

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        ema.copy_to(generator_parameters)  # the released generator is the EMA one
        unwrapped.save_pretrained(output_dir)
        write_sample(sample_pipe, sample_row, output_dir / "samples" / "final.mp4")
        (output_dir / "training_args.json").write_text(json.dumps(vars(args), indent=2) + "\n")
        print(json.dumps({"step": global_step, "output_dir": str(output_dir)}))
    accelerator.end_training()


class ema_weights:
    """Context: the EMA weights in place of the live ones, restored afterwards."""

    def __init__(self, ema, parameters):
        self.ema, self.parameters = ema, list(parameters)

    def __enter__(self):
        self.ema.store(self.parameters)
        self.ema.copy_to(self.parameters)

    def __exit__(self, *exc):
        self.ema.restore(self.parameters)


def train_step(model, motion_encoder, critics, teacher, batch, shifts, adversarial, args, accelerator,
               optimizer_g, optimizer_d, identity_spread=None, mouth_shapes=None) -> dict:
    """One critic update (when adversarial) then one generator update; returns the losses as floats.

    identity_spread (D,): the teacher identity's standard deviation over the training clips; mouth_shapes: the
    `MouthShapes` of the training frames (with --mouth_shape_weight).
    """
    critics_ = accelerator.unwrap_model(critics)
    batch_size, window = batch.real.shape[:2]
    rendered = slice(batch.start, batch.start + batch.frames)
    real = batch.real[:, rendered]  # (B, T, 3, S, S)

    # the generator's inputs: motion read from the real window, style per frame, frames rendered
    motion, encoded, kl = motion_codes(motion_encoder, batch.real, args.motion_codes)
    styles = model.generator.styles(batch.content, batch.identity, batch.emotion_probs, motion)[:, rendered]
    reference = None
    if batch.reference is not None:  # the skips add to the decoder: a dropped picture adds nothing
        shown = (torch.rand(batch_size, 1, 1, 1) >= args.reference_dropout).float().repeat_interleave(batch.frames, 0)
        reference = [feature * shown for feature in model.reference_features(batch.reference, batch.frames)]
    fake = model.generator.decode(styles.flatten(0, 1), reference).unflatten(0, (batch_size, batch.frames))
    noise = torch.randn(batch_size, MOTION_WARMUP + window, model.config.motion_noise_dim)
    prior = model.motion(noise)[0][:, MOTION_WARMUP:]  # as at inference: after the warm-up
    logs = {}

    frame_condition = torch.cat([batch.identity, batch.emotion_probs], dim=-1).repeat_interleave(batch.frames, dim=0)
    audio = batch.audio_windows[:, batch.max_shift:][:, rendered]  # (B, T, n_mels, 20) of the rendered frames

    if adversarial:
        video, sync_audio = sync_windows(real, batch, shifts)
        loss_d = (
            hinge_discriminator_loss(critics_.frame(real.flatten(0, 1), frame_condition),
                                     critics_.frame(fake.detach().flatten(0, 1), frame_condition))
            + hinge_discriminator_loss(critics_.sequence(real, audio), critics_.sequence(fake.detach(), audio))
            + hinge_discriminator_loss(critics_.motion(encoded.detach()), critics_.motion(prior.detach()))
            + sync_loss(critics_.sync, video, sync_audio)
        )
        accelerator.backward(loss_d)
        if accelerator.sync_gradients:
            average_gradients(accelerator, optimizer_d)
        optimizer_d.step()
        optimizer_d.zero_grad()
        logs["loss_d"] = loss_d.item()

    losses = {"l1": args.l1_weight * reconstruction_loss(fake, real, args.lip_weight)}
    if mouth_shapes is not None:
        losses["mouth_shape"] = args.mouth_shape_weight * F.mse_loss(mouth_shapes(fake.flatten(0, 1)),
                                                                     mouth_shapes(real.flatten(0, 1)))
    if kl is not None:
        losses["kl"] = args.kl_weight * kl
    if teacher is not None:
        seen = teacher(random_view(fake.flatten(0, 1)) if args.teacher_augmentation else fake.flatten(0, 1))
        emotion = F.log_softmax(seen.emotion_logits, -1).unflatten(0, (batch_size, batch.frames)).mean(1)
        emotion_kl = F.kl_div(emotion, batch.teacher_emotion.clamp_min(1e-8), reduction="batchmean")
        logs["teacher_emotion_kl"] = emotion_kl.item()
        losses["teacher"] = args.teacher_weight * (
            args.emotion_weight * emotion_kl
            + F.mse_loss(seen.identity.unflatten(0, (batch_size, batch.frames)).mean(1) / identity_spread,
                         batch.teacher_identity / identity_spread)
            + F.mse_loss(seen.mouth_open.view(batch_size, batch.frames), batch.teacher_mouth)
        )
    if args.perceptual_weight > 0:
        losses["perceptual"] = args.perceptual_weight * perceptual_loss(teacher, fake.flatten(0, 1), real.flatten(0, 1))
    if adversarial:
        critics_.requires_grad_(False)
        video, sync_audio = sync_windows(fake, batch, shifts)
        losses["adversarial"] = args.adversarial_weight * (
            hinge_generator_loss(critics_.frame(fake.flatten(0, 1), frame_condition))
            + hinge_generator_loss(critics_.sequence(fake, audio))
        )
        losses["motion_prior"] = args.adversarial_weight * hinge_generator_loss(critics_.motion(prior))
        losses["sync"] = args.sync_weight * sync_loss(critics_.sync, video, sync_audio)
        critics_.requires_grad_(True)
    loss = sum(losses.values())
    accelerator.backward(loss)
    if accelerator.sync_gradients:
        average_gradients(accelerator, optimizer_g)
    optimizer_g.step()
    optimizer_g.zero_grad()
    return logs | {f"loss_{name}": value.item() for name, value in losses.items()}


if __name__ == "__main__":
    main()
