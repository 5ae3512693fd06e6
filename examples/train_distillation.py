#!/usr/bin/env python
"""Stage 1: distil the face teachers into the speech student (cross-modal distillation, Si et al. 2021).

The student (a wav2vec2 encoder with identity, emotion and per-frame mouth heads) hears only the audio of
each clip and learns to predict what the face teachers saw in its video: the identity embedding, the
emotion distribution and the per-frame mouth opening, cached as corpus columns by
`examples/cache_teacher_targets.py`. Labels are used for validation reports only.

    accelerate launch examples/train_distillation.py \
        --dataset_path corpora/synthtalk-targets --output_dir outputs/student --max_train_steps 3000

`--init_model` starts from a trained model instead, e.g. to fine-tune a student's lips on a real speaker whose
corpus has only mouth targets (`cache_teacher_targets.py --teacher mouth`), with the identity and emotion
losses off (`--no_identity_distillation --no_emotion_distillation`); the saved model then says it does not
infer the speaker (`config.infers_speaker`), so the pipeline reports no emotion for it, unless its speaker
comes from voice-statistics read-outs alone (pooled heads zeroed, as `synthtalk-128`'s), which the encoder's
training leaves as they were. `--content_anchor_weight` keeps such a fine-tune's content features (what the
generator renders from) near the initial model's: the student hears the augmented crop, a frozen copy of the
initial encoder the clean one, and their features' distance is a loss; so the model's generator still fits.
"""

import argparse
import copy
import json
import logging
import math
import zlib
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from tqdm.auto import tqdm
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model, get_cosine_schedule_with_warmup

from speech2video import Speech2VideoConfig, Speech2VideoModel
from speech2video.teachers.targets import speaker_targets
from speech2video.training.checkpointing import find_checkpoint, resume, save_checkpoint
from speech2video.training.distillation import (MAX_SPEED_CHANGE, Augmentation, collate, content_anchor_loss,
                                                distillation_losses, fit_voice_statistics_scaler, load_corpora)
from speech2video.training.distributed import (average_gradients, require_replicated_parameters,
                                               warn_if_one_cpu_thread)
from speech2video.training.logs import log_step

logger = logging.getLogger(__name__)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Stage 1: distil face teachers into the speech student.")
    parser.add_argument("--dataset_path", nargs="+", required=True, help="corpora with teacher targets (save_to_disk)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--model_config", default=None, help="JSON file of Speech2VideoConfig arguments")
    parser.add_argument("--pretrained_encoder", default=None, help="local wav2vec2/HuBERT-style checkpoint to start from")
    parser.add_argument("--init_model", default=None,
                        help="a trained speech2video model (folder or embedded name) to fine-tune instead of a new student")
    parser.add_argument("--voice_statistics_bands", type=int, default=0,
                        help="a new student's identity and emotion heads also read utterance voice statistics of this "
                             "many mel bands (0: the encoder's states only; joint training with them is not measured "
                             "yet, examples/fit_voice_statistics.py adds fitted ones to a trained student)")
    parser.add_argument("--voice_statistics_pitch", action="store_true", help="add pitch (F0) statistics to them")
    parser.add_argument("--voice_statistics_modulation", action="store_true",
                        help="add amplitude-modulation statistics to them")
    parser.add_argument("--max_train_steps", type=int, default=3000)
    parser.add_argument("--train_batch_size", type=int, default=8)
    parser.add_argument("--max_frames", type=int, default=75, help="random crops of at most this many frames (3 s)")
    parser.add_argument("--learning_rate", type=float, default=3e-4)
    parser.add_argument("--dataloader_num_workers", type=int, default=0,
                        help="processes that cut, re-record and extract the next batches while the model trains (0: "
                             "the main process); each batch is drawn from its clips' ids, so the run is the same either way")
    parser.add_argument("--lr_warmup_steps", type=int, default=200)
    parser.add_argument("--gradient_accumulation_steps", type=int, default=1)
    parser.add_argument("--mixed_precision", choices=["no", "fp16", "bf16"], default="no")
    parser.add_argument("--emotion_temperature", type=float, default=2.0)
    parser.add_argument("--identity_l2_weight", type=float, default=1.0)
    parser.add_argument("--mouth_weight", type=float, default=1.0)
    parser.add_argument("--no_identity_distillation", action="store_true", help="ablation: no identity loss")
    parser.add_argument("--no_emotion_distillation", action="store_true", help="ablation: no emotion loss")
    parser.add_argument("--no_augmentation", action="store_true", help="no gain/noise/speed augmentation")
    parser.add_argument("--max_speed_change", type=float, default=MAX_SPEED_CHANGE,
                        help="speed augmentation: each crop played 1 +- up to this fast (targets follow); the voice's "
                             "pitch and formants move with it, so 0.25 (about 4 semitones) also stands for other speakers")
    parser.add_argument("--channel_augmentation", type=float, default=0.0,
                        help="share of the crops heard through a random microphone and room (equaliser, bandwidth, "
                             "reverberation, noise, hum), as real recordings differ from the training corpus'")
    parser.add_argument("--telephone_augmentation", type=float, default=0.0,
                        help="share of the crops heard, last, over a telephone line (300-3400 Hz, sampled at 8 kHz), "
                             "as calls and 8 kHz recordings are")
    parser.add_argument("--content_anchor_weight", type=float, default=0.0,
                        help="with --init_model: weight of the distance between the student's content features of "
                             "each augmented crop and the initial encoder's of the clean crop (in units of their "
                             "variance), so the fine-tuned lips stay readable by the model's generator")
    parser.add_argument("--mask_time_prob", type=float, default=None,
                        help="SpecAugment: share of the encoder's time steps masked in training (e.g. 0.05); default: the model's")
    parser.add_argument("--validation_steps", type=int, default=250)
    parser.add_argument("--checkpointing_steps", type=int, default=500)
    parser.add_argument("--checkpoints_total_limit", type=int, default=2)
    parser.add_argument("--resume_from_checkpoint", default=None,
                        help='a checkpoint folder, the name of one in --output_dir (checkpoint-500) or "latest"')
    parser.add_argument("--report_to", default=None, help='e.g. "tensorboard" (logs under output_dir/logs)')
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0 <= args.max_speed_change < 1:
        parser.error(f"--max_speed_change {args.max_speed_change}: give a fraction from 0 up to (not including) 1")
    for flag in ("channel_augmentation", "telephone_augmentation"):
        if not 0 <= getattr(args, flag) <= 1:
            parser.error(f"--{flag} {getattr(args, flag)}: give a share from 0 to 1")
    if args.dataloader_num_workers < 0:
        parser.error(f"--dataloader_num_workers {args.dataloader_num_workers}: give a count of processes (>= 0)")
    if args.content_anchor_weight < 0 or (args.content_anchor_weight > 0 and not args.init_model):
        parser.error("--content_anchor_weight: give a weight >= 0, and --init_model, whose encoder is the anchor")
    try:  # before the corpora load
        find_checkpoint(Path(args.output_dir), args.resume_from_checkpoint)
    except FileNotFoundError as error:
        parser.error(f"--resume_from_checkpoint: {error}")
    return args


