"""Real-video corpus builder: exact audio/video alignment across fps resampling, a report line for every bad
file while the rest is built, label presets, and two real GRID clips end to end."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from speech2video.data.schema import COMMON_FEATURES, decode_frames
from speech2video.data.video_corpus import (
    SourceClip, assign_split, build_video_corpus, crema_d_labels, mead_labels, ravdess_labels, read_clip,
    resample_clip, resample_indices,
)
from speech2video.video import VideoWriter

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GRID = SHARED_DATA / "grid_s1"
GRID_CLIPS = ["bbaf3s", "bbaf4p"]
SOURCE_FPS = 30
FLASH_FRAMES = [20, 47, 71]  # 30 fps frames where a 3-frame white flash starts, with a click in the audio


def flash_clip(seconds=3.0):
    """Grey frames (T, 32, 32, 3) at 30 fps with white flashes, and 16 kHz audio with a click at each flash."""
    frames = np.full((int(seconds * SOURCE_FPS), 32, 32, 3), 60, np.uint8)
    audio = np.zeros(int(seconds * 16_000), np.float32)
    for start in FLASH_FRAMES:
        frames[start:start + 3] = 255
        click = round(start / SOURCE_FPS * 16_000)
        audio[click:click + 160] = 0.8 * np.sin(np.arange(160) / 2)  # 10 ms burst
    return frames, audio


def flash_and_click_frames(frames, audio, fps=25):
    """Output frame index of each flash onset and each click onset (in frames at `fps`)."""
    bright = frames.mean(axis=(1, 2, 3)) > 150
    flashes = np.flatnonzero(bright & ~np.r_[False, bright[:-1]])
    loud = np.abs(audio) > 0.2
    onsets = np.flatnonzero(loud & ~np.r_[False, loud[:-1]])
    clicks = onsets[np.r_[True, np.diff(onsets) > 1600]] / 16_000 * fps  # one onset per click
    return flashes, clicks


def test_resample_indices_pick_the_frame_on_screen_at_each_output_centre():
    times = np.arange(90) / 30
    indices = resample_indices(times, end=3.0, fps=25)
    assert len(indices) == 75
    np.testing.assert_array_equal(indices, np.floor((np.arange(75) + 0.5) / 25 * 30).astype(int))
    shuffled = np.random.default_rng(0).permutation(90)  # decode order != display order (B-frames)
    np.testing.assert_array_equal(shuffled[resample_indices(times[shuffled], 3.0, 25)], indices)


@pytest.mark.parametrize("audio_lead", [0.2, -0.1])
def test_flashes_and_clicks_stay_in_sync_after_resampling_to_25_fps(audio_lead):
    """The video starts at 0.4 s; the audio `audio_lead` s earlier (extra audio is cut) or later (silence)."""
    frames, audio = flash_clip()
    lead = round(abs(audio_lead) * 16_000)
    shifted = np.r_[np.zeros(lead, np.float32), audio] if audio_lead > 0 else audio[lead:]
    clip = SourceClip(frames, np.arange(len(frames)) / SOURCE_FPS + 0.4, 3.4, shifted, audio_start=0.4 - audio_lead)
    out_frames, out_audio = resample_clip(clip)
    assert len(out_frames) == 75 and len(out_audio) == 75 * 640
    flashes, clicks = flash_and_click_frames(out_frames, out_audio)
    assert len(flashes) == len(clicks) == len(FLASH_FRAMES)
    np.testing.assert_allclose(flashes, clicks, atol=1.0)


def test_flashes_and_clicks_stay_in_sync_through_a_30_fps_mp4(tmp_path):
    frames, audio = flash_clip()
    with VideoWriter(tmp_path / "flash.mp4", fps=SOURCE_FPS, audio=audio) as writer:
        writer.write(frames)
    out_frames, out_audio = resample_clip(read_clip(tmp_path / "flash.mp4"))
    assert len(out_frames) == 75
    flashes, clicks = flash_and_click_frames(out_frames, out_audio)
    assert len(flashes) == len(clicks) == len(FLASH_FRAMES)
    np.testing.assert_allclose(flashes, clicks, atol=1.0)


def test_presets_parse_labels_from_file_names():
    assert crema_d_labels(Path("1001_DFA_ANG_XX.flv")) == {
        "speaker_id": "crema-d-1001", "text": "Don't forget a jacket", "emotion": "angry", "intensity": "unspecified"}
    ravdess = ravdess_labels(Path("Actor_12/01-01-06-02-02-01-12.mp4"))
    assert (ravdess["speaker_id"], ravdess["emotion"], ravdess["intensity"], ravdess["gender"]) == (
        "ravdess-12", "fear", "strong", "female")
    assert mead_labels(Path("M003/video/front/angry/level_1/001.mp4")) == {
        "speaker_id": "mead-M003", "text": "", "emotion": "angry", "intensity": "1", "view": "front"}


def test_splits_are_deterministic_hashes():
    splits = [assign_split(f"clip{i}") for i in range(1000)]
    assert splits == [assign_split(f"clip{i}") for i in range(1000)]
    assert 0.75 < splits.count("train") / 1000 < 0.85 and splits.count("test") > 50


def write_bad_files(folder: Path) -> None:
    """A video without audio, one without a face, random bytes, and a file whose video track has no frames."""
    import av

    grey = np.full((30, 64, 64, 3), 90, np.uint8)
    with VideoWriter(folder / "no_audio.mp4", fps=25) as writer:
        writer.write(grey)
    with VideoWriter(folder / "no_face.mp4", fps=25, audio=np.zeros(19_200, np.float32)) as writer:
        writer.write(np.repeat(grey, 2, axis=0))
    (folder / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    with av.open(str(folder / "zero_frames.mkv"), "w", format="matroska") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width = video.height = 64
        audio = container.add_stream("aac", rate=16_000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16_000), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 16_000, 0
        for packet in [*audio.encode(frame), *audio.encode(None)]:
            container.mux(packet)


def write_face_gap_clip(path: Path) -> None:
    """A GRID clip, 40 grey frames (1.6 s without a face), the clip again; with its audio (silence in the gap)."""
    from speech2video.audio import load_audio
    from speech2video.video import read_video

    frames, _ = read_video(GRID / "video" / f"{GRID_CLIPS[0]}.mp4")
    audio = load_audio(GRID / "video" / f"{GRID_CLIPS[0]}.mp4")
    with VideoWriter(path, fps=25, audio=np.concatenate([audio, np.zeros(40 * 640, np.float32), audio])) as writer:
        writer.write(np.concatenate([frames, np.full((40, *frames.shape[1:]), 90, np.uint8), frames]))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A folder of bad files (+ 2 GRID clips with their align files, when the shared data is there), built."""
    root = tmp_path_factory.mktemp("videos") / "s1"
    (root / "video").mkdir(parents=True)
    write_bad_files(root / "video")
    if GRID.is_dir():
        (root / "align").mkdir()
        for name in GRID_CLIPS:
            shutil.copy(GRID / "video" / f"{name}.mp4", root / "video")
            shutil.copy(GRID / "align" / f"{name}.align", root / "align")
        write_face_gap_clip(root / "video" / "gap.mp4")
    return build_video_corpus(root / "video", root / "corpus", preset="grid", split_by=None, num_proc=2)


