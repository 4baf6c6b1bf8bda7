"""Decoding every common input format to 16-kHz mono, the reference-compatible mode, and the checks
that turn bad inputs into clear errors or warnings.

The inputs are made here with PyAV's encoders from a speech-like signal (a gliding voiced
source with 29 harmonics, all below 4.7 kHz) that can be evaluated exactly at any rate, so the
16-kHz truth is the same formula sampled at 16 kHz.
"""

from __future__ import annotations

import wave

import av
import numpy as np
import pytest
import soundfile as sf
from support.paths import sample_speech

from dawn_studio.progress import Cancelled, CancelToken
from dawn_studio.stages.audio import (
    REFERENCE_DECODING,
    AudioError,
    DecodeOptions,
    check_speech,
    decode_audio,
    load_speech,
    probe_audio,
)
from dawn_studio.stages.audio.decoding import frame_to_float

SOURCE_RATE = 48_000
DURATION_S = 2.0
RIGHT_GAIN = 0.5  # the right channel is the left at half level, so mix and channel 0 differ


def voiced_signal(rate: int, duration_s: float = DURATION_S) -> np.ndarray:
    """Speech-like: f0 gliding 120–160 Hz, 1/k harmonic roll-off, syllable-rate amplitude envelope."""
    t = np.arange(int(round(rate * duration_s))) / rate
    phase = 2 * np.pi * (140.0 * t - 20.0 / (2 * np.pi * 1.5) * np.cos(2 * np.pi * 1.5 * t))
    source = sum((0.3 / k) * np.sin(k * phase) for k in range(1, 30))
    return (0.6 * source * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) ** 2).astype(np.float32)


def encode(path, codec: str, signal: np.ndarray, rate: int = SOURCE_RATE, *, video: bool = False,
           options: dict | None = None) -> None:
    """Write ``signal`` ((channels, n) float32) with a PyAV encoder, optionally beside a video track."""
    layout = "stereo" if signal.shape[0] == 2 else "mono"
    with av.open(str(path), "w") as out:
        if video:
            picture = out.add_stream("libx264", rate=25)
            picture.width = picture.height = 64
            picture.pix_fmt = "yuv420p"
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if options:
            stream.options = options
        step = 1024
        for start in range(0, signal.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(signal[:, start:start + step]),
                                               format="fltp", layout=layout)
            frame.sample_rate, frame.pts = rate, start
            out.mux(stream.encode(frame))
            if video and start % (rate // 25) < step:
                image = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 90, np.uint8), format="rgb24")
                image.pts = start // (rate // 25)
                out.mux(picture.encode(image))
        out.mux(stream.encode(None))
        if video:
            out.mux(picture.encode(None))


def stereo(rate: int = SOURCE_RATE) -> np.ndarray:
    left = voiced_signal(rate)
    return np.stack([left, RIGHT_GAIN * left])


def snr_db(reference: np.ndarray, actual: np.ndarray) -> float:
    error = actual - reference
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / max(np.sum(error ** 2.0), 1e-20)))


FORMATS = [
    # (file name, encoder, encoder options, minimum SNR in dB against the exact 16-kHz signal)
    ("speech.wav", "pcm_s16le", None, 60.0),
    ("speech.flac", "flac", None, 60.0),
    ("speech.mp3", "libmp3lame", None, 18.0),
    ("speech.m4a", "aac", None, 18.0),
    ("speech.ogg", "libopus", None, 18.0),
    ("speech.opus", "libopus", None, 18.0),
    ("speech.oga", "vorbis", {"strict": "experimental"}, 18.0),
    ("speech.mp4", "aac", None, 18.0),  # a video file: its sound track is used
]


@pytest.mark.parametrize(("name", "codec", "options", "min_snr"), FORMATS, ids=[f[0] for f in FORMATS])
def test_every_common_format_decodes_to_the_same_16k_signal(tmp_path, name, codec, options, min_snr):
    path = tmp_path / name
    encode(path, codec, stereo(), video=name.endswith(".mp4"), options=options)
    truth = (1 + RIGHT_GAIN) / 2 * voiced_signal(16_000)  # the default mixes the two channels
    decoded = decode_audio(path)
    assert decoded.sample_rate == 16_000
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    # Lossy codecs pad the last frame; never more than one codec frame of extra sound.
    assert len(truth) <= decoded.num_samples <= len(truth) + 1024
    assert decoded.info.channels == 2 and decoded.info.has_video == name.endswith(".mp4")
    body = slice(800, len(truth) - 800)  # away from the codecs' start-up and end transients
    assert snr_db(truth[body], decoded.samples[body]) >= min_snr
    # Aligned to the sample: the SNR is far worse one sample off.
    assert snr_db(truth[body], decoded.samples[801:len(truth) - 799]) < min_snr


def test_reference_mode_keeps_channel_0_quantised_to_16_bit(tmp_path):
    path = tmp_path / "stereo.flac"
    encode(path, "flac", stereo())
    studio = decode_audio(path)
    reference = decode_audio(path, REFERENCE_DECODING)
    # int16 / 32768, as soundfile reads the reference's 16-bit temporary WAV
    assert np.array_equal(reference.samples * 32768, np.round(reference.samples * 32768))
    body = slice(800, -800)
    truth = voiced_signal(16_000)
    assert snr_db(truth[body], reference.samples[body]) > 50
    assert snr_db((1 + RIGHT_GAIN) / 2 * truth[body], studio.samples[body]) > 60
    first_only = decode_audio(path, DecodeOptions(channels="first"))
    assert snr_db(reference.samples[body], first_only.samples[body]) > 50


