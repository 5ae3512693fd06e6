"""Property-based tests: any input to the audio loader either works or raises the documented AudioError."""

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from speech2video import AudioError, load_audio

DTYPES = st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.float16, np.float32,
                          np.float64, np.bool_, np.complex64])
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=4000),
    st.tuples(st.integers(0, 2000), st.sampled_from([0, 1, 2, 6])),
    hnp.array_shapes(min_dims=3, max_dims=4, min_side=0, max_side=5),
)
RATES = st.one_of(st.integers(-5, 384_000), st.sampled_from([1, 8_000, 44_100, 384_000]),
                  st.floats(allow_nan=True, allow_infinity=True), st.none())


def _check(call):
    try:
        audio = call()
    except AudioError:
        return
    assert audio.dtype == np.float32 and audio.ndim == 1 and len(audio) > 0
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0 + 1e-6


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(array=hnp.arrays(DTYPES, SHAPES, elements=None), rate=RATES)
def test_any_array_and_rate_works_or_raises_audio_error(array, rate):
    _check(lambda: load_audio(array, sampling_rate=rate))


@settings(max_examples=150, deadline=None)
@given(data=st.binary(min_size=0, max_size=4096))
def test_any_bytes_work_or_raise_audio_error(data):
    _check(lambda: load_audio(data))


@settings(max_examples=50, deadline=None)
@given(seconds=st.floats(0.0, 2.0), rate=st.sampled_from([1, 100, 8_000, 44_100, 384_000]))
def test_durations_up_to_the_limit(seconds, rate):
    _check(lambda: load_audio(np.sin(np.arange(int(seconds * rate))), sampling_rate=rate))


def test_over_the_duration_limit_is_refused_before_resampling():
    try:
        load_audio(np.zeros(20_000, np.float32), sampling_rate=1)  # 5.6 hours at 1 Hz
    except AudioError as error:
        assert "limit" in str(error)
    else:
        raise AssertionError("expected AudioError")


OPTIONS = st.fixed_dictionaries({}, optional={
    "emotion": st.one_of(st.sampled_from(["happy", "ANGRY", "bored", ""]), st.integers(-1, 9), st.none()),
    "seed": st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3)),
    "fps": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 1000)),
    "frame_batch_size": st.one_of(st.integers(-2, 70), st.floats(0, 10), st.none()),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
@given(array=hnp.arrays(st.sampled_from([np.int16, np.float32, np.float64, np.uint8]),
                        st.one_of(hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=20_000),
                                  st.tuples(st.integers(0, 8000), st.sampled_from([1, 2, 6]))), elements=None),
       rate=st.one_of(st.integers(0, 384_000), st.sampled_from([8_000, 16_000, 48_000])), options=OPTIONS)
def test_any_pipeline_call_works_or_raises_the_package_error(tiny_pipeline, array, rate, options):
    """Random audio and random call options: a video of the right length, or a Speech2VideoError."""
    from speech2video import Speech2VideoError

    assume(rate == 0 or len(array) / rate <= 60)  # a few samples at 1 Hz are an hour of video: too slow for a test
    try:
        video = tiny_pipeline(array, sampling_rate=rate, **options)
    except Speech2VideoError:
        return
    expected = round(len(load_audio(array, sampling_rate=rate)) / 16_000 * video.fps)
    assert video.frames.dtype == np.uint8 and abs(len(video.frames) - expected) <= 1
