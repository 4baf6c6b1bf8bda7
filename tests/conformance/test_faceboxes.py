"""FaceBoxes detection against the reference fixtures (real ``FaceBoxesProd.pth`` weights)."""

from __future__ import annotations

import functools

import pytest
import torch
from support.conformance import assert_entry, assert_matches_manifest, fixture_params, inputs_of, load_fixture
from support.paths import tddfa_model_dir

from dawn_studio.loading.faceboxes import load_faceboxes
from dawn_studio.networks.faceboxes import DetectionThresholds, FaceBoxesNet
from dawn_studio.networks.faceboxes.boxes import MIN_SIZES, STEPS, VARIANCES
from dawn_studio.stages.portrait.detection import MAX_HEIGHT, MAX_WIDTH, MEAN_BGR, detect_faces


@functools.lru_cache(maxsize=1)
def _detector() -> FaceBoxesNet:
    return load_faceboxes(tddfa_model_dir() / "FaceBoxesProd.pth")


def _thresholds(config: dict) -> DetectionThresholds:
    """The fixture's detector settings; constants the port hard-codes must equal the fixture's."""
    assert tuple(config["mean_bgr"]) == MEAN_BGR
    assert tuple(config["variance"]) == VARIANCES
    assert [tuple(s) for s in config["min_sizes"]] == list(MIN_SIZES)
    assert tuple(config["steps"]) == STEPS
    assert not config.get("clip", False)
    return DetectionThresholds(
        confidence=config["confidence_threshold"], top_k=config["top_k"], nms_iou=config["nms_threshold"],
        keep_top_k=config["keep_top_k"], visible=config["vis_thres"],
    )


def test_published_detector_keys_match_manifest() -> None:
    assert_matches_manifest(_detector(), "manifest.pbnet_face.json", "faceboxes")


@pytest.mark.parametrize("path", fixture_params("faceboxes_detect"))
def test_faceboxes_detect(path) -> None:
    fixture = load_fixture(path)
    assert fixture["sections"] == ["faceboxes"]
    image = inputs_of(fixture)["image"].numpy()
    config = fixture["config"]
    result = detect_faces(
        _detector(), image, _thresholds(config),
        max_height=config.get("HEIGHT", MAX_HEIGHT), max_width=config.get("WIDTH", MAX_WIDTH),
    )
    expected = fixture["expected"]
    known = {"scale", "scaled_image", "priors", "loc", "conf", "dets", "dets_nms"}
    assert set(expected) <= known, f"entries this test does not know: {set(expected) - known}"

    assert_entry(fixture, "scale", torch.tensor(result.scale, dtype=torch.float64))
    if "scaled_image" in expected:
        assert_entry(fixture, "scaled_image", torch.from_numpy(result.scaled_image))
    assert_entry(fixture, "priors", result.priors)
    assert_entry(fixture, "loc", result.loc)
    assert_entry(fixture, "conf", result.conf)
    assert_entry(fixture, "dets", result.boxes)
    if result.dets_nms.shape == expected["dets_nms"].shape:
        assert_entry(fixture, "dets_nms", result.dets_nms)
    else:
        # Scores within float noise of the 0.05 cut may add or drop a low row; all others must agree.
        margin = fixture["config"]["confidence_threshold"] + 1e-3
        ours, theirs = result.dets_nms, expected["dets_nms"]
        torch.testing.assert_close(
            ours[ours[:, 4] > margin], theirs[theirs[:, 4] > margin], rtol=1e-3, atol=1e-3,
        )
