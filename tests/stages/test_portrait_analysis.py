"""Portrait analysis end to end on the sample portraits and on synthetic edge cases (real 3DDFA weights)."""

from __future__ import annotations

import functools
import pickle

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from support.conformance import fixture_params, load_fixture
from support.paths import sample_portrait, shared_path, tddfa_model_dir

from dawn_studio.stages.portrait import (
    NO_FACE_MESSAGE,
    NoFaceError,
    PortraitError,
    PortraitModels,
    analyse_portrait,
    crop_image,
    load_portrait,
    load_portrait_models,
    paste_back,
    plan_crop,
    read_morphable_model,
)
from dawn_studio.stages.portrait.landmarks import FALLBACK_EYE_RATIO

SAMPLES = [
    "real_female_1.jpeg", "real_female4.jpeg", "real_female5.jpeg", "real_male1.jpeg", "real_male2.jpeg",
    "anime_female2.jpeg",
]


@functools.lru_cache(maxsize=1)
def _models() -> PortraitModels:
    return load_portrait_models(tddfa_model_dir())


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_portraits_reference_framing(name) -> None:
    portrait = load_portrait(sample_portrait(name))
    analysis = analyse_portrait(portrait, _models(), output_size=128, framing="reference")
    assert len(analysis.faces) == 1
    face = analysis.face()
    yaw, pitch, roll, scale, tx, ty, tz = face.pose
    assert max(abs(yaw), abs(pitch), abs(roll)) < 30
    assert 3e-4 < scale < 7e-4 and 40 < tx < 80 and 50 < ty < 90 and -70 < tz < -60
    # No BFM here: the regressor file's 2-D landmark head gives the estimate.
    assert face.estimated and face.landmark_source == "landmark_head"
    assert face.landmarks.shape == (68, 2)
    left, right = face.eye_ratios
    assert 0.15 < left < 0.45 and 0.15 < right < 0.45 and abs(left - right) < 0.08, "open eyes"
    x1, y1, x2, y2 = face.box
    size = ((x2 - x1) + (y2 - y1)) / 2
    x_min, x_max, y_min, y_max, h, w = face.bbox
    assert (h, w) == (portrait.height, portrait.width)
    assert abs(x_min - x1) < 0.15 * size and abs(x_max - x2) < 0.15 * size, "jaw spans the detector box"
    assert abs(y_max - y2) < 0.15 * size, "chin at the box bottom"
    assert y1 < y_min < (y1 + y2) / 2, "brows inside the box"
    assert face.init_eye_bbox().shape == (1, 8) and face.init_pose().shape == (1, 7)
    assert crop_image(portrait.rgb, face.crop).shape == (128, 128, 3)


def test_without_bfm_and_landmark_head_the_detector_box_is_used() -> None:
    base = _models()
    models = PortraitModels(base.detector, base.regressor, base.stats)
    portrait = load_portrait(sample_portrait("real_male1.jpeg"))
    face = analyse_portrait(portrait, models, framing="reference").face()
    assert face.estimated and face.landmark_source == "detector_box" and face.landmarks is None
    assert face.eye_ratios == (FALLBACK_EYE_RATIO, FALLBACK_EYE_RATIO)
    x1, y1, x2, y2 = face.box
    assert face.bbox == (int(x1), int(x2), int(y1), int(y2), portrait.height, portrait.width)
    assert face.pose == analyse_portrait(portrait, base, framing="reference").face().pose


@pytest.mark.parametrize("path", fixture_params("tddfa_pose"))
def test_analysis_of_the_sample_file_gives_the_reference_pose(path) -> None:
    """Decoding + detection + regression from the file reproduce the fixture (when it shows that file)."""
    fixture = load_fixture(path)
    sample = shared_path("samples", fixture["inputs"]["file_name"])
    portrait = load_portrait(sample)
    if not np.array_equal(portrait.bgr(), fixture["inputs"]["image"].numpy()):
        pytest.skip("this fixture's image is a transformed copy of the sample")
    analysis = analyse_portrait(portrait, _models(), framing="reference")
    poses = torch.tensor([face.pose for face in analysis.faces], dtype=torch.float64)
    torch.testing.assert_close(poses, fixture["expected"]["pose_per_box"], rtol=1e-4, atol=1e-3)


def test_photo_without_a_face_gives_the_message_for_the_user() -> None:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:300, 0:400]
    texture = np.stack([x % 256, y % 256, (x * y) % 256], -1).astype(np.uint8) // 2
    rgb = texture + rng.integers(0, 60, (300, 400, 3), dtype=np.uint8)
    from dawn_studio.stages.portrait import Portrait

    with pytest.raises(NoFaceError) as caught:
        analyse_portrait(Portrait(rgb), _models())
    assert str(caught.value) == NO_FACE_MESSAGE
    assert isinstance(caught.value, PortraitError)


