"""HuBERT features: interpolation, chunk layout, the chunked run against a direct computation,
progress/cancel, caller-chosen dtype, and the model folder round trip in the published format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from transformers import HubertConfig

from dawn_studio.loading.checkpoint import CheckpointError, read_checkpoint
from dawn_studio.progress import Cancelled
from dawn_studio.stages.audio import (
    HUBERT_LARGE_CONFIG,
    TINY_HUBERT_CONFIG,
    AudioError,
    HubertEncoder,
    build_hubert,
    extract_speech_features,
    interpolate_frames,
    load_hubert,
    save_hubert_folder,
)
from dawn_studio.stages.audio.hubert_model import default_feature_extractor, frame_geometry
from dawn_studio.stages.audio.speech_features import (
    REFERENCE_CHUNKING,
    FrameInterpolator,
    chunk_segments,
    hubert_frame_count,
    normalisation_stats,
    normalise,
)

CLIP = REFERENCE_CHUNKING.clip_length


def tiny_encoder(seed: int = 0) -> HubertEncoder:
    torch.manual_seed(seed)
    model = build_hubert(TINY_HUBERT_CONFIG)
    with torch.no_grad():  # non-trivial LayerNorm/bias values, so a wrong key mapping would show
        for tensor in model.state_dict(keep_vars=True).values():
            if tensor.ndim == 1:
                tensor.add_(0.1 * torch.randn_like(tensor))
    return HubertEncoder(model, default_feature_extractor())


def speech(num_samples: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / 16_000
    return (0.3 * np.sin(2 * np.pi * 150 * t) * np.sin(2 * np.pi * 2 * t) + 0.02 * rng.standard_normal(num_samples)
            ).astype(np.float32)


def np_interp_reference(hidden: np.ndarray, frames: int) -> np.ndarray:
    positions = np.linspace(0, hidden.shape[0] - 1, frames)
    grid = np.arange(hidden.shape[0])
    return np.stack([np.interp(positions, grid, hidden[:, d]) for d in range(hidden.shape[1])], axis=1)


@pytest.mark.parametrize(("frames_in", "frames_out"), [(2, 1), (2, 2), (10, 5), (1050, 525), (9, 17), (100, 100),
                                                       (3, 50)])
def test_interpolation_matches_linear_interpolation_with_aligned_corners(frames_in, frames_out):
    hidden = np.random.default_rng(frames_in).standard_normal((frames_in, 6)).astype(np.float32)
    expected = np_interp_reference(hidden, frames_out)
    whole = interpolate_frames(hidden, frames_out)
    assert whole.dtype == np.float32 and whole.shape == (frames_out, 6)
    np.testing.assert_allclose(whole, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(whole[0], hidden[0])
    if frames_out > 1:
        np.testing.assert_allclose(whole[-1], hidden[-1], atol=1e-6)
    streamed = FrameInterpolator(frames_in, frames_out, 6)
    cuts = np.sort(np.random.default_rng(1).integers(0, frames_in, 4))
    for block in np.split(hidden, cuts):
        streamed.push(block)
    np.testing.assert_array_equal(streamed.finish(), whole)


def test_interpolation_of_a_single_frame_repeats_it():
    hidden = np.arange(4, dtype=np.float32)[None]
    np.testing.assert_array_equal(interpolate_frames(hidden, 3), np.repeat(hidden, 3, axis=0))


def test_missing_frames_are_zero_padded_and_extra_frames_dropped():
    short = FrameInterpolator(4, 4, 2)
    short.push(np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(short.finish()[:, 0], [1, 1, 1, 0])
    long = FrameInterpolator(3, 3, 1)
    long.push(np.arange(5, dtype=np.float32)[:, None])
    np.testing.assert_array_equal(long.finish()[:, 0], [0, 1, 2])


@pytest.mark.parametrize("extra", [0, 1, 79, 80, 81, 399, 400, 401, 719, 720, 12_345])
@pytest.mark.parametrize("full_chunks", [0, 1, 3])
def test_chunk_layout_gives_the_expected_frame_count(full_chunks, extra):
    count = full_chunks * CLIP + extra
    if count < 400:
        assert chunk_segments(count) == []
        return
    segments = chunk_segments(count)
    produced = [(end - start - 400) // 320 + 1 for start, end in segments]  # the conv front end's output
    assert all(start == i * CLIP for i, (start, _) in enumerate(segments))
    assert all(end - start == CLIP + 80 for start, end in segments[: max(full_chunks - 1, 0)])
    assert abs(sum(produced) - hubert_frame_count(count)) <= 1
    assert hubert_frame_count(count) == (count - 80) // 320


def direct_features(encoder: HubertEncoder, samples: np.ndarray) -> np.ndarray:
    """The reference's steps written out plainly: normalise whole clip, run each chunk, fix length, interpolate."""
    mean, variance = normalisation_stats(samples)
    normalised = normalise(samples, mean, variance)
    with torch.no_grad():
        parts = [encoder.model(torch.from_numpy(normalised[s:e])[None]).last_hidden_state[0].numpy()
                 for s, e in chunk_segments(len(samples))]
    hidden = np.concatenate(parts)
    expected = hubert_frame_count(len(samples))
    hidden = np.concatenate([hidden, np.zeros((max(expected - len(hidden), 0), hidden.shape[1]), np.float32)])
    return np_interp_reference(hidden[:expected], int(len(samples) / 16_000 * 25))


