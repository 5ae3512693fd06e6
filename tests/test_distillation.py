"""Stage 1 script: a tiny real training run on SynthTalk learns, checkpoints and resumes.

The corpus (`corpus_with_targets` in conftest) has SynthTalk's ground truth as teacher targets.
"""

import json

import numpy as np
import pytest
import torch

from conftest import load_example_script, tiny_config
from speech2video import Speech2VideoModel
from speech2video.data.synthtalk import EMOTIONS


def test_training_learns_checkpoints_and_resumes(corpus_with_targets, tmp_path):
    script = load_example_script("train_distillation")
    data, output = corpus_with_targets / "targets", tmp_path / "student"
    common = ["--dataset_path", str(data), "--output_dir", str(output), "--model_config",
              str(corpus_with_targets / "config.json"), "--train_batch_size", "4", "--max_frames", "25",
              "--learning_rate", "3e-3", "--lr_warmup_steps", "0", "--validation_steps", "1000", "--seed", "0"]
    script.main([*common, "--max_train_steps", "30", "--checkpointing_steps", "15", "--checkpoints_total_limit", "1"])
    assert [p.name for p in output.glob("checkpoint-*")] == ["checkpoint-30"]
    student = Speech2VideoModel.from_pretrained(output)
    assert student.config.emotion_labels == list(EMOTIONS) and student.config.identity_dim == 14

    args = script.parse_args([*common, "--max_train_steps", "1"])
    validation = script.load_corpora([str(data)], "validation")
    extractor = script.Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    torch.manual_seed(0)
    untrained = script.build_model(args, script.load_corpora([str(data)], "train"))
    before = script.validate(untrained, validation, extractor, student.config.emotion_labels)
    after = json.loads((output / "validation_metrics.json").read_text())
    assert after["identity_cosine_to_teacher"] > before["identity_cosine_to_teacher"] + 0.1

    script.main([*common, "--max_train_steps", "33", "--checkpointing_steps", "15", "--resume_from_checkpoint", "latest"])
    assert json.loads((output / "validation_metrics.json").read_text())  # finished after resuming at step 30


def test_background_batch_workers_train_the_same_weights(corpus_with_targets, tmp_path):
    """`--dataloader_num_workers` moves the batches' cutting and re-recording to other processes: each batch's
    random draws come from its clips' ids, so the weights are the same to the bit."""
    script = load_example_script("train_distillation")
    common = ["--dataset_path", str(corpus_with_targets / "targets"), "--model_config",
              str(corpus_with_targets / "config.json"), "--train_batch_size", "4", "--max_frames", "25",
              "--max_train_steps", "4", "--channel_augmentation", "0.5", "--telephone_augmentation", "0.5",
              "--max_speed_change", "0.2", "--validation_steps", "1000"]
    for workers in (0, 1):
        script.main([*common, "--output_dir", str(tmp_path / str(workers)), "--dataloader_num_workers", str(workers)])
    in_main, in_worker = (Speech2VideoModel.from_pretrained(tmp_path / name).state_dict() for name in ("0", "1"))
    assert all(torch.equal(in_main[name], in_worker[name]) for name in in_main)
    with pytest.raises(SystemExit):
        script.parse_args([*common, "--output_dir", str(tmp_path), "--dataloader_num_workers", "-1"])