def build_model(args, train_dataset) -> Speech2VideoModel:
    """A student whose heads match the teachers' output spaces (from the targets saved with the corpus)."""
    needed = {"teacher_mouth_open", *(() if args.no_identity_distillation else ("teacher_identity",)),
              *(() if args.no_emotion_distillation else ("teacher_emotion",))}
    missing = needed - set(train_dataset.column_names)
    if missing:
        raise SystemExit(f"the corpus has no {', '.join(sorted(missing))}: run examples/cache_teacher_targets.py first")
    try:
        targets = speaker_targets(args.dataset_path)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    identity_dim = targets.get("identity_dim")
    if args.init_model:
        model = Speech2VideoModel.from_pretrained(args.init_model)
        if identity_dim is not None and identity_dim != model.config.identity_dim:
            raise SystemExit(f"{args.init_model} predicts {model.config.identity_dim}-d identities, the corpus's "
                             f"teacher gives {identity_dim}")
        classes = list(targets.get("emotion_classes") or model.config.emotion_labels)
        if not args.no_emotion_distillation and classes != list(model.config.emotion_labels):
            raise SystemExit(f"{args.init_model} predicts the emotions {', '.join(model.config.emotion_labels)}, the "
                             f"corpus's teacher gives {', '.join(classes)}")
        return model
    overrides = json.loads(Path(args.model_config).read_text()) if args.model_config else {}
    overrides.setdefault("voice_statistics_bands", args.voice_statistics_bands)
    overrides.setdefault("voice_statistics_pitch", args.voice_statistics_pitch)
    overrides.setdefault("voice_statistics_modulation", args.voice_statistics_modulation)
    if identity_dim is not None:
        overrides["identity_dim"] = identity_dim
    if targets.get("emotion_classes"):
        overrides["emotion_labels"] = list(targets["emotion_classes"])
    identity_teachers = {"SynthTalkTeacher": "synthtalk", "FaceTeacherPair": "dlib"}  # whose space identity is in
    overrides.setdefault("identity_teacher", None if args.no_identity_distillation
                         else identity_teachers.get(targets.get("teacher")))
    model = Speech2VideoModel(Speech2VideoConfig(**overrides))
    if args.pretrained_encoder:  # users with a pretrained wav2vec2 or HuBERT
        pretrained = Wav2Vec2Model.from_pretrained(args.pretrained_encoder, use_safetensors=True)
        model.config.encoder_config = pretrained.config
        model.encoder.wav2vec2 = pretrained
    return model