def test_chunked_features_equal_the_direct_computation():
    encoder = tiny_encoder()
    samples = speech(CLIP + 12_000)
    result = extract_speech_features(encoder, samples, keep_hidden=True)
    assert result.segments == ((0, CLIP + 80), (CLIP, CLIP + 12_000))
    assert result.segment_frames == (1000, 37)
    assert result.hidden.shape == (1037, 32) and result.features.shape == (518, 32)
    np.testing.assert_allclose(result.features, direct_features(encoder, samples), rtol=1e-5, atol=1e-5)
    # the chunks really are independent passes: the tail does not see the first chunk
    alone = extract_speech_features(encoder, samples[CLIP:], keep_hidden=True)
    assert not np.allclose(alone.hidden, result.hidden[1000:])  # (normalised with other statistics)


def test_memory_mapped_input_and_float64_model(tmp_path):
    encoder = tiny_encoder()
    samples = speech(40_000)
    np.save(tmp_path / "speech.npy", samples)
    mapped = np.load(tmp_path / "speech.npy", mmap_mode="r")
    in_memory = extract_speech_features(encoder, samples)
    np.testing.assert_array_equal(extract_speech_features(encoder, mapped).features, in_memory.features)
    encoder.to(dtype=torch.float64)
    assert encoder.dtype == torch.float64
    as_double = extract_speech_features(encoder, samples)
    assert as_double.features.dtype == np.float32
    np.testing.assert_allclose(as_double.features, in_memory.features, rtol=1e-4, atol=1e-4)


def test_progress_per_chunk_and_cancel_between_chunks():
    encoder = tiny_encoder()
    samples = speech(2 * CLIP + 1_000)
    calls: list[tuple[int, int]] = []

    def cancel_after_first_chunk() -> bool:
        return len(calls) >= 2  # (0, 3) and (1, 3) reported

    with pytest.raises(Cancelled):
        extract_speech_features(encoder, samples, progress=lambda d, t: calls.append((d, t)),
                                cancel=cancel_after_first_chunk)
    assert calls == [(0, 3), (1, 3)]


def test_unusable_speech_is_refused():
    encoder = tiny_encoder()
    with pytest.raises(AudioError, match="16000 Hz"):
        extract_speech_features(encoder, speech(48_000), sample_rate=48_000)
    with pytest.raises(AudioError, match="mono"):
        extract_speech_features(encoder, np.zeros((2, 16_000), np.float32))
    with pytest.raises(AudioError, match="shorter than one video frame"):
        extract_speech_features(encoder, speech(639))
    silence = extract_speech_features(encoder, np.zeros(16_000, np.float32))  # no division by zero
    assert np.isfinite(silence.features).all()


def test_published_configs_have_the_reference_frame_geometry():
    assert frame_geometry(HubertConfig(**HUBERT_LARGE_CONFIG)) == (400, 320)
    assert frame_geometry(HubertConfig(**TINY_HUBERT_CONFIG)) == (400, 320)
    assert HUBERT_LARGE_CONFIG["hidden_size"] == 1024