def test_lips_fine_tune_from_a_trained_model_on_a_mouth_only_corpus(corpus_with_targets, tmp_path, monkeypatch):
    """A real speaker's corpus with only mouth targets (`--teacher mouth`) beside a corpus with all three:
    `--init_model`, mouth loss only, the two corpora concatenated on the columns they share."""
    import math

    from datasets import load_from_disk

    from conftest import tiny_config
    from speech2video.modeling_speech2video import VoiceStatistics

    mouth_only = tmp_path / "mouth-only"
    corpus = load_from_disk(str(corpus_with_targets / "targets"))
    corpus.remove_columns(["teacher_identity", "teacher_emotion"]).save_to_disk(str(mouth_only))
    start = tmp_path / "start"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS), voice_statistics_bands=8,
                                  voice_statistics_pitch=True)).save_pretrained(start)
    reads_with_gradients, read = [], VoiceStatistics.statistics
    monkeypatch.setattr(VoiceStatistics, "statistics",
                        lambda *a: reads_with_gradients.append(torch.is_grad_enabled()) or read(*a))
    script = load_example_script("train_distillation")
    common = ["--dataset_path", str(corpus_with_targets / "targets"), str(mouth_only), "--output_dir", str(tmp_path / "lips"),
              "--train_batch_size", "4",
              "--max_frames", "25", "--max_train_steps", "6", "--validation_steps", "3", "--init_model", str(start)]
    with pytest.raises(SystemExit, match="no teacher_emotion, teacher_identity"):
        script.main(common)
    validated, validate = [], script.validate
    monkeypatch.setattr(script, "validate", lambda *a: validated.append(1) or validate(*a))
    script.main([*common, "--no_identity_distillation", "--no_emotion_distillation", "--mask_time_prob", "0.05"])
    assert len(validated) == 2  # at step 3, and once at the end (step 6)
    logs = [json.loads(line) for line in (tmp_path / "lips" / "losses.jsonl").read_text().splitlines()]
    assert len(logs) == 6 and set(logs[0]) == {"step", "loss", "loss_mouth"} and all(math.isfinite(e["loss"]) for e in logs)
    tuned, initial = Speech2VideoModel.from_pretrained(tmp_path / "lips"), Speech2VideoModel.from_pretrained(start)
    assert tuned.config.identity_dim == 14 and not tuned.config.infers_speaker  # its speaker heads were not trained
    assert not torch.equal(tuned.encoder.mouth_head.weight, initial.encoder.mouth_head.weight)  # the lips trained
    # the lips alone: the training steps never compute the voice statistics (nor identity and emotion);
    # the final validation, without gradients, still reports emotion
    assert reads_with_gradients and not any(reads_with_gradients)
    assert torch.equal(tuned.generator.to_rgb.weight, initial.generator.to_rgb.weight)  # from `start`, stage 1 only
    # SpecAugment: saved with the config; it masks in training only, inference is unchanged
    assert tuned.config.encoder_config.mask_time_prob == 0.05 and tuned.config.encoder_config.apply_spec_augment
    audio = torch.randn(1, 16_000)
    clean = tuned.eval().encode_speech(audio, None, torch.tensor([25])).content_features
    torch.manual_seed(0)
    assert not torch.allclose(tuned.train().encode_speech(audio, None, torch.tensor([25])).content_features, clean)
    assert torch.equal(tuned.eval().encode_speech(audio, None, torch.tensor([25])).content_features, clean)

    # a model whose speaker comes from the voice-statistics read-outs alone (pooled heads zeroed, as the released
    # synthtalk-128's) keeps inferring the speaker: training the encoder's lips does not touch what it reads
    for head in (initial.encoder.identity_head, initial.encoder.emotion_head):
        torch.nn.init.zeros_(head.projection.weight)
        torch.nn.init.zeros_(head.projection.bias)
    initial.save_pretrained(start)
    script.main([*common, "--no_identity_distillation", "--no_emotion_distillation", "--max_train_steps", "2"])
    assert Speech2VideoModel.from_pretrained(tmp_path / "lips").config.infers_speaker


def test_a_new_student_takes_its_speaker_spaces_from_the_corpora_with_speaker_targets(corpus_with_targets, tmp_path):
    """Beside a mouth-only corpus, in either order, the concatenation has no identity column; the student's
    identity and emotion classes still match the teachers of the corpus that has them (what its read-outs are
    later fitted to); corpora whose teachers disagree are refused."""
    from datasets import load_from_disk

    targets = load_from_disk(str(corpus_with_targets / "targets"))
    targets.remove_columns(["teacher_identity", "teacher_emotion"]).save_to_disk(str(tmp_path / "mouth-only"))
    targets.map(lambda row: {"teacher_identity": row["teacher_identity"][:3]}).save_to_disk(str(tmp_path / "other"))
    script = load_example_script("train_distillation")

    def build(*corpora):
        args = script.parse_args(["--dataset_path", *map(str, corpora), "--output_dir", str(tmp_path / "out"),
                                  "--model_config", str(corpus_with_targets / "config.json"),
                                  "--no_identity_distillation", "--no_emotion_distillation"])
        return script.build_model(args, script.load_corpora(args.dataset_path, "train"))

    for corpora in ((corpus_with_targets / "targets", tmp_path / "mouth-only"),
                    (tmp_path / "mouth-only", corpus_with_targets / "targets")):  # in either order
        config = build(*corpora).config
        assert config.identity_dim == 14 and config.emotion_labels == list(EMOTIONS)
    with pytest.raises(SystemExit, match=r"disagree on identity_dim \(14, 3\)"):
        build(corpus_with_targets / "targets", tmp_path / "other")
    other_emotions = tmp_path / "other-emotions"  # a model to fine-tune must predict the teacher's emotion classes
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=["calm", "tense"])).save_pretrained(other_emotions)
    args = script.parse_args(["--dataset_path", str(corpus_with_targets / "targets"), "--output_dir", str(tmp_path / "out"),
                              "--init_model", str(other_emotions)])
    with pytest.raises(SystemExit, match="predicts the emotions calm, tense, the corpus's teacher gives neutral"):
        script.build_model(args, script.load_corpora(args.dataset_path, "train"))