def set_time_masking(model: Speech2VideoModel, mask_time_prob: float) -> None:
    """SpecAugment for the student: while training, wav2vec2 replaces spans of `mask_time_length` encoder steps
    (10, i.e. 0.2 s, in the students here), about `mask_time_prob` of all steps, by a learnt vector, so each
    frame's mouth is also inferred from the speech around it. Saved with the config; inference is unchanged."""
    wav2vec2 = model.encoder.wav2vec2  # its config is the model's `encoder_config`, saved with it
    wav2vec2.config.mask_time_prob, wav2vec2.config.apply_spec_augment = mask_time_prob, mask_time_prob > 0
    if mask_time_prob > 0 and not hasattr(wav2vec2, "masked_spec_embed"):  # the learnt mask vector
        wav2vec2.masked_spec_embed = torch.nn.Parameter(torch.empty(wav2vec2.config.hidden_size).uniform_())


@torch.no_grad()
def validate(model, dataset, feature_extractor, labels: list[str]) -> dict:
    """Student vs teacher on held-out clips, plus vs ground truth where the corpus has it (reporting only)."""
    model.eval()
    identity_cos, agree, correct, mouth_pred, mouth_teacher, mouth_truth = [], [], [], [], [], []
    rng = np.random.default_rng(0)
    for start in range(0, len(dataset), 8):
        rows = [dataset[i] for i in range(start, min(start + 8, len(dataset)))]
        batch = collate(rows, feature_extractor, max_frames=10_000, rng=rng)
        speech = model.encode_speech(batch.input_values, batch.attention_mask, batch.num_frames)
        if batch.identity is not None:
            identity_cos += torch.nn.functional.cosine_similarity(speech.identity_embeds, batch.identity).tolist()
        predicted = speech.emotion_logits.argmax(-1)
        if batch.emotion is not None:
            agree += (predicted == batch.emotion.argmax(-1)).tolist()
        if rows[0].get("emotion") in labels:
            correct += [labels[p] == row["emotion"] for p, row in zip(predicted.tolist(), rows)]
        for i, row in enumerate(rows):
            n = int(batch.num_frames[i])
            mouth_pred.append(speech.mouth_open[i, :n].numpy())
            mouth_teacher.append(batch.mouth_open[i, :n].numpy())
            if "mouth_open" in row:
                mouth_truth.append(np.asarray(row["mouth_open"][:n], np.float32))
    model.train()
    predicted = np.concatenate(mouth_pred)
    metrics = {"mouth_corr_with_teacher": float(np.corrcoef(predicted, np.concatenate(mouth_teacher))[0, 1])}
    if identity_cos:
        metrics["identity_cosine_to_teacher"] = float(np.mean(identity_cos))
    if agree:
        metrics["emotion_agreement_with_teacher"] = float(np.mean(agree))
    if correct:
        metrics["emotion_accuracy_vs_label"] = float(np.mean(correct))
    if mouth_truth:
        metrics["mouth_corr_with_truth"] = float(np.corrcoef(predicted, np.concatenate(mouth_truth))[0, 1])
    return metrics


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
    output_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    logger.info(accelerator.state)
    require_replicated_parameters(accelerator)
    warn_if_one_cpu_thread(accelerator, logger)
    set_seed(args.seed)

    train_dataset = load_corpora(args.dataset_path, "train")
    validation_dataset = load_corpora(args.dataset_path, "validation")
    model = build_model(args, train_dataset)
    anchor = None
    if args.content_anchor_weight > 0:  # the initial encoder, frozen: what the generator was trained to read
        anchor = copy.deepcopy(model.encoder).eval().requires_grad_(False).to(accelerator.device)  # beside the batches
    lips_only = args.no_identity_distillation and args.no_emotion_distillation
    if lips_only and not model.encoder.reads_speaker_from_voice_statistics_only():  # speaker heads untrained, or drifting
        model.config.infers_speaker = False
    if args.mask_time_prob is not None:
        set_time_masking(model, args.mask_time_prob)
    labels = model.config.emotion_labels
    feature_extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    if model.encoder.voice_statistics is not None and not args.init_model:  # a new student: scale its voice statistics
        fit_voice_statistics_scaler(model, train_dataset, feature_extractor)

    augmentation = None if args.no_augmentation else Augmentation(args.max_speed_change, args.channel_augmentation,
                                                                    args.telephone_augmentation)

    def collate_train(rows):
        batch_rng = np.random.default_rng([args.seed, zlib.crc32("".join(r["clip_id"] for r in rows).encode())])
        return collate(rows, feature_extractor, args.max_frames, batch_rng, augmentation, with_clean_audio=anchor is not None)

    train_dataloader = torch.utils.data.DataLoader(
        train_dataset, batch_size=args.train_batch_size, shuffle=True, collate_fn=collate_train,
        generator=torch.Generator().manual_seed(args.seed), drop_last=True,
        num_workers=args.dataloader_num_workers, persistent_workers=args.dataloader_num_workers > 0,
    )
    trainable = [p for name, p in model.named_parameters() if name.startswith("encoder.")]  # stage 1: student only
    optimizer = torch.optim.AdamW(trainable, lr=args.learning_rate, weight_decay=0.01)
    # the prepared scheduler steps once per process at each optimizer step (accelerate's convention)
    scheduler = get_cosine_schedule_with_warmup(optimizer, args.lr_warmup_steps * accelerator.num_processes,
                                                args.max_train_steps * accelerator.num_processes)
    model, optimizer, train_dataloader, scheduler = accelerator.prepare(model, optimizer, train_dataloader, scheduler)

    weights = {
        "identity": 0.0 if args.no_identity_distillation else 1.0,
        "emotion": 0.0 if args.no_emotion_distillation else 1.0,
        "mouth": args.mouth_weight,
        "content_anchor": args.content_anchor_weight,
    }
    # the lips alone: identity and emotion (pooled heads, voice statistics) are not computed (~10 % of a step)
    read_voice = weights["identity"] > 0 or weights["emotion"] > 0
    if accelerator.is_main_process:
        accelerator.init_trackers("distillation", config={k: v for k, v in vars(args).items() if not isinstance(v, list)})

    global_step = resume(accelerator, output_dir, args.resume_from_checkpoint)
    steps_per_epoch = math.ceil(len(train_dataloader) / args.gradient_accumulation_steps)
    first_epoch, skip_batches = divmod(global_step, steps_per_epoch)

    progress = tqdm(total=args.max_train_steps, initial=global_step, desc="distillation",
                    disable=not accelerator.is_local_main_process)
    model.train()
    for epoch in range(first_epoch, math.ceil(args.max_train_steps / steps_per_epoch)):
        if hasattr(train_dataloader, "set_epoch"):
            train_dataloader.set_epoch(epoch)
        batches = train_dataloader
        if epoch == first_epoch and skip_batches:
            batches = accelerator.skip_first_batches(train_dataloader, skip_batches * args.gradient_accumulation_steps)
        for batch in batches:
            with accelerator.accumulate(model):
                speech = accelerator.unwrap_model(model).encode_speech(batch.input_values, batch.attention_mask,
                                                                       batch.num_frames, read_voice=read_voice)
                losses = distillation_losses(speech, batch, args.emotion_temperature, args.identity_l2_weight)
                if anchor is not None:
                    with torch.no_grad():
                        anchored = anchor(batch.clean_input_values, batch.attention_mask, batch.num_frames, read_voice=False)
                    losses["content_anchor"] = content_anchor_loss(speech.content_features, anchored.content_features,
                                                                   speech.frame_mask & anchored.frame_mask)
                loss = sum(weights[name] * value for name, value in losses.items())
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    average_gradients(accelerator, optimizer)
                    accelerator.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            if not accelerator.sync_gradients:
                continue
            global_step += 1
            progress.update(1)
            logs = {f"loss_{name}": value.item() for name, value in losses.items()} | {"loss": loss.item()}
            logs = log_step(accelerator, output_dir, global_step, logs)
            progress.set_postfix(**{k: round(v, 4) for k, v in logs.items()})
            if global_step % args.checkpointing_steps == 0:
                save_checkpoint(accelerator, output_dir, global_step, args.checkpoints_total_limit)
            if accelerator.is_main_process and global_step % args.validation_steps == 0 and global_step < args.max_train_steps:
                metrics = validate(accelerator.unwrap_model(model), validation_dataset, feature_extractor, labels)
                accelerator.log({f"val_{k}": v for k, v in metrics.items()}, step=global_step)
                logger.info("step %d validation %s", global_step, json.dumps(metrics))
            if global_step >= args.max_train_steps:
                break

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        student = accelerator.unwrap_model(model)
        student.save_pretrained(output_dir)
        metrics = validate(student, validation_dataset, feature_extractor, labels)  # the last step's validation
        accelerator.log({f"val_{k}": v for k, v in metrics.items()}, step=global_step)
        (output_dir / "validation_metrics.json").write_text(json.dumps(metrics, indent=2))
        print(json.dumps({"step": global_step, **metrics}))
    accelerator.end_training()


if __name__ == "__main__":
    main()