def test_bad_files_are_reported_and_the_rest_is_built(built):
    corpus, report = built
    notes = {Path(source).stem: (status, note) for source, status, note, _ in report.files}
    assert notes["no_audio"][0] == "dropped" and "no audio track" in notes["no_audio"][1]
    assert notes["no_face"][0] == "dropped" and "no face found" in notes["no_face"][1]
    assert notes["corrupt"][0] == "dropped" and "not a readable audio or video file" in notes["corrupt"][1]
    assert notes["zero_frames"][0] == "dropped" and "zero frames" in notes["zero_frames"][1]
    assert len(report.dropped) == 4 and "dropped" in str(report)
    if GRID.is_dir():
        assert sorted(corpus["train"]["clip_id"]) == [*GRID_CLIPS, "gap-part0", "gap-part1"]
        assert notes["gap"][0] == "ok"
        assert notes["gap"][1].startswith("150/190 frames kept in 2 piece(s); 40 without a face dropped")


@pytest.mark.skipif(not GRID.is_dir(), reason="needs ../shared/data/grid_s1")
def test_grid_clips_follow_the_schema_with_text_from_the_align_files(built):
    corpus, _ = built
    rows = corpus["train"]
    assert set(COMMON_FEATURES) <= set(rows.features)
    row = rows[rows["clip_id"].index("bbaf3s")]
    assert row["text"] == "bin blue at f three soon" and row["speaker_id"] == "grid-s1"
    assert 73 <= row["num_frames"] <= 76 and row["fps"] == 25 and row["sampling_rate"] == 16_000
    assert len(row["audio"]) == row["num_frames"] * 640
    frames = decode_frames(row)
    assert frames.shape == (row["num_frames"], 128, 128, 3)
    assert frames.std() > 20  # a face, not the zero fill