def test_fit_voice_statistics_adds_read_outs_and_keeps_the_rest(corpus_with_targets, tmp_path, capsys):
    """A trained student without voice statistics gets fitted read-outs: the fit lowers its training loss, the
    scaler holds the clips' statistics, and every other weight (the lips a generator reads) is unchanged."""
    from conftest import tiny_config

    start, output = tmp_path / "start", tmp_path / "voice"
    lips_only = tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS), infers_speaker=False)  # as a lips-only
    Speech2VideoModel(lips_only).save_pretrained(start)                                             # student is saved
    script = load_example_script("fit_voice_statistics")
    argv = ["--model", str(start), "--dataset_path", str(corpus_with_targets / "targets"), "--output_dir", str(output),
            "--voice_statistics_bands", "40"]
    script.main(argv)
    report = json.loads(capsys.readouterr().out)
    assert report["fit"]["loss_after"] < report["fit"]["loss_before"]
    with pytest.raises(SystemExit, match="already holds a model"):
        script.main(argv)

    fitted, initial = Speech2VideoModel.from_pretrained(output), Speech2VideoModel.from_pretrained(start)
    assert fitted.config.voice_statistics_bands == 40
    assert fitted.config.infers_speaker  # its read-outs now infer the speaker: the pipeline reports the emotion
    assert fitted.encoder.voice_statistics.variance.min() > 0 and fitted.encoder.voice_statistics.mean.abs().sum() > 0
    assert fitted.encoder.emotion_statistics_head.weight.abs().sum() > 0
    fitted_state = fitted.state_dict()
    for name, tensor in initial.state_dict().items():
        assert torch.equal(tensor, fitted_state[name]), name

    # adding (robust) pitch, modulation and formant statistics to a model that has voice statistics, read-outs
    # alone (fitted on the clips and a random-channel copy of each; narrowband ones on a telephone copy of each),
    # identity dimensions 0 and 3 without the mel means and 0 without the pitch range: new read-outs, the rest kept
    pitch_flags = ["--model", str(output), "--dataset_path", str(corpus_with_targets / "targets"),
                   "--voice_statistics_pitch", "--voice_statistics_modulation", "--voice_statistics_robust_pitch",
                   "--voice_statistics_formants", "--reset_pooled_heads", "--channel_copies", "1",
                   "--identity_dims_without_mel_means", "0", "3", "--identity_dims_without_pitch_range", "0"]
    script.main(pitch_flags + ["--output_dir", str(tmp_path / "pitch"), "--narrowband_copies", "1"])
    fit = json.loads(capsys.readouterr().out)["fit"]
    assert fit["loss_after"] < report["fit"]["loss_before"] and fit["narrowband_loss_after"] < fit["narrowband_loss_before"]
    with_pitch = Speech2VideoModel.from_pretrained(tmp_path / "pitch")
    assert with_pitch.config.voice_statistics_pitch and with_pitch.config.voice_statistics_modulation
    assert with_pitch.config.voice_statistics_robust_pitch and with_pitch.config.voice_statistics_formants
    assert with_pitch.config.voice_statistics_narrowband
    narrowband_weight = with_pitch.encoder.narrowband_identity_statistics_head.weight
    assert not narrowband_weight[[0, 3], :40].any()  # the same inputs left out, and the bands above the telephone's
    unread = with_pitch.encoder.voice_statistics.narrowband_unread
    read = [column for column in range(40, narrowband_weight.shape[1]) if column not in unread]
    assert unread and not narrowband_weight[:, unread].any() and narrowband_weight[3, read].all()
    assert not torch.equal(narrowband_weight, with_pitch.encoder.identity_statistics_head.weight)
    assert not torch.equal(with_pitch.encoder.voice_statistics.narrowband_mean, with_pitch.encoder.voice_statistics.mean)
    script.main(pitch_flags + ["--output_dir", str(tmp_path / "wideband")])  # the narrowband fit changes nothing else
    capsys.readouterr()
    wideband = Speech2VideoModel.from_pretrained(tmp_path / "wideband").state_dict()
    assert not Speech2VideoModel.from_pretrained(tmp_path / "wideband").config.voice_statistics_narrowband
    for name, tensor in wideband.items():
        assert torch.equal(tensor, with_pitch.state_dict()[name]), name
    with pytest.raises(SystemExit, match="give --narrowband_copies"):  # its narrowband read-outs would be lost
        script.main(["--model", str(tmp_path / "pitch"), "--dataset_path", str(corpus_with_targets / "targets"),
                     "--output_dir", str(tmp_path / "no"), "--voice_statistics_hidden_size", "4"])
    identity_weight = with_pitch.encoder.identity_statistics_head.weight  # (14, mel means 40 | rest)
    assert identity_weight.shape[1] == 3 * 40 + 6 + 4 + 5
    pitch_range = 3 * 40 + 1
    assert not identity_weight[[0, 3], :40].any() and identity_weight[3, 40:].all()
    assert identity_weight[0, pitch_range] == 0 and identity_weight[3, pitch_range] != 0
    assert identity_weight[0, 40:pitch_range].all() and identity_weight[0, pitch_range + 1:].all()
    assert identity_weight[[1, 2, 4], :40].all()
    assert torch.isfinite(with_pitch.encoder.voice_statistics.mean).all() and with_pitch.encoder.voice_statistics.variance.min() > 0
    for name, tensor in initial.state_dict().items():
        if "_head.projection" in name:  # the pooled identity and emotion heads
            assert not with_pitch.state_dict()[name].any(), name
        else:
            assert torch.equal(tensor, with_pitch.state_dict()[name]), name

    # read-outs with a hidden layer, fitted on two corpora at once: they learn, and save and load as such; they
    # cannot leave inputs out of one dimension, which is said before any statistics are computed
    targets = str(corpus_with_targets / "targets")
    with pytest.raises(SystemExit, match="needs linear read-outs"):
        script.main(["--model", str(output), "--dataset_path", targets, "--output_dir", str(tmp_path / "no"),
                     "--voice_statistics_hidden_size", "16", "--identity_dims_without_mel_means", "0"])
    with pytest.raises(SystemExit, match=r"dimensions 0\.\.13"):
        script.main(["--model", str(output), "--dataset_path", targets, "--output_dir", str(tmp_path / "no"),
                     "--identity_dims_without_mel_means", "14"])
    with pytest.raises(SystemExit, match="needs --voice_statistics_pitch"):
        script.main(["--model", str(output), "--dataset_path", targets, "--output_dir", str(tmp_path / "no"),
                     "--voice_statistics_formants"])
    with pytest.raises(SystemExit, match="counts of copies"):
        script.main(["--model", str(output), "--dataset_path", targets, "--output_dir", str(tmp_path / "no"),
                     "--narrowband_copies", "-1"])
    with pytest.raises(SystemExit, match="have no pitch"):
        script.main(["--model", str(output), "--dataset_path", targets, "--output_dir", str(tmp_path / "no"),
                     "--identity_dims_without_pitch_range", "0"])
    script.main(["--model", str(output), "--dataset_path", targets, targets, "--output_dir", str(tmp_path / "mlp"),
                 "--voice_statistics_hidden_size", "16"])
    fit = json.loads(capsys.readouterr().out)["fit"]
    assert fit["loss_after"] < fit["loss_before"]
    mlp = Speech2VideoModel.from_pretrained(tmp_path / "mlp")
    assert mlp.config.voice_statistics_hidden_size == 16
    assert mlp.encoder.identity_statistics_head[0].weight.shape == (16, 3 * 40)
    assert mlp.encoder.emotion_statistics_head[-1].weight.abs().sum() > 0


