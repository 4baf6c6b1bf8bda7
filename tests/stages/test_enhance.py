"""Face enhancement stage: alignment geometry, temporal smoothing, tracking, and a paste-back that
leaves everything outside the face mask untouched (checked numerically with restorer doubles)."""

import math

import numpy as np
import pytest
import torch
from support.paths import sample_portrait, tddfa_model_dir

from dawn_studio.progress import Cancelled, CancelToken
from dawn_studio.stages.enhance import (
    FFHQ_TEMPLATE_512,
    alignment_transforms,
    enhance_frames,
    face_mask,
    five_points,
    paste_transform,
    smooth_transforms,
    track_landmarks,
    upscale,
    with_strength,
)


def similarity(scale: float, degrees: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * math.cos(math.radians(degrees)), scale * math.sin(math.radians(degrees))
    return np.array([[c, -s, tx], [s, c, ty]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def frame_transform(size: int = 128) -> np.ndarray:
    """Frame → aligned transform of a face about as large as in a generated face crop."""
    frame_points = apply(similarity(0.23 * size / 128, 4.0, 34.0 * size / 128, 20.0 * size / 128), FFHQ_TEMPLATE_512)
    return alignment_transforms(frame_points[None])[0]


def textured_frames(count: int, size: int = 128, seed: int = 0) -> np.ndarray:
    """Smooth but textured frames (sines of about 12 px period): a misregistration of a pixel shows."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    frames = []
    for _ in range(count):
        phase = rng.uniform(0, 6.28, 3)
        channels = [127 + 100 * np.sin(x / 2.0 + phase[c]) * np.cos(y / 2.3 + phase[c]) for c in range(3)]
        frames.append(np.stack(channels, -1))
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def test_five_points_follow_the_68_point_layout():
    landmarks = np.zeros((68, 2), np.float32)
    landmarks[36:42] = [10, 20]
    landmarks[36] = [4, 20]  # the eye centre is the mean of its six points
    landmarks[42:48] = [50, 21]
    landmarks[30] = [30, 40]
    landmarks[48], landmarks[54] = [15, 60], [45, 61]
    points = five_points(landmarks)
    np.testing.assert_allclose(points, [[9, 20], [50, 21], [30, 40], [15, 60], [45, 61]])


def test_alignment_maps_the_five_points_onto_the_template():
    truth = similarity(4.2, -7.0, 12.0, -30.0)  # frame → aligned
    frame_points = apply(np.linalg.inv(np.vstack([truth, [0, 0, 1]]))[:2], FFHQ_TEMPLATE_512)
    estimated = alignment_transforms(frame_points[None])[0]
    np.testing.assert_allclose(estimated, truth, atol=1e-3)


def test_smoothing_removes_jitter_but_keeps_steady_motion():
    frames = 60
    steady = np.stack([similarity(4.0 + 0.01 * t, 0.2 * t, 10.0 + 1.5 * t, -3.0 + 0.5 * t) for t in range(frames)])
    noise = np.random.default_rng(1).normal(0, 0.5, (frames, 2, 3)) * np.array([[0.003, 0.003, 1.0]] * 2)
    jittery = steady + noise
    smoothed = smooth_transforms(jittery, sigma=2.0)
    corners = np.array([[40.0, 40.0], [90.0, 90.0]])

    def jitter(transforms):  # frame-to-frame change of the aligned points, minus the steady motion's
        moved = np.stack([apply(t, corners) for t in transforms])
        return np.abs(np.diff(moved, 2, axis=0)).mean()

    assert jitter(smoothed) < 0.25 * jitter(jittery)
    # a steady (linear) motion is kept as it is, away from the clip's ends
    np.testing.assert_allclose(smooth_transforms(steady, 2.0)[8:-8], steady[8:-8], atol=2e-3)
    np.testing.assert_array_equal(smooth_transforms(jittery, 0.0), jittery)


@pytest.mark.parametrize("size", [128, 256])
def test_pixels_outside_the_face_mask_are_unchanged(size):
    frames = textured_frames(3, size)
    transforms = np.repeat(frame_transform(size)[None], 3, axis=0)

    def white(x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)

    restored = enhance_frames(frames, transforms, white, out_size=512, batch_size=2)
    mask = face_mask(paste_transform(transforms[0], size, 512), 512)
    outside, inside = mask == 0, mask == 1
    assert outside.mean() > 0.3 and inside.mean() > 0.1  # a face-sized mask, neither empty nor everything
    half = with_strength(frames, restored, 0.5)
    for frame, full, mixed in zip(frames, restored, half, strict=True):
        base = upscale(frame, 512)
        np.testing.assert_array_equal(full[outside], base[outside])
        np.testing.assert_array_equal(mixed[outside], base[outside])
        assert (full[inside] == 255).all()
        np.testing.assert_allclose(mixed[inside], (base[inside].astype(float) + 255) / 2, atol=1.0)
    np.testing.assert_array_equal(with_strength(frames, restored, 0.0)[0], upscale(frames[0], 512))
    assert with_strength(frames, restored, 1.0) is restored


def test_an_identity_restorer_gives_back_the_frame_in_register():
    """Warped to the template and back: a face shifted by even half a pixel would differ by far more."""
    frames = textured_frames(2, 128)
    transforms = np.repeat(frame_transform(128)[None], 2, axis=0)
    restored = enhance_frames(frames, transforms, lambda x: x, out_size=512)
    mask = face_mask(paste_transform(transforms[0], 128, 512), 512) == 1
    for frame, full in zip(frames, restored, strict=True):
        error = np.abs(full.astype(float) - upscale(frame, 512).astype(float))[mask]
        assert error.mean() < 2.0, error.mean()  # 0.2 measured; 1.5 px off in the 512² frame gives 10


def test_the_soft_mask_covers_the_face_and_fades_out():
    mask = face_mask(paste_transform(frame_transform(128), 128, 512), 512)
    inverse = paste_transform(frame_transform(128), 128, 512)
    for x, y in apply(inverse, FFHQ_TEMPLATE_512):  # eyes, nose and mouth are fully restored
        assert mask[int(round(y)), int(round(x))] == 1.0
    assert 0.02 < ((mask > 0) & (mask < 1)).mean() < 0.3  # a soft band (about a tenth of the face wide)
    assert mask[0, 0] == 0  # top left lies outside the aligned square (bottom right, at the chin, inside)


def test_progress_and_cancel_after_each_batch():
    frames = textured_frames(5, 128)
    transforms = np.repeat(frame_transform(128)[None], 5, axis=0)
    calls, reports, token = [], [], CancelToken()

    def restorer(x):
        calls.append(x.shape[0])
        return x

    enhance_frames(frames, transforms, restorer, batch_size=2, progress=lambda d, t: reports.append((d, t)))
    assert calls == [2, 2, 1] and reports == [(0, 5), (2, 5), (4, 5), (5, 5)]
    calls.clear()

    def cancel_after_first(done, total):
        if done:
            token.cancel()

    with pytest.raises(Cancelled):
        enhance_frames(frames, transforms, restorer, batch_size=2, progress=cancel_after_first, cancel=token)
    assert calls == [2]


def test_strength_out_of_range_is_refused():
    frames = textured_frames(1, 128)
    with pytest.raises(ValueError, match="strength"):
        with_strength(frames, upscale(frames[0], 512)[None], 1.5)


def test_tracking_follows_a_moving_face():
    """The portrait's face moved by known shifts, frame by frame: the tracked 5 points move with it."""
    import cv2

    from dawn_studio.stages.enhance import box_in_frame
    from dawn_studio.stages.portrait import analyse_portrait, crop_image, load_portrait, load_portrait_models

    models = load_portrait_models(tddfa_model_dir())
    portrait = load_portrait(sample_portrait())
    face = analyse_portrait(portrait, models, output_size=256).face(0)
    still = crop_image(portrait.rgb, face.crop)
    shifts = [(3.0 * t, -2.0 * t) for t in range(12)]  # 36 px right, 24 up by the last frame
    frames = np.stack([cv2.warpAffine(still, np.array([[1, 0, dx], [0, 1, dy]], np.float64), (256, 256),
                                      borderMode=cv2.BORDER_REFLECT) for dx, dy in shifts])
    start = box_in_frame(face.box, face.crop.box, 256)
    points = five_points(track_landmarks(models, frames, start, batch_size=4))
    moved = (points - points[:1]).mean(axis=1)
    np.testing.assert_allclose(moved, np.array(shifts), atol=2.0)


def test_a_lost_track_returns_to_the_portraits_face():
    """A region that grew, shrank or wandered off (frames showing no face) is replaced by the portrait's own,
    so one bad frame cannot lose the face for the rest of the clip; a region near home is kept."""
    from dawn_studio.stages.enhance import plausible_region

    home = np.array([30, 30, 90, 90], np.float32)
    near = np.array([36, 27, 98, 89], np.float32)
    np.testing.assert_array_equal(plausible_region(near, home), near)
    for lost in ([0, 0, 128, 128], [50, 50, 80, 80], [70, 30, 130, 90], [np.nan, 30, 90, 90]):
        np.testing.assert_array_equal(plausible_region(np.array(lost, np.float32), home), home)