@pytest.mark.skipif(not GRID.is_dir(), reason="needs ../shared/data/grid_s1")
def test_mouth_landmarks_find_the_lips_and_the_still_mouth_scores_worse(built):
    from speech2video.evaluation import landmark_distance, mouth_landmarks

    rows = built[0]["train"]
    row = rows[rows["clip_id"].index("bbaf3s")]
    frames = decode_frames(row)
    mouth = mouth_landmarks(frames)  # (T, 20, 2)
    assert mouth.shape == (len(frames), 20, 2)
    x, y = mouth[..., 0].mean() / 128, mouth[..., 1].mean() / 128
    assert 0.4 < x < 0.6 and 0.6 < y < 0.9  # centred, in the lower part of the aligned crop
    # inner-lip gap (points 62 and 66): wider while speaking than in the closing silence of the align file
    gap = mouth[:, 18, 1] - mouth[:, 14, 1]
    words = (GRID / "align" / "bbaf3s.align").read_text().split()
    speech_start, silence_start = int(words[1]) // 1000, int(words[-3]) // 1000
    assert gap[speech_start:silence_start].mean() > gap[silence_start + 2:].mean() + 0.75
    assert landmark_distance(mouth, mouth) == 0.0
    assert landmark_distance(mouth_landmarks(np.repeat(frames[:1], len(frames), 0)), mouth) > 0.5


@pytest.mark.skipif(not GRID.is_dir(), reason="needs ../shared/data/grid_s1")
def test_the_face_teachers_give_a_real_corpus_every_target_stage_1_needs(built, tmp_path):
    """The quick start's own-video path: `cache_teacher_targets.py --teacher face` writes dlib's identity, FER's
    emotions and the mouth teacher's opening of every frame, from which stage 1 builds a student in those spaces."""
    from datasets import load_from_disk

    from conftest import load_example_script
    from speech2video.teachers.emotion import FER2013_CLASSES

    built[0].save_to_disk(str(tmp_path / "corpus"))
    load_example_script("cache_teacher_targets").main(["--dataset_path", str(tmp_path / "corpus"), "--teacher", "face",
                                                       "--identity_frames", "4", "--output_dir", str(tmp_path / "targets")])
    cached = load_from_disk(str(tmp_path / "targets"))
    for split in cached.values():
        for row in split:
            assert len(row["teacher_identity"]) == 128 and len(row["teacher_emotion"]) == len(FER2013_CLASSES)
            assert len(row["teacher_mouth_open"]) == row["num_frames"]
    script = load_example_script("train_distillation")
    args = script.parse_args(["--dataset_path", str(tmp_path / "targets"), "--output_dir", str(tmp_path / "student")])
    config = script.build_model(args, script.load_corpora(args.dataset_path, "train")).config
    assert config.identity_dim == 128 and config.emotion_labels == FER2013_CLASSES and config.identity_teacher == "dlib"