def test_a_new_students_voice_statistics_scaler_standardises_its_training_clips(corpus_with_targets):
    from datasets import load_from_disk
    from transformers import Wav2Vec2FeatureExtractor

    from conftest import tiny_config
    from speech2video.data.schema import decode_audio
    from speech2video.training.distillation import fit_voice_statistics_scaler

    model = Speech2VideoModel(tiny_config(voice_statistics_bands=8))
    clips = load_from_disk(str(corpus_with_targets / "targets"))["train"]
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    fit_voice_statistics_scaler(model, clips, extractor, max_clips=6)
    scaler = model.encoder.voice_statistics
    inputs = extractor([decode_audio(clips[i]) for i in range(6)], sampling_rate=16_000, padding=True,
                       return_attention_mask=True, return_tensors="pt")
    standardised, narrowband = scaler(inputs.input_values, inputs.attention_mask)  # padded together, scaled one by one
    assert narrowband is None  # 8 mel bands do not reach above a telephone's band: no reading either way
    torch.testing.assert_close(standardised.mean(dim=0), torch.zeros(24), atol=1e-3, rtol=0)
    torch.testing.assert_close(standardised.std(dim=0), torch.ones(24), atol=1e-2, rtol=0)


def test_voice_statistics_fit_skips_the_wav2vec2_encoder_behind_zeroed_pooled_heads(corpus_with_targets, monkeypatch):
    """Zeroed pooled heads read nothing, so the fit's inputs are the same without running the encoder."""
    from datasets import load_from_disk
    from transformers import Wav2Vec2FeatureExtractor

    from conftest import tiny_config
    from speech2video.training.distillation import _pooled_and_voice_statistics

    encoder = Speech2VideoModel(tiny_config(voice_statistics_bands=8, voice_statistics_pitch=True)).encoder.eval()
    for head in (encoder.identity_head, encoder.emotion_head):
        torch.nn.init.zeros_(head.projection.weight)
        torch.nn.init.zeros_(head.projection.bias)
    clips = load_from_disk(str(corpus_with_targets / "targets"))["train"].select(range(3))
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True, return_attention_mask=True)
    with monkeypatch.context() as patched:  # as if the heads read the encoder
        patched.setattr(encoder, "reads_speaker_from_voice_statistics_only", lambda: False)
        run = _pooled_and_voice_statistics(encoder, clips, extractor, channels=1)

    def unexpected(*args, **kwargs):
        raise AssertionError("the wav2vec2 encoder ran")

    monkeypatch.setattr(encoder.wav2vec2, "forward", unexpected)
    skipped = _pooled_and_voice_statistics(encoder, clips, extractor, channels=1)
    assert run[0].shape == (6, encoder.identity_head.projection.out_features)
    for with_encoder, without in zip(run, skipped):
        assert torch.equal(with_encoder, without)


