"""Evaluation metrics against known answers; the sync expert on a synthetic talker whose truth is known."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from speech2video import CheckpointError
from speech2video.evaluation import (
    SyncExpert, blink_rate, bootstrap_standard_error, flicker, frechet_distance, inner_lip_gap, landmark_distance,
    log_mel_spectrogram, mouth_opening_correlation, psnr, r2_per_dimension, retrieval_top1, sharpness, ssim,
    sync_offset_confidence, train_sync_expert,
)
from speech2video.evaluation.mel import hz_to_mel, mel_filterbank, mel_to_hz
from speech2video.evaluation.sync import audio_windows, video_windows

SAMPLES_PER_FRAME = 16_000 // 25


def talking_clip(num_frames, seed, size=64):
    """A synthetic talker: (audio float32 16 kHz, face frames (T, size, size, 3) uint8, mouth opening (T,)).

    Syllables of a harmonic tone whose loudness follows a random on/off envelope; a white ellipse mouth on a
    noisy face opens in proportion to the same envelope, frame by frame.
    """
    rng = np.random.default_rng(seed)
    envelope = []
    while len(envelope) < num_frames:
        envelope += [rng.uniform(0.3, 1.0)] * int(rng.integers(2, 8)) + [0.0] * int(rng.integers(1, 6))
    envelope = np.array(envelope[:num_frames])
    t = np.arange(num_frames * SAMPLES_PER_FRAME) / 16_000
    loudness = np.interp(t * 25 - 0.5, np.arange(num_frames), envelope)  # frame t is centred at (t + 0.5) / 25 s
    pitch = rng.uniform(150, 400)
    tone = np.sin(2 * np.pi * pitch * t) + 0.5 * np.sin(4 * np.pi * pitch * t)
    audio = (0.4 * loudness * tone + 0.005 * rng.standard_normal(t.size)).astype(np.float32)
    y, x = np.mgrid[:size, :size] / size
    mouth = ((x - 0.5) / 0.2) ** 2 + ((y - 0.75) / (0.02 + 0.12 * envelope[:, None, None])) ** 2 <= 1
    frames = rng.uniform(0.3, 0.6) + 0.03 * rng.standard_normal((num_frames, size, size, 1)) + np.zeros(3)
    frames[mouth] = 1.0
    return audio, (np.clip(frames, 0, 1) * 255).astype(np.uint8), envelope


def video_late_by(k, num_frames=75, seed=1000):
    """A clip whose video lags its audio by k frames (k < 0: the video is early)."""
    audio, frames, _ = talking_clip(num_frames + abs(k), seed)
    if k >= 0:  # video frame t shows the mouth of audio frame t - k
        return audio[k * SAMPLES_PER_FRAME : (k + num_frames) * SAMPLES_PER_FRAME], frames[:num_frames]
    return audio[: num_frames * SAMPLES_PER_FRAME], frames[-k : num_frames - k]


def random_video(seed=0, shape=(4, 32, 32, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# image


def test_identical_videos_score_best_in_uint8_and_float():
    video = random_video()
    assert psnr(video, video) == 100.0 and ssim(video, video) == pytest.approx(1.0)
    assert psnr(video / 255.0, video) == 100.0 and ssim(video.astype(np.float32) / 255, video) == pytest.approx(1.0)


def test_psnr_known_value_and_scores_fall_with_noise():
    real = np.full((2, 16, 16, 3), 0.5)
    assert psnr(real + 0.1, real) == pytest.approx(20.0)  # error 0.1 everywhere: 10 log10(1 / 0.01)
    video = random_video().astype(np.float64) / 255
    noise = np.random.default_rng(1).normal(size=video.shape)
    slightly, badly = (np.clip(video + scale * noise, 0, 1) for scale in (0.05, 0.2))
    assert 1 > ssim(slightly, video) > ssim(badly, video)
    assert 100 > psnr(slightly, video) > psnr(badly, video)


def test_bad_videos_are_refused():
    with pytest.raises(ValueError, match="shape"):
        psnr(random_video(), random_video(shape=(4, 32, 30, 3)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ssim(np.full((1, 8, 8, 3), 2.0), np.ones((1, 8, 8, 3)))


def test_blur_lowers_sharpness():
    blocks = np.kron(np.random.default_rng(0).integers(0, 2, (8, 8)), np.ones((8, 8)))  # 64 x 64 hard edges
    scores = [sharpness(np.repeat(gaussian_filter(blocks, sigma)[None, ..., None], 3, -1)) for sigma in (0.01, 1, 2)]
    assert scores[0] > 0.9 and scores[0] > scores[1] >= scores[2]
    assert sharpness(np.zeros((1, 16, 16, 3))) == 0.0  # no edges at all


def test_flicker_ignores_the_mouth_region():
    _, frames, _ = talking_clip(20, seed=0)
    frames[:] = frames[0] * (frames != 255) + 255 * (frames == 255)  # freeze everything but the white mouth
    mouth = np.zeros(frames.shape[1:3], bool)
    mouth[36:64, 8:56] = True
    assert flicker(frames) > 0
    assert flicker(frames, mask=mouth) == 0.0 == flicker(frames, mask=(36, 64, 8, 56))
    steps = np.zeros((3, 8, 8, 3))
    steps[1], steps[2] = 0.5, 0.25
    assert flicker(steps) == pytest.approx(0.375)  # (0.5 + 0.25) / 2


# motion


def test_mouth_opening_correlation_ranks_true_above_noisy_above_frozen():
    truth = talking_clip(100, seed=0)[2]
    noisy = truth + np.random.default_rng(0).normal(0, 0.3, truth.shape)
    assert mouth_opening_correlation(2 * truth + 1, truth) == pytest.approx(1.0)
    assert mouth_opening_correlation(-truth, truth) == pytest.approx(-1.0)
    assert 1.0 > mouth_opening_correlation(noisy, truth) > 0.3
    assert mouth_opening_correlation(np.full_like(truth, 0.5), truth) == 0.0  # a frozen mouth
    batch = mouth_opening_correlation(np.stack([truth, noisy]), np.stack([truth, truth]))
    assert batch.shape == (2,) and batch[0] == pytest.approx(1.0)


def test_blink_rate_counts_short_dips_only():
    openness = 1.0 + 0.02 * np.random.default_rng(0).standard_normal(750)  # 30 s at 25 fps
    for start, length in [(50, 3), (200, 1), (400, 6), (600, 10)]:
        openness[start : start + length] = 0.1
    openness[700:740] = 0.0  # eyes shut for 1.6 s: not a blink
    assert blink_rate(openness, fps=25) == pytest.approx(8.0)  # 4 blinks in half a minute
    assert blink_rate(np.ones(250), fps=25) == 0.0


def test_eye_openness_dips_on_rendered_blinks_and_blink_rate_counts_them():
    """A SynthTalk clip at 128 px knows when it blinks: the eye contrast falls on those frames."""
    from speech2video.data.synthtalk import Speaker, make_clip
    from speech2video.evaluation import eye_openness, face_landmarks

    clip = make_clip(Speaker.from_seed(3), "neutral", 0.0, "Please bring my brown bag to the big meeting by the bay.",
                     seed=0, image_size=128)
    shut = np.asarray(clip.blink) > 0.5
    assert 0 < shut.sum() < len(shut) / 4
    openness = eye_openness(clip.frames, face_landmarks(clip.frames))
    assert openness.shape == (len(clip.frames),)
    assert openness[shut].mean() < 0.8 * openness[~shut].mean()
    assert blink_rate(openness) > 0
    still = np.repeat(clip.frames[:1], len(clip.frames), axis=0)  # a still face does not blink
    assert blink_rate(eye_openness(still, face_landmarks(still))) == 0.0


def test_landmark_distance_known_values():
    real = np.random.default_rng(0).uniform(0, 64, (10, 20, 2))
    assert landmark_distance(real + [3.0, 4.0], real) == pytest.approx(0.0, abs=1e-9)  # translation removed
    assert landmark_distance(real + [3.0, 4.0], real, center=False) == pytest.approx(5.0)
    wider = real.copy()
    wider[:, :, 0] = 2 * (real[:, :, 0] - real[:, :, 0].mean(1, keepdims=True)) + real[:, :, 0].mean(1, keepdims=True)
    assert landmark_distance(wider, real) > 1.0


def test_inner_lip_gap_measures_the_opening_between_facing_inner_lip_points():
    mouth = np.zeros((2, 20, 2))
    mouth[:, 13:16, 1] = 50.0  # upper inner lip (points 61-63)
    mouth[:, 17:20, 1] = [[50.0] * 3, [53.0, 54.0, 55.0]]  # lower inner lip (65-67): shut, then open
    assert inner_lip_gap(mouth) == pytest.approx([0.0, 4.0])
    with pytest.raises(ValueError, match="20, 2"):
        inner_lip_gap(np.zeros((2, 68, 2)))  # all 68 landmarks, not the mouth's 20


# distribution


def test_frechet_distance_is_zero_on_itself_and_grows_with_a_mean_shift():
    features = np.random.default_rng(0).normal(size=(200, 8))
    shift = np.zeros(8)
    shift[0] = 3.0
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, features + shift) == pytest.approx(9.0, abs=1e-4)  # |shift|^2
    assert frechet_distance(features, features + 2 * shift) > frechet_distance(features, features + shift)
    few = np.random.default_rng(1).normal(size=(10, 32))  # fewer vectors than dimensions: singular covariances
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-3)


def test_retrieval_top1_on_separated_clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16)) * 10
    labels = np.repeat(np.arange(5), 4)
    query, gallery = (centres[labels] + rng.normal(size=(20, 16)) for _ in range(2))
    assert retrieval_top1(query, gallery, labels, labels) == 1.0
    assert retrieval_top1(query, gallery, labels, np.roll(labels, 4)) == 0.0


def test_r2_per_dimension():
    truth = np.random.default_rng(0).normal(size=(50, 3))
    predicted = np.stack([truth[:, 0], np.full(50, truth[:, 1].mean()), truth[:, 2] + 1.0], axis=1)
    r2 = r2_per_dimension(predicted, truth)
    assert r2.shape == (3,) and r2[0] == pytest.approx(1.0) and r2[1] == pytest.approx(0.0) and r2[2] < 0
    assert np.isnan(r2_per_dimension(np.zeros((4, 1)), np.ones((4, 1))))[0]


def test_bootstrap_standard_error_of_an_accuracy_counts_groups_not_items():
    correct = np.random.default_rng(0).random(400) < 0.4  # 400 independent clips
    accuracy = lambda index: correct[index].mean()  # noqa: E731
    binomial = np.sqrt(0.4 * 0.6 / 400)
    assert bootstrap_standard_error(accuracy, np.arange(400)) == pytest.approx(binomial, rel=0.15)
    # 40 speakers of 10 clips each, all right or all wrong: as uncertain as 40 clips
    by_speaker = np.repeat(correct[:40], 10)
    error = bootstrap_standard_error(lambda index: by_speaker[index].mean(), np.repeat(np.arange(40), 10))
    share = correct[:40].mean()
    assert error == pytest.approx(np.sqrt(share * (1 - share) / 40), rel=0.3)
    assert bootstrap_standard_error(accuracy, np.arange(400)) == bootstrap_standard_error(accuracy, np.arange(400))
    with pytest.raises(ValueError, match="groups must name"):
        bootstrap_standard_error(accuracy, [])


# mel


def test_mel_scale_and_filterbank():
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.5)
    assert mel_to_hz(hz_to_mel([0.0, 440.0, 8000.0])) == pytest.approx([0.0, 440.0, 8000.0])
    filters = mel_filterbank(40, 400, 16_000)
    assert filters.shape == (40, 201) and float(filters.max()) <= 1.0 and bool((filters.sum(1) > 0).all())


def test_log_mel_peaks_in_the_band_of_a_tone():
    t = np.arange(16_000) / 16_000
    mel = log_mel_spectrogram(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert mel.shape == (101, 40)
    centres = mel_to_hz(np.linspace(0, hz_to_mel(8000), 42)[1:-1])
    assert int(mel[50].argmax()) == int(np.argmin(np.abs(centres - 1000)))
    silence = log_mel_spectrogram(np.zeros(1600, np.float32))
    assert float(silence.max()) == pytest.approx(np.log(1e-6))


# sync


@pytest.fixture(scope="module")
def expert():
    """A small sync expert trained briefly on 16 synthetic in-sync clips of 4 s."""
    clips = [talking_clip(100, seed)[:2] for seed in range(16)]
    return train_sync_expert(clips, steps=100, batch_size=16, expert=SyncExpert(channels=16))


def test_sync_windows_line_up_with_frames():
    audio, frames, _ = talking_clip(30, seed=0)
    assert audio_windows(audio, 30).shape == (30, 40, 20)
    assert audio_windows(audio[:8000], 30).shape == (30, 40, 20)  # missing audio is padded with silence
    assert video_windows(frames).shape == (30, 5, 32, 64)


@pytest.mark.parametrize("seed", [1000, 1001, 1002])
def test_in_sync_clips_have_offset_zero(expert, seed):
    offset, confidence = sync_offset_confidence(expert, *video_late_by(0, seed=seed))
    assert offset == 0 and confidence > 0


@pytest.mark.parametrize("k", [2, -2, 3, 5, -7])
def test_shifted_video_gives_its_offset(expert, k):
    assert abs(sync_offset_confidence(expert, *video_late_by(k))[0] - k) <= 1


def test_unrelated_audio_gives_lower_confidence(expert):
    audio, frames = video_late_by(0, seed=1000)
    other_audio, _ = video_late_by(0, seed=1001)
    assert sync_offset_confidence(expert, other_audio, frames)[1] < sync_offset_confidence(expert, audio, frames)[1]


def test_save_and_load_round_trip(expert, tmp_path):
    expert.save(tmp_path / "sync.safetensors")
    loaded = SyncExpert.load(tmp_path / "sync.safetensors")
    assert loaded.config == expert.config
    audio, frames = video_late_by(3)
    assert sync_offset_confidence(loaded, audio, frames) == sync_offset_confidence(expert, audio, frames)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError):
        SyncExpert.load(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        SyncExpert.load(tmp_path / "missing.safetensors")
