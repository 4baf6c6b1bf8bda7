"""3DMM parameters and head pose per detected face, as 3DDFA_V2's ``TDDFA`` (``crop_policy='box'``).

Each box becomes a square region (1.58x the box, shifted down by 0.14 of its size), cut out of the
original photo with zero padding, resized to 120x120 and regressed to 62 parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ...networks.tddfa import landmarks_from_head, normalise_crops, poses_from_params
from .models import PortraitModels

CROP_SIZE = 120


@dataclass(frozen=True, eq=False)
class Regression:
    """Per face (same order as the boxes): ROI, network crop, raw and de-normalised parameters, pose."""

    roi_boxes: np.ndarray  # (M, 4) float32 [sx, sy, ex, ey]
    crops: np.ndarray  # (M, 120, 120, 3) uint8 BGR
    params_raw: torch.Tensor  # (M, 62) float32
    params: torch.Tensor  # (M, 62) float32
    poses: torch.Tensor  # (M, 7) float64 [yaw°, pitch°, roll°, s, tx, ty, tz]
    landmarks_2d: torch.Tensor | None = None  # (M, 68, 2) image pixels from the landmark head, if loaded


def roi_from_box(box: np.ndarray) -> np.ndarray:
    """The reference's ``parse_roi_box_from_bbox`` in float32 arithmetic: ``[sx, sy, ex, ey]``."""
    left, top, right, bottom = (np.float32(v) for v in box[:4])
    old_size = (right - left + bottom - top) / np.float32(2)
    centre_x = right - (right - left) / np.float32(2)
    centre_y = bottom - (bottom - top) / np.float32(2) + old_size * np.float32(0.14)
    size = int(old_size * np.float32(1.58))
    sx = centre_x - np.float32(size / 2)
    sy = centre_y - np.float32(size / 2)
    return np.array([sx, sy, sx + np.float32(size), sy + np.float32(size)], dtype=np.float32)


def crop_with_padding(image: np.ndarray, roi: np.ndarray) -> np.ndarray:
    """Cut ``roi`` (rounded half-to-even) out of ``image``; parts outside the image are black."""
    height, width = image.shape[:2]
    sx, sy, ex, ey = (int(round(float(v))) for v in roi)
    out = np.zeros((ey - sy, ex - sx) + image.shape[2:], dtype=image.dtype)
    x0, y0, x1, y1 = max(sx, 0), max(sy, 0), min(ex, width), min(ey, height)
    if x1 > x0 and y1 > y0:
        out[y0 - sy:y1 - sy, x0 - sx:x1 - sx] = image[y0:y1, x0:x1]
    return out


def face_crops(image: np.ndarray, boxes: np.ndarray, *, rgb: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """ROI boxes ``(M, 4)`` and 120x120 BGR crops ``(M, 120, 120, 3)`` for detector boxes ``(M, >=4)``.

    ``image`` is BGR, or RGB with ``rgb=True`` (reordered per crop, never as a whole photo).
    """
    rois = np.stack([roi_from_box(b) for b in boxes]) if len(boxes) else np.zeros((0, 4), np.float32)
    order = slice(None, None, -1) if rgb else slice(None)
    size = (CROP_SIZE, CROP_SIZE)
    crops = [
        cv2.resize(crop_with_padding(image, roi), size, interpolation=cv2.INTER_LINEAR)[..., order]
        for roi in rois
    ]
    stacked = np.stack(crops) if crops else np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    return rois, stacked


@torch.no_grad()
def regress_faces(
    models: PortraitModels, image: np.ndarray, boxes: np.ndarray, *, rgb: bool = False,
) -> Regression:
    """Parameters and poses of every box (one batched network call); ``image`` BGR unless ``rgb``."""
    rois, crops = face_crops(image, boxes, rgb=rgb)
    return regress_crops(models, crops, rois)


@torch.no_grad()
def regress_crops(models: PortraitModels, crops: np.ndarray, rois: np.ndarray) -> Regression:
    """The network half of :func:`regress_faces`: 120x120 BGR ``crops`` cut at ``rois`` (from one
    photo or, when tracking a face through a video, from one frame each) in one batched call."""
    crops = np.ascontiguousarray(crops)
    if len(crops) == 0:
        raw = torch.zeros(0, models.regressor.config.num_params)
        params = models.stats.denormalise(raw)
        return Regression(rois, crops, raw, params, poses_from_params(params))
    features = models.regressor.features(normalise_crops(torch.from_numpy(crops).to(models.device)))
    raw = models.regressor.fc(features).cpu()
    params = models.stats.denormalise(raw)
    landmarks = None
    if models.landmark_head is not None:
        landmarks = landmarks_from_head(models.landmark_head(features).cpu(), torch.from_numpy(rois))
    return Regression(rois, crops, raw, params, poses_from_params(params), landmarks)