def test_random_channel_changes_the_recording_not_its_length_and_is_seeded():
    from speech2video.training.distillation import random_channel

    time = np.arange(32_000) / 16_000
    speech = (np.sin(2 * np.pi * 150 * time) * (1 + np.sin(2 * np.pi * 4 * time))).astype(np.float32)
    first, again = (random_channel(speech, np.random.default_rng(3)) for _ in range(2))
    other = random_channel(speech, np.random.default_rng(4))
    assert first.shape == speech.shape and first.dtype == np.float32 and np.isfinite(first).all()
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert 0.3 < np.corrcoef(first, speech)[0, 1] < 0.999  # the same speech, recorded differently


def test_a_telephone_line_keeps_300_to_3400_hz_only():
    from speech2video.training.distillation import telephone_line

    noise = np.random.default_rng(0).standard_normal(32_000).astype(np.float32)
    heard = telephone_line(noise)
    power = np.abs(np.fft.rfft(heard)) ** 2
    frequencies = np.fft.rfftfreq(len(heard), 1 / 16_000)
    passed = power[(frequencies > 500) & (frequencies < 3000)].mean()
    assert heard.shape == noise.shape and heard.dtype == np.float32
    assert power[frequencies > 4200].mean() < 1e-3 * passed and power[frequencies < 150].mean() < 1e-3 * passed


