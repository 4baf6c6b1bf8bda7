"""HuBERT long-audio chunking, normalisation and 25-fps interpolation against the reference's fixtures.

Every ``hubert_segments`` fixture in the conformance directory is run: a tiny HubertModel built
from the fixture's config and filled by the fill rule, fed the fixture's waveform.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.conformance import (
    assert_entry,
    constructed_names,
    fill_module,
    fixture_params,
    inputs_of,
    load_fixture,
)
from transformers import Wav2Vec2FeatureExtractor

from dawn_studio.stages.audio.hubert_model import HubertEncoder, build_hubert
from dawn_studio.stages.audio.speech_features import (
    ChunkingSpec,
    chunk_segments,
    extract_speech_features,
    hubert_frame_count,
    normalisation_stats,
    normalise,
)
from dawn_studio.stages.audio.validation import video_frame_count

SECTION = "hubert.tiny"


def _encoder(fixture: dict) -> HubertEncoder:
    config = fixture["config"]
    model = build_hubert(config.get("hubert_config", config.get("hubert_config_ctor")))
    if "state_dict_keys" in config:
        assert set(model.state_dict()) == set(config["state_dict_keys"]), "HuBERT keys differ from the reference's"
    fill_module(model, constructed_names(fixture, SECTION))
    return HubertEncoder(model, Wav2Vec2FeatureExtractor(**config["feature_extractor"]))


def _speech(fixture: dict) -> np.ndarray:
    """What soundfile.read gives the reference for PCM_16: int16 / 32768."""
    waveform = inputs_of(fixture)["waveform_int16"].numpy()
    if waveform.ndim == 2:  # (L, C): the reference keeps channel 0
        waveform = waveform[:, 0]
    return waveform.astype(np.float64) / 32768.0


@pytest.mark.parametrize("path", fixture_params("hubert_segments"))
def test_hubert_segments(path):
    fixture = load_fixture(path)
    config = fixture["config"]
    speech = _speech(fixture)
    rate = int(config.get("sample_rate", inputs_of(fixture).get("sample_rate", 16000)))
    fps = int(config.get("fps", 25))
    spec = ChunkingSpec(kernel=int(config.get("kernel", 400)), stride=int(config.get("stride", 320)),
                        clip_length=int(config.get("clip_length", 320_000)))
    expected = fixture["expected"]

    assert_entry(fixture, "segments", torch.tensor(chunk_segments(len(speech), spec), dtype=torch.int64))
    assert_entry(fixture, "expected_T", torch.tensor(hubert_frame_count(len(speech), spec)))
    assert_entry(fixture, "num_frames", torch.tensor(video_frame_count(len(speech), rate, fps)))

    mean, variance = normalisation_stats(speech.astype(np.float32))
    if "input_values" in expected:
        assert_entry(fixture, "input_values", torch.from_numpy(normalise(speech, mean, variance)))
    if "input_mean" in expected:
        assert_entry(fixture, "input_mean", torch.tensor(mean, dtype=torch.float64))
    if "input_var" in expected:
        assert_entry(fixture, "input_var", torch.tensor(variance, dtype=torch.float64))

    steps: list[tuple[int, int]] = []
    result = extract_speech_features(
        _encoder(fixture), speech.astype(np.float32), sample_rate=rate, fps=fps,
        chunking=spec, keep_hidden=True, progress=lambda done, total: steps.append((done, total)),
    )
    assert_entry(fixture, "segment_frames", torch.tensor(result.segment_frames, dtype=torch.int64))
    assert_entry(fixture, "hidden", torch.from_numpy(result.hidden))
    assert_entry(fixture, "features_25fps", torch.from_numpy(result.features))
    segments = len(result.segments)
    assert steps == [(i, segments) for i in range(segments + 1)]