def test_group_photo_returns_every_face_ranked_with_its_own_crop() -> None:
    left = load_portrait(sample_portrait("real_male1.jpeg")).rgb
    right = load_portrait(sample_portrait("real_female4.jpeg")).rgb
    from dawn_studio.stages.portrait import Portrait

    portrait = Portrait(np.concatenate([left, right], axis=1))
    analysis = analyse_portrait(portrait, _models(), output_size=128)
    assert len(analysis.faces) == 2
    scores = [face.score for face in analysis.faces]
    assert scores == sorted(scores, reverse=True)
    centres = sorted((face.box[0] + face.box[2]) / 2 for face in analysis.faces)
    assert centres[0] < 450 < centres[1]
    for face in analysis.faces:
        x0, y0, x1, y1 = face.crop.box
        assert face.crop.width == face.crop.height and 0 <= x0 and x1 <= 900 and 0 <= y0 and y1 <= 450
        assert x0 <= face.box[0] and face.box[2] <= x1, "the face is inside its crop"
        bx0, bx1, by0, by1, h, w = face.bbox
        assert (h, w) == (face.crop.height, face.crop.width)
        assert face.landmark_source == "landmark_head"
        assert bx0 == int(face.landmarks[:, 0].min() - x0), "bbox is in the crop's frame"
        assert by1 == int(face.landmarks[:, 1].max() - y0), "bbox is in the crop's frame"
    with pytest.raises(PortraitError, match="2 face"):
        analysis.face(2)


def test_reframing_a_face_equals_analysing_with_that_framing() -> None:
    portrait = load_portrait(sample_portrait("real_female5.jpeg"))
    face = analyse_portrait(portrait, _models(), output_size=256, framing="face").face()
    reference = analyse_portrait(portrait, _models(), output_size=128, framing="reference").face()
    moved = face.reframed(plan_crop(face.box, portrait.height, portrait.width, 128, "reference"))
    assert moved.bbox == reference.bbox and moved.crop == reference.crop
    assert moved.pose == reference.pose and moved.eye_ratios == reference.eye_ratios
    with pytest.raises(ValueError, match="framing"):
        analyse_portrait(portrait, _models(), framing="squash")  # type: ignore[arg-type]


def test_exif_rotated_phone_photo_analyses_like_the_upright_one(tmp_path) -> None:
    upright = load_portrait(sample_portrait("real_female_1.jpeg"))
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright.rgb, 1)))  # camera held sideways
    exif = stored.getexif()
    exif[0x0112] = 6
    path = tmp_path / "phone.png"
    stored.save(path, exif=exif.tobytes())
    rotated = load_portrait(path)
    np.testing.assert_array_equal(rotated.rgb, upright.rgb)
    a = analyse_portrait(rotated, _models()).face()
    b = analyse_portrait(upright, _models()).face()
    assert a.pose == b.pose and a.bbox == b.bbox