def test_load_corpora_concatenates_on_shared_columns(corpus_with_targets, tmp_path):
    """Several corpora are read as one split on the columns they all have; stage 1 drops the frames by default."""
    from datasets import load_from_disk

    from speech2video.training.distillation import load_corpora

    targets = str(corpus_with_targets / "targets")
    corpus = load_from_disk(targets)
    mouth_only = tmp_path / "mouth_only"
    corpus.remove_columns(["teacher_identity", "teacher_emotion"]).save_to_disk(str(mouth_only))
    both = load_corpora([targets, str(mouth_only)], "train")
    assert len(both) == 2 * len(corpus["train"])
    assert "video" not in both.column_names and "teacher_mouth_open" in both.column_names
    assert "teacher_identity" not in both.column_names
    assert "video" in load_corpora([targets], "train", drop=()).column_names


def test_the_background_sounds_of_random_channel_are_low_and_at_the_snr_asked():
    from speech2video.training.distillation import at_snr, bass_line, mains_hum

    rng = np.random.default_rng(0)
    for sound in (mains_hum(16_000, 60.0, 1.0, rng.uniform(0, 6, 8)), bass_line(16_000, rng)):
        power = np.abs(np.fft.rfft(sound)) ** 2  # 1 Hz bins
        assert power[:500].sum() > 0.99 * power.sum()  # all below 500 Hz
        scaled = at_snr(sound, speech_power=2.0, snr_db=20.0)
        assert 10 * np.log10(2.0 / np.mean(scaled**2)) == pytest.approx(20.0, abs=1e-6)
    amplitude = np.abs(np.fft.rfft(mains_hum(16_000, 50.0, 3.0, np.zeros(8))))  # 1 Hz bins
    assert np.argmax(amplitude) == 50 and amplitude[400] == pytest.approx(10 ** (-21 / 20) * amplitude[50])


def test_speed_augmentation_keeps_audio_and_targets_aligned_within_the_range_asked(corpus_with_targets):
    """A crop played up to 25 % faster or slower has as many targets as frames of audio, and its length moves
    with the speed (a 25-frame crop lands on 20-34 frames); without a speed change only gain and noise vary."""
    from datasets import load_from_disk

    from speech2video.training.distillation import SAMPLES_PER_FRAME, Augmentation, crop_clip

    row = load_from_disk(str(corpus_with_targets / "targets"))["train"][0]
    lengths = set()
    for seed in range(12):
        audio, mouth, clean_audio = crop_clip(row, 25, np.random.default_rng(seed), Augmentation(max_speed_change=0.25))
        assert len(audio) == len(mouth) * SAMPLES_PER_FRAME and np.isfinite(mouth).all()
        assert len(clean_audio) == len(audio)
        lengths.add(len(mouth))
    assert min(lengths) >= 20 and max(lengths) <= 34 and len(lengths) >= 4
    plain = {len(crop_clip(row, 25, np.random.default_rng(seed), Augmentation(max_speed_change=0)).mouth) for seed in range(6)}
    assert plain == {25}


def test_channel_augmentation_colours_the_crop_and_keeps_its_targets(corpus_with_targets):
    """Through a random microphone and room a crop keeps its length, its targets and a level that is not
    clipped, while its spectrum's shape changes clearly more than gain and noise alone change it; its clean
    audio is the speech before all that."""
    from datasets import load_from_disk

    from speech2video.training.distillation import Augmentation, crop_clip

    row = load_from_disk(str(corpus_with_targets / "targets"))["train"][0]

    def crop(seed, augmentation):
        return crop_clip(row, 10_000, np.random.default_rng(seed), augmentation)  # the whole clip, whatever the seed

    def shape(audio):  # dB per band about the mean: the spectrum's colour, not its level
        bands = 10 * np.log10([band.mean() + 1e-12 for band in np.array_split(np.abs(np.fft.rfft(audio)) ** 2, 16)])
        return bands - bands.mean()

    plain, coloured = Augmentation(max_speed_change=0), Augmentation(max_speed_change=0, channel_probability=1)
    reference_audio, reference_mouth, _ = crop(0, plain)
    plain_change = np.mean([np.abs(shape(crop(seed, plain)[0]) - shape(reference_audio)).mean() for seed in range(1, 5)])
    channel_change = []
    for seed in range(1, 5):
        audio, mouth, clean_audio = crop(seed, coloured)
        assert len(audio) == len(reference_audio) and np.array_equal(mouth, reference_mouth)
        assert np.array_equal(clean_audio, crop(seed, None).audio)  # the whole clip as decoded
        assert np.isfinite(audio).all() and (np.abs(audio) >= 1).mean() < 0.001
        channel_change.append(np.abs(shape(audio) - shape(reference_audio)).mean())
    assert np.mean(channel_change) > 1.5 * plain_change


