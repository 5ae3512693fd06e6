import io
from fractions import Fraction

import numpy as np
import pytest
import soundfile

from conftest import speech_like
from speech2video import AudioError, load_audio, write_video


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 44_100, 48_000])
@pytest.mark.parametrize("channels", [1, 2])
def test_wav_any_rate_and_channels_becomes_16k_mono(tmp_path, rate, channels):
    path = tmp_path / "in.wav"
    soundfile.write(path, speech_like(1.0, rate, channels), rate)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 16_000) <= 1


@pytest.mark.parametrize("fmt,ext", [("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")])
def test_compressed_formats(tmp_path, fmt, ext):
    path = tmp_path / f"in.{ext}"
    soundfile.write(path, speech_like(1.0, 44_100), 44_100, format=fmt)
    audio = load_audio(path)
    assert abs(len(audio) / 16_000 - 1.0) < 0.1  # mp3 adds encoder padding
    assert np.abs(audio).max() > 0.05


def test_audio_track_of_a_video_file(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(path, np.zeros((25, 16, 16, 3), np.uint8), fps=25, audio=speech_like(1.0))
    audio = load_audio(path)
    assert abs(len(audio) / 16_000 - 1.0) < 0.1


def test_bytes_and_dict_and_array_inputs_agree(wav_file):
    from_path = load_audio(wav_file)
    from_bytes = load_audio(wav_file.read_bytes())
    samples, rate = soundfile.read(wav_file, dtype="float32")
    np.testing.assert_array_equal(from_path, from_bytes)
    np.testing.assert_allclose(load_audio(samples, sampling_rate=rate), from_path, atol=1e-6)
    np.testing.assert_allclose(load_audio({"array": samples, "sampling_rate": rate}), from_path, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint8, np.float64])
def test_integer_and_float_dtypes_scale_to_unit_range(dtype):
    signal = speech_like(0.5)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        middle = (int(info.max) + int(info.min) + 1) / 2
        array = np.round(signal * (info.max - middle) + middle).astype(dtype)
    else:
        array = signal.astype(dtype)
    np.testing.assert_allclose(load_audio(array, sampling_rate=16_000), signal, atol=1e-2)


def test_channels_first_and_channels_last_arrays_both_work():
    stereo = speech_like(0.5, channels=2)
    np.testing.assert_allclose(load_audio(stereo, sampling_rate=16_000), load_audio(stereo.T, sampling_rate=16_000))


def test_resampling_is_anti_aliased():
    """A 10 kHz tone at 44.1 kHz is above the 8 kHz Nyquist of 16 kHz audio: it must vanish, not fold to 6 kHz."""
    t = np.arange(44_100) / 44_100
    in_band = load_audio(np.sin(2 * np.pi * 3_000 * t), sampling_rate=44_100)
    above = load_audio(np.sin(2 * np.pi * 10_000 * t), sampling_rate=44_100)
    assert np.sqrt(np.mean(in_band**2)) > 0.6
    assert np.sqrt(np.mean(above[1000:-1000] ** 2)) < 0.01


def test_over_full_scale_float_is_scaled_not_clipped():
    audio = load_audio(np.array([0.0, 4.0, -2.0, 1.0] * 100), sampling_rate=16_000)
    assert np.abs(audio).max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "make_input,message",
    [
        (lambda tmp: tmp / "missing.wav", "not found"),
        (lambda tmp: tmp, "directory"),
        (lambda tmp: _write(tmp / "empty.wav", b""), "empty"),
        (lambda tmp: _write(tmp / "notes.wav", b"this is a text file, not audio\n" * 20), "not a readable audio"),
        (lambda tmp: _write(tmp / "cut.wav", _wav_bytes()[:30]), "not a readable audio"),
        (lambda tmp: _silent_video(tmp / "silent.mp4"), "no audio track"),
    ],
    ids=["missing", "directory", "empty-file", "text-renamed-wav", "truncated", "video-without-audio"],
)
def test_bad_files_raise_audio_error(tmp_path, make_input, message):
    with pytest.raises(AudioError, match=message):
        load_audio(make_input(tmp_path))


@pytest.mark.parametrize(
    "array,rate,message",
    [
        (np.zeros(0, np.float32), 16_000, "zero length"),
        (np.array([0.1, np.nan, 0.2] * 100), 16_000, "NaN or infinite"),
        (np.array([0.1, np.inf] * 100), 16_000, "NaN or infinite"),
        (np.zeros((2, 2, 100)), 16_000, "1-D"),
        (np.array(["a", "b"]), 16_000, "dtype"),
        (np.zeros(100), None, "sampling_rate"),
        (np.zeros(100), 0, "sampling_rate"),
        (np.zeros(100), 16_000.5, "sampling_rate"),
    ],
)
def test_bad_arrays_raise_audio_error(array, rate, message):
    with pytest.raises(AudioError, match=message):
        load_audio(array, sampling_rate=rate)


def test_empty_bytes_and_unknown_types_raise_audio_error():
    with pytest.raises(AudioError, match="empty"):
        load_audio(b"")
    with pytest.raises(AudioError, match="unsupported audio input"):
        load_audio(12345)


def _write(path, data):
    path.write_bytes(data)
    return path


def _wav_bytes():
    buffer = io.BytesIO()
    soundfile.write(buffer, speech_like(0.5), 16_000, format="WAV")
    return buffer.getvalue()


def _silent_video(path):
    write_video(path, np.zeros((5, 16, 16, 3), np.uint8), fps=25)
    return path


def _video_with_audio_tracks(path, tones_hz, frame_times):
    """An mp4 with one video stream (frames at `frame_times` seconds: irregular = variable frame rate) and
    one AAC track per tone in `tones_hz` (1 s each)."""
    import av

    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=1000)
        video.width = video.height = 32
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        tracks = [container.add_stream("aac", rate=16_000, layout="mono") for _ in tones_hz]
        for t in frame_times:
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 128, np.uint8), format="rgb24")
            frame.pts = round(t * 1000)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for track, tone in zip(tracks, tones_hz):
            samples = (0.5 * np.sin(2 * np.pi * tone * np.arange(16_000) / 16_000)).astype(np.float32)
            for start in range(0, 16_000, 1024):
                frame = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="flt", layout="mono")
                frame.sample_rate, frame.pts = 16_000, start
                container.mux(track.encode(frame))
            container.mux(track.encode(None))
    return path


def _dominant_hz(audio):
    spectrum = np.abs(np.fft.rfft(audio[2000:14000]))
    return np.argmax(spectrum) * 16_000 / 12_000


def test_a_video_with_several_audio_tracks_gives_its_first_track(tmp_path):
    path = _video_with_audio_tracks(tmp_path / "two-tracks.mp4", [440, 1000], np.arange(25) / 25)
    assert abs(_dominant_hz(load_audio(path)) - 440) < 5


def test_a_variable_frame_rate_video_gives_its_whole_audio(tmp_path):
    times = np.cumsum(np.random.default_rng(0).uniform(0.01, 0.08, 30))  # 12 to 100 fps, changing every frame
    audio = load_audio(_video_with_audio_tracks(tmp_path / "vfr.mp4", [440], times))
    assert abs(len(audio) - 16_000) < 1100 and abs(_dominant_hz(audio) - 440) < 5  # AAC priming/padding aside