def test_8000_px_photo_detects_on_a_small_copy_and_crops_from_the_original(tmp_path) -> None:
    face = load_portrait(sample_portrait("real_female_1.jpeg")).rgb
    big_face = cv2.resize(face, (3000, 3000), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((6000, 8000, 3), 90, np.uint8)
    canvas[2000:5000, 4000:7000] = big_face
    path = tmp_path / "huge.jpg"
    Image.fromarray(canvas).save(path, quality=92)
    del canvas, big_face
    portrait = load_portrait(path)
    assert (portrait.height, portrait.width) == (6000, 8000)
    analysis = analyse_portrait(portrait, _models(), output_size=256)
    found = analysis.face()
    small = analyse_portrait(load_portrait(sample_portrait("real_female_1.jpeg")), _models()).face()
    expected_box = np.array(small.box) * (3000 / 450) + np.array([4000, 2000, 4000, 2000])
    np.testing.assert_allclose(found.box, expected_box, atol=0.04 * 1500)
    assert abs(found.pose[0] - small.pose[0]) < 5 and abs(found.pose[1] - small.pose[1]) < 5
    x0, y0, x1, y1 = found.crop.box
    assert 2000 < found.crop.width < 6000 and x0 >= 0 and y0 >= 0 and x1 <= 8000 and y1 <= 6000
    crop = crop_image(portrait.rgb, found.crop)
    assert crop.shape == (256, 256, 3)
    (photo,) = paste_back(crop[None], portrait.rgb, found.crop, memory_budget=64 * 1024 * 1024)
    assert photo.shape == (6000, 8000, 3)
    assert (photo[:y0] == portrait.rgb[:y0]).all(), "outside the crop the photo is untouched"


def _fake_bfm(path, vertices: int = 300, seed: int = 0) -> dict:
    """A small random face model in the layout of ``bfm_noneck_v3.pkl`` (interleaved xyz rows)."""
    rng = np.random.default_rng(seed)
    landmark_vertices = rng.choice(vertices, 68, replace=False)
    store = {
        "u": (rng.normal(size=(3 * vertices, 1)) * 40).astype(np.float32),
        "w_shp": (rng.normal(size=(3 * vertices, 50)) * 1e3).astype(np.float32),
        "w_exp": (rng.normal(size=(3 * vertices, 12)) * 1e3).astype(np.float32),
        "keypoints": np.stack([3 * landmark_vertices, 3 * landmark_vertices + 1, 3 * landmark_vertices + 2],
                              axis=1).reshape(-1).astype(np.int64),
        "tri": np.zeros((3, 5), np.int32),
    }
    path.write_bytes(pickle.dumps(store, protocol=2))
    return store


def _reference_vertices(store: dict, param: np.ndarray, roi: np.ndarray, dense: bool) -> np.ndarray:
    """3DDFA_V2's recon_vers + similar_transform, written out independently in numpy: (3, n)."""
    keys = store["keypoints"]
    u = store["u"] if dense else store["u"][keys].reshape(-1, 1)
    w_shp = (store["w_shp"] if dense else store["w_shp"][keys])[:, :40]
    w_exp = (store["w_exp"] if dense else store["w_exp"][keys])[:, :10]
    camera = param[:12].reshape(3, -1)
    shape = u + w_shp @ param[12:52].reshape(-1, 1) + w_exp @ param[52:62].reshape(-1, 1)
    pts = camera[:, :3] @ shape.reshape(3, -1, order="F") + camera[:, 3:]
    pts = pts.astype(np.float64)
    pts[0] -= 1
    pts[2] -= 1
    pts[1] = 120 - pts[1]
    sx, sy, ex, ey = roi
    scale_x, scale_y = (ex - sx) / 120, (ey - sy) / 120
    pts[0] = pts[0] * scale_x + sx
    pts[1] = pts[1] * scale_y + sy
    pts[2] *= (scale_x + scale_y) / 2
    pts[2] -= pts[2].min()
    return pts


def _reference_eyes(vertices: np.ndarray) -> tuple[float, float]:
    v = vertices.T
    left = np.linalg.norm(v[43] - v[47]) / np.linalg.norm(v[45] - v[42])
    right = np.linalg.norm(v[37] - v[41]) / np.linalg.norm(v[39] - v[36])
    return float(left), float(right)


@pytest.mark.parametrize("dense", [False, True])
def test_landmarks_eyes_and_bbox_with_a_face_model(tmp_path, dense) -> None:
    store = _fake_bfm(tmp_path / "bfm_noneck_v3.pkl")
    base = _models()
    morphable = read_morphable_model(tmp_path / "bfm_noneck_v3.pkl")
    models = PortraitModels(base.detector, base.regressor, base.stats, morphable)
    portrait = load_portrait(sample_portrait("real_male2.jpeg"))
    face = analyse_portrait(portrait, models, framing="reference", dense_compat=dense).face()
    assert not face.estimated and face.landmark_source == "bfm"
    ref = _reference_vertices(store, face.params.astype(np.float64), np.array(face.roi_box), dense)
    np.testing.assert_allclose(face.eye_ratios, _reference_eyes(ref), rtol=1e-3)
    x = ref[0].astype(np.float32).astype(np.int32)
    y = ref[1].astype(np.float32).astype(np.int32)
    expected = (x.min(), x.max(), y.min(), y.max(), portrait.height, portrait.width)
    assert np.abs(np.array(face.bbox) - np.array(expected)).max() <= 1, (face.bbox, expected)
    if not dense:
        np.testing.assert_allclose(face.landmarks, ref.T, rtol=1e-4, atol=1e-2)

    cropped = analyse_portrait(portrait, models, framing="face", dense_compat=dense).face()
    assert cropped.eye_ratios == face.eye_ratios and cropped.pose == face.pose
    x0, y0 = cropped.crop.left, cropped.crop.top
    x = (ref[0] - x0).astype(np.float32).astype(np.int32)
    y = (ref[1] - y0).astype(np.float32).astype(np.int32)
    expected = (x.min(), x.max(), y.min(), y.max(), cropped.crop.height, cropped.crop.width)
    assert np.abs(np.array(cropped.bbox) - np.array(expected)).max() <= 1, "bbox in the crop's frame"


def test_broken_face_model_file_is_a_clear_error(tmp_path) -> None:
    store = _fake_bfm(tmp_path / "bfm.pkl")
    store["keypoints"] = store["keypoints"][:30]
    (tmp_path / "bfm.pkl").write_bytes(pickle.dumps(store))
    with pytest.raises(PortraitError, match="keypoints"):
        read_morphable_model(tmp_path / "bfm.pkl")