def test_model_folder_round_trip_in_the_published_format(tmp_path):
    encoder = tiny_encoder(seed=3)
    folder = save_hubert_folder(encoder.model, tmp_path / "hubert-large-ls960-ft")
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["HubertForCTC"]
    assert json.loads((folder / "preprocessor_config.json").read_text())["do_normalize"] is True
    stored = read_checkpoint(folder / "pytorch_model.bin")
    assert "hubert.encoder.pos_conv_embed.conv.weight_g" in stored
    assert "hubert.encoder.pos_conv_embed.conv.weight_v" in stored
    assert {"lm_head.weight", "lm_head.bias"} <= set(stored)
    assert all(k.startswith(("hubert.", "lm_head.")) for k in stored)

    loaded = load_hubert(folder)
    own = loaded.model.state_dict()
    # B21: the weight-norm tensors really come from the file
    torch.testing.assert_close(own["encoder.pos_conv_embed.conv.parametrizations.weight.original0"],
                               stored["hubert.encoder.pos_conv_embed.conv.weight_g"], rtol=0, atol=0)
    torch.testing.assert_close(own["encoder.pos_conv_embed.conv.parametrizations.weight.original1"],
                               stored["hubert.encoder.pos_conv_embed.conv.weight_v"], rtol=0, atol=0)
    samples = speech(20_000)
    np.testing.assert_array_equal(extract_speech_features(loaded, samples).features,
                                  extract_speech_features(encoder, samples).features)

    (folder / "pytorch_model.bin").unlink()
    save_file(stored, str(folder / "model.safetensors"))
    from_safetensors = load_hubert(folder)
    np.testing.assert_array_equal(extract_speech_features(from_safetensors, samples).features,
                                  extract_speech_features(encoder, samples).features)


def test_incomplete_model_folders_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="folder not found"):
        load_hubert(tmp_path / "missing")
    folder = save_hubert_folder(tiny_encoder().model, tmp_path / "model")
    stored = read_checkpoint(folder / "pytorch_model.bin")
    del stored["hubert.encoder.layer_norm.weight"]
    torch.save(stored, folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="encoder.layer_norm.weight"):
        load_hubert(folder)
    (folder / "pytorch_model.bin").unlink()
    with pytest.raises(CheckpointError, match="No HuBERT weights"):
        load_hubert(folder)
    (folder / "preprocessor_config.json").unlink()
    with pytest.raises(CheckpointError, match="preprocessor_config.json"):
        load_hubert(folder)


@pytest.mark.parametrize("extra", [0, 79, 399, 400])
def test_exact_chunk_boundaries_and_short_tails(extra):
    encoder = tiny_encoder(seed=1)
    samples = speech(CLIP + extra, seed=extra)
    result = extract_speech_features(encoder, samples)
    assert result.hidden_frames == (CLIP + extra - 80) // 320
    assert len(result.segments) == (2 if extra >= 400 else 1)
    np.testing.assert_allclose(result.features, direct_features(encoder, samples), rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_features_match_the_cpu():
    encoder = tiny_encoder()
    samples = speech(CLIP + 5_000)
    on_cpu = extract_speech_features(encoder, samples).features
    encoder.to("cuda")
    on_gpu = extract_speech_features(encoder, samples)
    assert on_gpu.features.dtype == np.float32
    np.testing.assert_allclose(on_gpu.features, on_cpu, rtol=1e-3, atol=1e-3)
    encoder.to(dtype=torch.float16)
    half = extract_speech_features(encoder, samples).features
    assert np.isfinite(half).all() and np.abs(half - on_cpu).max() < 0.1


def test_five_minutes_from_file_to_features(tmp_path):
    """No length cap anywhere: a 5-minute file goes through decoding and all 15 chunks."""
    import soundfile as sf

    from dawn_studio.stages.audio import load_speech

    path = tmp_path / "five_minutes.wav"
    sf.write(path, np.tile(speech(16_000 * 20), 15), 16_000, subtype="PCM_16")
    loaded = load_speech(path)
    assert loaded.audio.num_samples == 16_000 * 300 and loaded.warnings == ()
    steps: list[tuple[int, int]] = []
    result = extract_speech_features(tiny_encoder(), loaded.audio.samples, keep_hidden=True,
                                     progress=lambda d, t: steps.append((d, t)))
    assert len(result.segments) == 15 and steps[-1] == (15, 15)
    assert result.segment_frames == (1000,) * 14 + (999,)
    assert result.features.shape == (7500, 32) and result.hidden.shape == (14999, 32)
    np.testing.assert_array_equal(result.features, interpolate_frames(result.hidden, 7500))