def test_sample_speech_at_16k_passes_through_unchanged():
    path = sample_speech()
    raw, rate = sf.read(path, dtype="int16")
    assert rate == 16_000
    decoded = decode_audio(path, REFERENCE_DECODING)
    assert decoded.num_samples == 336_225
    np.testing.assert_array_equal(decoded.samples, raw.astype(np.float32) / 32768)
    np.testing.assert_array_equal(decode_audio(path).samples, decoded.samples)
    assert probe_audio(path).duration_s == pytest.approx(21.014, abs=1e-3)


def test_resampling_other_rates_and_mono(tmp_path):
    for rate in (11_025, 22_050, 44_100):  # all above twice the highest harmonic (4.6 kHz)
        path = tmp_path / f"mono_{rate}.wav"
        encode(path, "pcm_s16le", voiced_signal(rate)[None], rate=rate)
        decoded = decode_audio(path)
        truth = voiced_signal(16_000)
        assert abs(decoded.num_samples - len(truth)) <= 1
        body = slice(800, len(truth) - 800)
        assert snr_db(truth[body], decoded.samples[body]) > 40, rate


def test_progress_and_cancel(tmp_path):
    path = tmp_path / "long.flac"
    encode(path, "flac", np.tile(voiced_signal(SOURCE_RATE)[None], (1, 5)))  # 10 s
    steps: list[tuple[int, int]] = []
    decode_audio(path, progress=lambda done, total: steps.append((done, total)))
    assert steps[-1] == (10, 10) and len(steps) > 2
    assert all(a[0] <= b[0] for a, b in zip(steps, steps[1:], strict=False))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        decode_audio(path, cancel=token)


def test_frame_to_float_handles_every_sample_format():
    values = np.array([[-1.0, -0.5, 0.0, 0.5]], dtype=np.float32)
    for fmt in ("s16", "s16p", "s32", "s32p", "flt", "fltp", "dbl", "dblp", "u8", "u8p"):
        frame = av.AudioFrame.from_ndarray(values, format="fltp", layout="mono")
        frame.sample_rate = 16_000
        converted = av.AudioResampler(format=fmt, layout="mono", rate=16_000).resample(frame)[0]
        np.testing.assert_allclose(frame_to_float(converted), values, atol=1 / 127)


# ---- bad inputs ------------------------------------------------------------------------
def write_wav(path, samples: np.ndarray, rate: int = 16_000) -> None:
    sf.write(path, samples, rate, subtype="PCM_16")


def test_missing_empty_and_corrupt_files_give_clear_errors(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        decode_audio(tmp_path / "nothing.wav")
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        decode_audio(empty)
    garbage = tmp_path / "garbage.m4a"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="not a readable audio or video file"):
        decode_audio(garbage)
    with pytest.raises(AudioError, match="Not a file"):
        decode_audio(tmp_path)


def test_a_video_without_sound_is_refused(tmp_path):
    path = tmp_path / "silent_film.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for index in range(10):
            image = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            image.pts = index
            out.mux(stream.encode(image))
        out.mux(stream.encode(None))
    with pytest.raises(AudioError, match="video has no sound track"):
        decode_audio(path)


def test_zero_length_audio_is_refused(tmp_path):
    path = tmp_path / "zero.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
    with pytest.raises(AudioError, match="length 0"):
        decode_audio(path)


def test_shorter_than_one_video_frame_is_refused(tmp_path):
    path = tmp_path / "blip.wav"
    write_wav(path, 0.1 * np.ones(639, np.float32))
    with pytest.raises(AudioError, match="shorter than one video frame"):
        load_speech(path)
    write_wav(path.with_name("frame.wav"), 0.1 * np.sin(np.arange(640, dtype=np.float32)))
    assert load_speech(path.with_name("frame.wav")).audio.num_samples == 640


def test_silence_and_clipping_are_warnings(tmp_path):
    silent = tmp_path / "silent.wav"
    write_wav(silent, np.zeros(16_000, np.float32))
    result = load_speech(silent)
    assert [w.code for w in result.warnings] == ["silent"]
    assert "silent" in result.warnings[0].message

    clipped = tmp_path / "clipped.flac"
    loud = np.clip(4 * voiced_signal(SOURCE_RATE), -1, 1)[None]
    encode(clipped, "flac", loud)
    codes = [w.code for w in load_speech(clipped).warnings]
    assert codes == ["clipping"]

    clean = tmp_path / "clean.flac"
    encode(clean, "flac", voiced_signal(SOURCE_RATE)[None])
    assert load_speech(clean).warnings == ()


def test_length_limit_is_stated_and_can_be_lifted(tmp_path):
    path = tmp_path / "speech.flac"
    encode(path, "flac", voiced_signal(SOURCE_RATE)[None])
    audio = decode_audio(path)
    with pytest.raises(AudioError, match=r"at most 0:01 can be rendered"):
        check_speech(audio, max_duration_s=1.0)
    assert check_speech(audio, max_duration_s=None) == []


def _damage(path, offset_share: float, length: int) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * offset_share)
    data[start:start + length] = np.random.default_rng(1).integers(0, 256, length, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def test_damaged_packets_are_skipped_with_a_warning(tmp_path):
    path = tmp_path / "damaged.mp3"
    encode(path, "libmp3lame", stereo())
    _damage(path, 0.5, 3000)
    result = load_speech(path)
    assert result.audio.stats.damaged_packets > 0
    assert "damaged" in [w.code for w in result.warnings]


def test_lost_pages_are_reported_as_incomplete(tmp_path):
    path = tmp_path / "damaged.opus"
    encode(path, "libopus", stereo())
    _damage(path, 0.5, 3000)
    result = load_speech(path)
    assert result.audio.duration_s < 0.9 * DURATION_S
    assert "incomplete" in [w.code for w in result.warnings]
