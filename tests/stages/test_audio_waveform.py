"""Waveform envelopes (against a brute-force loop) and trimming a selection into a new clip."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from dawn_studio.stages.audio import AudioError, decode_audio
from dawn_studio.stages.audio.trimming import trim_audio_file, trim_samples
from dawn_studio.stages.audio.waveform import WaveformOverview, waveform_envelope


def brute_force(samples: np.ndarray, buckets: int, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    mins, maxs = [], []
    for b in range(buckets):
        lo = start + (b * (end - start)) // buckets
        hi = start + ((b + 1) * (end - start)) // buckets
        lo = min(lo, end - 1)
        part = samples[lo:max(hi, lo + 1)]
        mins.append(part.min())
        maxs.append(part.max())
    return np.array(mins, np.float32), np.array(maxs, np.float32)


@pytest.mark.parametrize(("length", "buckets", "start", "end"), [
    (10_000, 100, 0, None), (10_007, 100, 0, None), (10_000, 37, 123, 9_000), (50, 200, 0, None),
    (1, 5, 0, None), (16_000, 16_000, 0, None),
])
def test_envelope_matches_a_brute_force_loop(length, buckets, start, end):
    samples = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    envelope = waveform_envelope(samples, buckets, start, end)
    mins, maxs = brute_force(samples, buckets, start, length if end is None else end)
    np.testing.assert_array_equal(envelope.mins, mins)
    np.testing.assert_array_equal(envelope.maxs, maxs)
    assert len(envelope) == buckets and envelope.starts[0] == start


def test_overview_envelope_bounds_the_exact_envelope():
    rate = 16_000
    samples = np.random.default_rng(0).standard_normal(rate * 30).astype(np.float32)
    overview = WaveformOverview.from_samples(samples, rate, hop=256)
    assert overview.duration_s == 30.0
    for start_s, end_s, buckets in [(0.0, None, 800), (3.3, 17.9, 500), (10.0, 10.5, 20)]:
        exact = waveform_envelope(samples, buckets, int(round(start_s * rate)),
                                  None if end_s is None else int(round(end_s * rate)))
        coarse = overview.envelope(buckets, start_s, end_s)
        # each coarse bucket covers its exact span rounded out to whole hops
        assert np.all(coarse.mins <= exact.mins) and np.all(coarse.maxs >= exact.maxs)
        np.testing.assert_array_equal(coarse.starts, exact.starts)
    zoomed = overview.envelope(400, 1.0, 1.01, samples=samples)  # 160 samples: finer than a hop
    exact = waveform_envelope(samples, 400, 16_000, 16_160)
    np.testing.assert_array_equal(zoomed.mins, exact.mins)


def test_an_hour_is_summarised_quickly():
    second = np.random.default_rng(0).standard_normal(16_000, dtype=np.float32) * 0.1
    samples = np.tile(second, 3600)
    started = time.perf_counter()
    overview = WaveformOverview.from_samples(samples, 16_000)
    built = time.perf_counter() - started
    started = time.perf_counter()
    overview.envelope(2000, 0.0, None)
    overview.envelope(2000, 1800.0, 1860.0)
    redraw = time.perf_counter() - started
    # generous bounds for a loaded 2-core CI machine; scripts/bench_waveform_envelope.py gives real numbers
    assert built < 5.0 and redraw < 0.5


def test_bad_envelope_requests():
    with pytest.raises(ValueError, match="mono"):
        waveform_envelope(np.zeros((2, 10), np.float32), 4)
    with pytest.raises(ValueError, match="empty sample range"):
        waveform_envelope(np.zeros(10, np.float32), 4, 10, 10)
    with pytest.raises(ValueError, match="empty"):
        WaveformOverview.from_samples(np.zeros(0, np.float32), 16_000)


# ---- trimming ---------------------------------------------------------------------------
def ramp_clip(path, rate: int = 44_100, seconds: float = 3.0, channels: int = 2, subtype: str = "PCM_16"):
    frames = int(rate * seconds)
    ramp = (np.arange(frames) % 20_000 - 10_000).astype(np.float32) / 32768
    data = np.stack([ramp * (c + 1) / channels for c in range(channels)], axis=1)
    sf.write(path, data, rate, subtype=subtype)
    return sf.read(path, dtype="float32", always_2d=True)[0]


def test_trimming_writes_exactly_the_selection_into_a_new_file(tmp_path):
    source = tmp_path / "take.wav"
    original = ramp_clip(source)
    before = source.read_bytes()
    clip = trim_audio_file(source, tmp_path / "take_trimmed.wav", 0.5, 2.25)
    assert source.read_bytes() == before  # nothing overwritten
    trimmed, rate = sf.read(clip.path, dtype="float32", always_2d=True)
    assert rate == 44_100 and clip.channels == 2 and sf.info(str(clip.path)).subtype == "PCM_16"
    np.testing.assert_array_equal(trimmed, original[22_050:99_225])
    assert clip.frames == 99_225 - 22_050 and clip.duration_s == pytest.approx(1.75)
    assert not list(tmp_path.glob(".*partial"))


def test_trimming_a_lossy_file_keeps_float_samples(tmp_path):
    from test_audio_decoding import encode, voiced_signal

    source = tmp_path / "speech.mp3"
    encode(source, "libmp3lame", voiced_signal(48_000)[None])
    clip = trim_audio_file(source, tmp_path / "cut.wav", 0.25, 10.0)  # the end is clamped to the clip
    assert sf.info(str(clip.path)).subtype == "FLOAT"
    whole = decode_audio(source).samples
    cut = decode_audio(clip.path).samples
    np.testing.assert_allclose(cut, whole[4_000:4_000 + len(cut)], atol=2e-3)
    assert len(whole) - 4_000 - 200 <= len(cut) <= len(whole) - 4_000


def test_trimming_refuses_bad_selections_and_overwrites(tmp_path):
    source = tmp_path / "take.wav"
    ramp_clip(source, seconds=1.0)
    with pytest.raises(AudioError, match="already exists"):
        trim_audio_file(source, source, 0.0, 0.5)
    with pytest.raises(AudioError, match="end must come after the start"):
        trim_audio_file(source, tmp_path / "a.wav", 0.6, 0.5)
    with pytest.raises(AudioError, match="shorter than one video frame"):
        trim_audio_file(source, tmp_path / "b.wav", 0.5, 0.52)
    with pytest.raises(AudioError, match="after the end"):
        trim_audio_file(source, tmp_path / "c.wav", 5.0, 6.0)
    with pytest.raises(AudioError, match=r"\.wav name"):
        trim_audio_file(source, tmp_path / "d.mp3", 0.0, 0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_trim_samples_clamps_to_the_signal():
    samples = np.arange(16_000, dtype=np.float32)
    np.testing.assert_array_equal(trim_samples(samples, 16_000, 0.5, 2.0), samples[8_000:])
    with pytest.raises(AudioError):
        trim_samples(samples, 16_000, 1.5, 2.0)
