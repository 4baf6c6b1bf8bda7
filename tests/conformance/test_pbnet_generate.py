"""PBNet against the reference: every ``pbnet_generate`` fixture, and the ``pbnet.*`` key manifests.

All settings (options, class constants, normalisation range, noise, fact, fallback) are read
from each fixture, so fixture sets of other lengths and configurations run unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from support.conformance import (
    assert_entry,
    assert_matches_manifest,
    constructed_names,
    fill_module,
    fixture_params,
    inputs_of,
    load_fixture,
    manifest,
)

from dawn_studio.loading.pbnet_options import config_from_options
from dawn_studio.networks.pbnet import (
    BLINK,
    FALLBACK_BLINK,
    FALLBACK_POSE,
    POSE,
    PBNet,
    generate_pose_blink,
    normalise_pose,
)

MANIFEST = "manifest.pbnet_face.json"
# Constants the reference hard-codes in its classes, as fixture configs name them -> config option.
CLASS_DEFAULT_OPTIONS = {
    "num_heads": "num_heads",
    "pose_latent_dim": "pose_latent_dim",
    "Attention.dim_head": "dim_head",
    "PositionalEncoding.max_len": "pe_max_len",
}


def _options(config: dict, kind: str) -> dict[str, Any]:
    options = dict(config[f"{kind}_opt"])
    for name, option in CLASS_DEFAULT_OPTIONS.items():
        if name in config.get("class_defaults", {}):
            options.setdefault(option, config["class_defaults"][name])
    return options


def _constructed(fixture: dict, kind: str) -> set[str]:
    names = set(constructed_names(fixture, f"pbnet.{kind}"))
    names.update(fixture["config"].get(f"constructed_{kind}", []))
    return names


def _filled_model(fixture: dict, kind: str) -> PBNet:
    model = PBNet(config_from_options(_options(fixture["config"], kind), kind)).eval()
    fill_module(model, _constructed(fixture, kind))
    return model


@pytest.mark.parametrize("path", fixture_params("pbnet_generate"))
def test_pbnet_generate(path) -> None:
    fixture = load_fixture(path)
    inputs = inputs_of(fixture)
    config = fixture["config"]
    pose_range = (
        config.get("min_vals", [-90, -90, -90, 0, 0, 0]),
        config.get("max_vals", [90, 90, 90, 1, 720, 1080]),
    )
    if inputs.get("fallback", False):
        initial_pose, initial_blink = torch.tensor(FALLBACK_POSE), torch.tensor(FALLBACK_BLINK)
    else:
        initial_pose, initial_blink = inputs["init_pose_npy"], inputs["init_eye_bbox_npy"]
    # The port's own normalisation of the raw initial state gives the model inputs the reference used.
    torch.testing.assert_close(
        normalise_pose(initial_pose, pose_range).reshape(1, 1, 6), inputs["init_pose"], rtol=1e-6, atol=1e-7
    )
    torch.testing.assert_close(initial_blink.reshape(-1)[:2].float().reshape(1, 1, 2), inputs["init_blink"])
    audio = inputs["audio"]
    assert int(inputs["durations"].reshape(-1)[0]) == audio.shape[1]

    result = generate_pose_blink(
        _filled_model(fixture, "pose"),
        _filled_model(fixture, "blink"),
        initial_pose,
        initial_blink,
        audio,
        pose_noise=fixture["noise"]["z_pose"],
        blink_noise=fixture["noise"]["z_blink"],
        fact=float(inputs.get("fact", 1.0)),
        pose_range=pose_range,
    )
    assert set(fixture["expected"]) <= {"output_pose", "output_blink", "dri_pose", "dri_blink"}
    for name in fixture["expected"]:
        assert_entry(fixture, name, getattr(result, name))


@pytest.mark.parametrize("kind", ["pose", "blink"])
def test_pbnet_keys_match_manifest(kind: str) -> None:
    published = {"pose": POSE, "blink": BLINK}[kind]
    assert_matches_manifest(PBNet(published), MANIFEST, f"pbnet.{kind}")
    # The reconstructed option set of the published models builds the same network.
    options = manifest(MANIFEST)["pbnet_options"][kind]
    assert config_from_options(options, kind) == published
    assert_matches_manifest(PBNet(config_from_options(options, kind)), MANIFEST, f"pbnet.{kind}")


@pytest.mark.parametrize("kind", ["pose", "blink"])
def test_constructed_entries_match_reference_construction(kind: str) -> None:
    """Entries the fill rule leaves alone (rotary freqs, sinusoid tables) are built like the reference's."""
    entries = manifest(MANIFEST)["sections"][f"pbnet.{kind}"]
    state = PBNet({"pose": POSE, "blink": BLINK}[kind]).state_dict()
    unfilled = [key for key, meta in entries.items() if not meta["filled"]]
    assert unfilled, "the manifest marks the rotary frequencies and sinusoid tables as constructed"
    for key in unfilled:
        if key.endswith("rotary_emb.freqs"):
            torch.testing.assert_close(state[key], torch.tensor([1.0, 0.01]))
        else:
            table = state[key][:, 0]
            assert key.endswith("sequence_pos_encoder.pe")
            torch.testing.assert_close(table[0, 0::2], torch.zeros(table.shape[1] // 2))
            torch.testing.assert_close(table[0, 1::2], torch.ones(table.shape[1] // 2))
            torch.testing.assert_close(table[1, 0], torch.sin(torch.tensor(1.0)))
