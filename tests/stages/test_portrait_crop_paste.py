"""Face crop framing and paste-back: exact round trip, no seam, colour match, even sides, streaming."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dawn_studio.stages.portrait import (
    FaceCrop,
    crop_image,
    feather_mask,
    paste_back,
    plan_crop,
    portrait_tensor,
)


def _photo(height: int = 301, width: int = 403, seed: int = 0) -> np.ndarray:
    """Smooth content with some texture (like a photo), odd sides on purpose."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([120 + 80 * np.sin(x / 37), 100 + 60 * np.cos(y / 23), 90 + 0.2 * (x + y)], axis=-1)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def test_reference_framing_is_the_reference_squash() -> None:
    photo = _photo()
    crop = plan_crop((100, 80, 200, 200), 301, 403, 128, framing="reference")
    assert crop.box == (0, 0, 403, 301)
    expected = np.asarray(Image.fromarray(photo).resize((128, 128), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(crop_image(photo, crop), expected)
    tensor = portrait_tensor(photo, crop)
    assert tensor.shape == (1, 3, 128, 128) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[0].transpose(1, 2, 0) * 255, expected, atol=1e-3)


def test_face_framing_is_square_centred_above_the_box_and_inside_the_photo() -> None:
    crop = plan_crop((900, 700, 1100, 960), 3000, 4000, 256)
    face = (200 + 260) / 2
    assert crop.width == crop.height == round(1.75 * face)
    assert abs(crop.left + crop.width / 2 - 1000) <= 1
    assert abs(crop.top + crop.height / 2 - (830 - 0.075 * face)) <= 1
    near_corner = plan_crop((0, 0, 120, 150), 3000, 4000, 256)
    assert (near_corner.left, near_corner.top) == (0, 0), "moved inside instead of padded"
    close_up = plan_crop((50, 60, 350, 420), 450, 400, 256)
    assert close_up.box == (0, 15, 400, 415), "shrunk to the photo's shorter side, centre kept"
    with pytest.raises(ValueError, match="framing"):
        plan_crop((0, 0, 10, 10), 100, 100, 128, framing="zoom")  # type: ignore[arg-type]


def test_paste_back_of_an_unmodified_native_scale_crop_reproduces_the_photo() -> None:
    photo = _photo()
    crop = FaceCrop(left=120, top=60, width=128, height=128, output_size=128,
                    image_height=301, image_width=403)
    frame = crop_image(photo, crop)
    outputs = list(paste_back(np.stack([frame, frame]), photo, crop, even=False))
    assert len(outputs) == 2
    for out in outputs:
        assert out.shape == photo.shape
        assert np.abs(out.astype(int) - photo).max() <= 1


def test_paste_back_of_a_resampled_crop_shows_no_seam() -> None:
    photo = _photo()
    crop = plan_crop((150, 100, 250, 220), 301, 403, 128)
    assert crop.width > 128, "the crop is downscaled for the generator"
    (out,) = paste_back(crop_image(photo, crop)[None], photo, crop, even=False)
    x0, y0, x1, y1 = crop.box
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(out[outside], photo[outside])
    error = np.abs(out.astype(int) - photo)
    assert error[y0:y1, x0:x1].mean() < 4, "only the resampling blur differs"
    assert error[y0:y0 + 2, x0:x1].max() <= 2, "the top edge blends into the photo"
    assert error[y0:y1, x0:x0 + 2].max() <= 2, "the left edge blends into the photo"


def _border_jump(out: np.ndarray, crop: FaceCrop) -> float:
    """Largest mean step between neighbouring rows/columns across and around the crop's left/top edges."""
    x0, y0, x1, y1 = crop.box
    image = out.astype(float)
    columns = np.abs(np.diff(image[y0 + 5:y1 - 5, x0 - 3:x0 + 40], axis=1)).mean(axis=(0, 2))
    rows = np.abs(np.diff(image[y0 - 3:y0 + 40, x0 + 5:x1 - 5], axis=0)).mean(axis=(1, 2))
    return float(max(columns.max(), rows.max()))


def test_a_changed_face_is_blended_without_a_visible_edge() -> None:
    photo = np.full((300, 400, 3), 100, np.uint8)
    crop = plan_crop((150, 100, 250, 200), 300, 400, 128)
    brighter = np.full((128, 128, 3), 160, np.uint8)
    (hard,) = paste_back(brighter[None], photo, crop, feather=0.0)
    (soft,) = paste_back(brighter[None], photo, crop)
    assert _border_jump(hard, crop) > 50
    assert _border_jump(soft, crop) < 60 / 8, "the 60-level change is spread over the feather band"
    centre = soft[crop.top + crop.height // 2, crop.left + crop.width // 2]
    assert (centre == 160).all(), "the face itself is the generated one"


def test_colour_match_removes_a_global_colour_drift() -> None:
    photo = _photo()
    crop = plan_crop((150, 100, 250, 220), 301, 403, 128)
    frame = crop_image(photo, crop).astype(int)
    drifted = np.clip(frame + np.array([25, -15, 10]), 0, 255).astype(np.uint8)
    (plain,) = paste_back(drifted[None], photo, crop, even=False)
    (matched,) = paste_back(drifted[None], photo, crop, even=False, color_match=True)
    x0, y0, x1, y1 = crop.box
    inner = (slice(y0 + 20, y1 - 20), slice(x0 + 20, x1 - 20))
    drift_plain = np.abs((plain[inner].astype(int) - photo[inner]).mean(axis=(0, 1)))
    drift_matched = np.abs((matched[inner].astype(int) - photo[inner]).mean(axis=(0, 1)))
    assert drift_plain.max() > 9 and drift_matched.max() < 3


def test_even_sides_float_frames_and_small_memory_budget_agree() -> None:
    photo = _photo()
    crop = plan_crop((150, 100, 250, 220), 301, 403, 64)
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    whole = list(paste_back(frames, photo, crop))
    assert len(whole) == 5 and all(f.shape == (300, 402, 3) for f in whole)
    streamed = list(paste_back(iter(list(frames)), photo, crop, memory_budget=1))
    floats = list(paste_back(frames.astype(np.float32) / 255, photo, crop))
    for a, b, c in zip(whole, streamed, floats, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.abs(a.astype(int) - c).max() <= 1


def test_feather_mask_fades_only_inside_the_photo() -> None:
    at_corner = FaceCrop(0, 0, 100, 100, 64, 300, 400)
    mask = feather_mask(at_corner, 0.1)
    assert mask[0, 0] == 1 and mask[0, 50] == 1, "edges on the photo border are not faded"
    assert mask[99, 50] < 0.05 and mask[50, 99] < 0.05
    whole = FaceCrop(0, 0, 400, 300, 64, 300, 400)
    assert (feather_mask(whole) == 1).all()
    with pytest.raises(ValueError):
        feather_mask(at_corner, 0.7)


def test_photo_of_another_size_is_refused() -> None:
    crop = FaceCrop(0, 0, 100, 100, 64, 300, 400)
    with pytest.raises(ValueError, match="planned for"):
        next(paste_back(np.zeros((1, 64, 64, 3), np.uint8), np.zeros((200, 200, 3), np.uint8), crop))