def test_telephone_augmentation_leaves_nothing_above_4_khz_and_keeps_the_targets(corpus_with_targets):
    """Over a telephone line a crop keeps its length and targets, its noise included goes down the line (nothing
    left above 4 kHz), and its clean audio is the speech before it; without the flag the crops are as before."""
    from datasets import load_from_disk

    from speech2video.training.distillation import Augmentation, crop_clip

    row = load_from_disk(str(corpus_with_targets / "targets"))["train"][0]
    plain = crop_clip(row, 10_000, np.random.default_rng(3), Augmentation(max_speed_change=0))
    never = crop_clip(row, 10_000, np.random.default_rng(3), Augmentation(max_speed_change=0, telephone_probability=0))
    phoned = crop_clip(row, 10_000, np.random.default_rng(3), Augmentation(max_speed_change=0, telephone_probability=1))

    assert np.array_equal(never.audio, plain.audio)
    assert len(phoned.audio) == len(plain.audio) and np.array_equal(phoned.mouth, plain.mouth)
    assert np.array_equal(phoned.clean_audio, plain.clean_audio)
    power = np.abs(np.fft.rfft(phoned.audio)) ** 2
    frequencies = np.fft.rfftfreq(len(phoned.audio), 1 / 16_000)
    assert power[frequencies > 4200].mean() < 1e-4 * power[(frequencies > 500) & (frequencies < 3000)].mean()


@pytest.mark.parametrize("flags", [["--max_speed_change", "1.5"], ["--channel_augmentation", "2"],
                                   ["--telephone_augmentation", "-0.1"],
                                   ["--content_anchor_weight", "1"], ["--init_model", "m", "--content_anchor_weight", "-1"]])
def test_augmentation_flags_refuse_values_out_of_range(flags):
    script = load_example_script("train_distillation")
    with pytest.raises(SystemExit):
        script.parse_args(["--dataset_path", "x", "--output_dir", "y", *flags])


def test_content_anchor_keeps_a_fine_tunes_content_features_near_the_initial_models(corpus_with_targets, tmp_path):
    """Lips fine-tuned through random channels move the content features the generator reads; with
    `--content_anchor_weight` they stay much nearer the initial model's on clean speech."""
    from conftest import tiny_config
    from speech2video.training.distillation import content_anchor_loss

    start = tmp_path / "start"
    Speech2VideoModel(tiny_config(identity_dim=14, emotion_labels=list(EMOTIONS))).save_pretrained(start)
    script = load_example_script("train_distillation")
    common = ["--dataset_path", str(corpus_with_targets / "targets"), "--init_model", str(start), "--train_batch_size", "4",
              "--max_frames", "25", "--max_train_steps", "8", "--validation_steps", "100", "--learning_rate", "3e-3",
              "--lr_warmup_steps", "0", "--no_identity_distillation", "--no_emotion_distillation",
              "--channel_augmentation", "1"]
    script.main([*common, "--output_dir", str(tmp_path / "free")])
    script.main([*common, "--output_dir", str(tmp_path / "anchored"), "--content_anchor_weight", "10"])
    logs = [json.loads(line) for line in (tmp_path / "anchored" / "losses.jsonl").read_text().splitlines()]
    assert set(logs[0]) == {"step", "loss", "loss_mouth", "loss_content_anchor"}

    torch.manual_seed(0)
    audio = torch.randn(2, 32_000)

    def content(folder):
        return Speech2VideoModel.from_pretrained(folder).eval().encode_speech(audio, None, torch.tensor([50, 50]))

    initial, mask = content(start).content_features, torch.ones(2, 50, dtype=torch.bool)
    moved = {run: content_anchor_loss(content(tmp_path / run).content_features, initial, mask).item()
             for run in ("free", "anchored")}
    assert moved["anchored"] < 0.5 * moved["free"]
