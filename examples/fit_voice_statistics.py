#!/usr/bin/env python
"""Give a trained student voice-statistics read-outs, fitted on a corpus with teacher targets.

The identity and emotion heads of a student can also read utterance-level voice statistics (per mel band,
mean and spread of the log-mel spectrogram and of its change, and optionally pitch statistics:
`VoiceStatistics` in the model file). This adds them to a trained model that has none, or other ones (the
read-outs then start from zero), or refits them, without touching anything else, so a generator trained on
the model's lip content still fits: one full-batch L-BFGS fit over the training clips. The saved model infers
the speaker (`config.infers_speaker`), also when it was a lips-only student.

    python examples/fit_voice_statistics.py --model synthtalk-128 --dataset_path corpora/synthtalk-targets \
        --output_dir outputs/synthtalk-128-voice

Prints, as JSON, the fit's training losses and the validation clips' identity cosine and emotion agreement
with the teacher targets before and after.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import Wav2Vec2FeatureExtractor

from speech2video import Speech2VideoModel
from speech2video.checkpoints import resolve_model_path
from speech2video.configuration_speech2video import Speech2VideoConfig
from speech2video.data.schema import decode_audio
from speech2video.training.distillation import fit_voice_statistics, load_corpora


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Fit a student's voice-statistics read-outs.")
    parser.add_argument("--model", required=True, help="a trained speech2video model (folder or embedded name)")
    parser.add_argument("--dataset_path", required=True, nargs="+",
                        help="corpora with teacher identity and emotion targets (their train splits are fitted on, "
                             "their validation splits reported)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--voice_statistics_bands", type=int, default=40, help="for a model that has none yet")
    parser.add_argument("--voice_statistics_pitch", action="store_true", help="add pitch (F0) statistics")
    parser.add_argument("--voice_statistics_modulation", action="store_true",
                        help="add amplitude-modulation statistics (syllable rhythm, a rough voice's shimmer)")
    parser.add_argument("--voice_statistics_robust_pitch", action="store_true",
                        help="track the pitch above 150 Hz and take its level as the median of log F0 (real "
                             "recordings' hum, rumble and background music give the tracker octave slips)")
    parser.add_argument("--voice_statistics_formants", action="store_true",
                        help="add formant statistics (the vocal tract's resonances over the voiced frames: a cue to sex "
                             "and size that a microphone hardly moves, unlike the mel means); needs pitch statistics")
    parser.add_argument("--voice_statistics_hidden_size", type=int, default=None,
                        help="read-outs with a hidden layer of this size (0: linear); default: as the model has")
    parser.add_argument("--reset_pooled_heads", action="store_true",
                        help="zero the pooled identity and emotion heads first, so the read-outs alone predict (for a "
                             "student trained with --no_identity_distillation --no_emotion_distillation)")
    parser.add_argument("--weight_decay", type=float, default=1e-2, help="L2 on the read-outs' weights")
    parser.add_argument("--channel_copies", type=int, default=0,
                        help="also hear each clip through this many random microphones and rooms (equaliser, "
                             "bandwidth, reverberation, noise, at times mains hum or a bass line), so the read-outs "
                             "lean on cues that survive real recordings")
    parser.add_argument("--narrowband_copies", type=int, default=0,
                        help="also fit narrowband read-outs, which the model uses for speech with nothing between 4 and "
                             "6 kHz (a phone call, an 8 kHz recording), on each clip and this many random-channel "
                             "copies of it, all heard over a telephone line (300-3400 Hz, sampled at 8 kHz); 0: none")
    parser.add_argument("--identity_dims_without_mel_means", type=int, nargs="+", default=[],
                        help="identity dimensions read without the per-band mel means (the long-term spectrum, which "
                             "the microphone colours): SynthTalk's gender (0) is then read from pitch and spectral "
                             "change, which survive real recordings")
    parser.add_argument("--identity_dims_without_pitch_range", type=int, nargs="+", default=[],
                        help="identity dimensions read without the pitch range (interquartile range of log F0): real "
                             "speech spans a far wider one than SynthTalk's voices, which a linear read-out extrapolates")
    parser.add_argument("--overwrite", action="store_true", help="replace a model already in --output_dir")
    return parser.parse_args(argv)


@torch.no_grad()
def agreement(model, dataset, feature_extractor) -> dict:
    """Identity cosine and emotion agreement (argmax) with the teacher targets over whole clips."""
    cosine, agree = [], []
    for row in dataset:
        inputs = feature_extractor(decode_audio(row), sampling_rate=16_000, return_attention_mask=True, return_tensors="pt")
        speech = model.encode_speech(inputs.input_values, inputs.attention_mask)
        cosine.append(F.cosine_similarity(speech.identity_embeds[0], torch.tensor(row["teacher_identity"]), dim=0).item())
        agree.append(speech.emotion_logits[0].argmax().item() == int(np.argmax(row["teacher_emotion"])))
    return {"identity_cosine_to_teacher": float(np.mean(cosine)), "emotion_agreement_with_teacher": float(np.mean(agree))}


def main(argv=None):
    args = parse_args(argv)
    output_dir = Path(args.output_dir)
    if (output_dir / "model.safetensors").exists() and not args.overwrite:
        raise SystemExit(f"{output_dir} already holds a model; pass --overwrite to replace it")
    columns = ["audio", "sampling_rate", "teacher_identity", "teacher_emotion"]
    train, validation = (load_corpora(args.dataset_path, split) for split in ("train", "validation"))
    missing = set(columns) - set(train.column_names)
    if missing:
        raise SystemExit(f"{' '.join(args.dataset_path)}: no {', '.join(sorted(missing))} (in every corpus): run "
                         "examples/cache_teacher_targets.py")
    train, validation = train.select_columns(columns), validation.select_columns(columns)
    saved = Speech2VideoConfig.from_pretrained(resolve_model_path(args.model))
    statistics = {"voice_statistics_bands": saved.voice_statistics_bands or args.voice_statistics_bands,
                  "voice_statistics_pitch": saved.voice_statistics_pitch or args.voice_statistics_pitch,
                  "voice_statistics_modulation": saved.voice_statistics_modulation or args.voice_statistics_modulation,
                  "voice_statistics_robust_pitch": saved.voice_statistics_robust_pitch or args.voice_statistics_robust_pitch,
                  "voice_statistics_formants": saved.voice_statistics_formants or args.voice_statistics_formants,
                  "voice_statistics_narrowband": saved.voice_statistics_narrowband or args.narrowband_copies > 0,
                  "voice_statistics_hidden_size": saved.voice_statistics_hidden_size if args.voice_statistics_hidden_size
                  is None else args.voice_statistics_hidden_size}
    if args.channel_copies < 0 or args.narrowband_copies < 0:
        raise SystemExit("--channel_copies and --narrowband_copies are counts of copies per clip (>= 0)")
    if statistics["voice_statistics_formants"] and not statistics["voice_statistics_pitch"]:
        raise SystemExit("--voice_statistics_formants needs --voice_statistics_pitch (its voicing chooses the frames)")
    new_statistics = statistics != {key: getattr(saved, key) for key in statistics}
    if new_statistics and statistics["voice_statistics_narrowband"] and not args.narrowband_copies:
        raise SystemExit("the model has narrowband read-outs, which new statistics start anew: give --narrowband_copies")
    model = Speech2VideoModel.from_pretrained(args.model, **statistics, ignore_mismatched_sizes=new_statistics)
    model.eval()
    feature_extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    if new_statistics:  # new read-outs start at zero, so "before" is the model without them
        model.encoder.voice_statistics.mean.zero_()  # resized buffers are uninitialised
        model.encoder.voice_statistics.variance.fill_(1.0)
        with torch.no_grad():
            heads = ["identity_statistics_head", "emotion_statistics_head"]
            if statistics["voice_statistics_narrowband"]:
                model.encoder.voice_statistics.narrowband_mean.zero_()
                model.encoder.voice_statistics.narrowband_variance.fill_(1.0)
                heads += [f"narrowband_{head}" for head in heads]
            for head in heads:
                for parameter in getattr(model.encoder, head).parameters():
                    parameter.zero_()
    if args.reset_pooled_heads:
        for head in (model.encoder.identity_head, model.encoder.emotion_head):
            torch.nn.init.zeros_(head.projection.weight)
            torch.nn.init.zeros_(head.projection.bias)
    before = agreement(model, validation, feature_extractor)
    try:
        fit = fit_voice_statistics(model, train, feature_extractor, weight_decay=args.weight_decay,
                                   channels=args.channel_copies, narrowband_copies=args.narrowband_copies,
                                   identity_dims_without_mel_means=tuple(args.identity_dims_without_mel_means),
                                   identity_dims_without_pitch_range=tuple(args.identity_dims_without_pitch_range))
    except ValueError as error:  # a flag the model cannot take, found before the fit's minutes of statistics
        raise SystemExit(f"--{error}") from None
    after = agreement(model, validation, feature_extractor)
    model.config.infers_speaker = True  # the fitted read-outs read the speaker, e.g. of a lips-only student
    model.save_pretrained(output_dir)
    print(json.dumps({"fit": fit, "validation_before": before, "validation_after": after}, indent=2))


if __name__ == "__main__":
    main()
