"""Face restoration of generated frames (GFPGAN), made for video rather than for single photos.

Per frame: 68 landmarks from the portrait stage's own 3DDFA regressor, tracked from frame to frame
(the previous frame's landmarks give the next frame's region, no detector), reduced to 5 points (eye
centres, nose tip, mouth corners), a similarity transform onto the 512² FFHQ template like the
reference (``cv2.estimateAffinePartial2D``, LMEDS), the transforms smoothed over time, the face warped
to 512², restored, warped back with a soft mask and blended over the frame upscaled to
:data:`ENHANCED_SIZE`. Pixels outside the mask are exactly the upscaled frame.

Why the smoothing: landmarks measured independently per frame wobble by a pixel or so; the restorer
turns every such wobble into a different restored face, which shows as shimmer. Smoothing the
transform (a Gaussian over time on its four parameters) costs no accuracy in the result: the same
transform warps the face in and back out, so a slightly off-template face is only restored a little
less ideally, never pasted in the wrong place.

Why 512² output for both the 128² and the 256² model: the aligned face is 512² and the template's
face fills it so that, in a 512² frame of either model, the restored face is pasted back at about
its own scale (eye distance about 126 px in the template, about 115-130 px in a 512² frame of a
face crop); a smaller frame would throw away most of what the restorer adds.

Everything here works on plain arrays; the restorer is any callable mapping ``(B, 3, 512, 512)``
float32 faces in [-1, 1] to restored faces in the same units (the engine passes the GFPGAN network
on its device and precision).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import torch

from ..networks.tddfa import to_image_coordinates
from ..progress import CancelToken, StepCallback, check_cancel, report
from .portrait.models import PortraitModels
from .portrait.regression import CROP_SIZE, crop_with_padding, regress_crops, roi_from_box

#: Side of the aligned face the restorer works on.
FACE_SIZE = 512
#: Side of the enhanced frames (see the module's note).
ENHANCED_SIZE = 512
#: Where the 5 points lie in the 512² aligned face (FFHQ; facexlib's template): left eye centre,
#: right eye centre, nose tip, left mouth corner, right mouth corner (image left / right).
FFHQ_TEMPLATE_512 = np.array([
    [192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
    [201.26117, 371.41043], [313.08905, 371.15118],
], dtype=np.float32)
#: Fill of the aligned face outside the frame: the reference's (135, 133, 132), which is BGR there.
BORDER_RGB = (132, 133, 135)
#: Standard deviation, in frames, of the temporal smoothing of the alignment transforms.
SMOOTHING_SIGMA = 2.0
#: Frames whose landmarks are measured in one regressor call while tracking.
TRACK_BATCH = 32

Restorer = Callable[[torch.Tensor], torch.Tensor]


class EnhanceError(RuntimeError):
    """The faces of the clip cannot be enhanced; the message says why."""


# ---- landmarks --------------------------------------------------------------------------------
def five_points(landmarks: np.ndarray) -> np.ndarray:
    """``(..., 68, >=2)`` landmarks → ``(..., 5, 2)``: eye centres (mean of 36-41 and 42-47), nose tip
    (30), mouth corners (48, 54), in the template's order."""
    points = np.asarray(landmarks, dtype=np.float32)[..., :2]
    return np.stack([
        points[..., 36:42, :].mean(axis=-2), points[..., 42:48, :].mean(axis=-2),
        points[..., 30, :], points[..., 48, :], points[..., 54, :],
    ], axis=-2)


def landmark_regions(landmarks: np.ndarray) -> np.ndarray:
    """``(N, 68, >=2)`` → ``(N, 4)`` float32 regressor regions [sx, sy, ex, ey]: 3DDFA_V2's region for
    tracking a face in a video (the landmarks' extent made square, widened by √2)."""
    points = np.asarray(landmarks, dtype=np.float32)[..., :2]
    low, high = points.min(axis=1), points.max(axis=1)
    centre = (low + high) / 2
    half = np.max(high - low, axis=1, keepdims=True) * math.sqrt(2) / 2
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)


def box_in_frame(box: tuple[float, float, float, float], crop_box: tuple[int, int, int, int],
                 frame_size: int) -> np.ndarray:
    """A box ``(x1, y1, x2, y2)`` of the photo in the pixels of a generated ``frame_size``² frame of
    the crop region ``crop_box`` (pixel centres mapped onto pixel centres)."""
    x0, y0, x1, y1 = crop_box
    scale = np.array([frame_size / (x1 - x0), frame_size / (y1 - y0)] * 2, dtype=np.float64)
    offset = np.array([x0, y0, x0, y0], dtype=np.float64)
    return ((np.asarray(box[:4], dtype=np.float64) - offset + 0.5) * scale - 0.5).astype(np.float32)


def _landmarks_of(models: PortraitModels, frames: list[np.ndarray], regions: np.ndarray) -> np.ndarray:
    """68 landmarks ``(N, 68, 2)`` of one region per frame, in one regressor call."""
    crops = np.stack([
        cv2.resize(crop_with_padding(frame, region), (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LINEAR)[..., ::-1]
        for frame, region in zip(frames, regions, strict=True)
    ])
    regression = regress_crops(models, crops, regions)
    if models.morphable is not None:
        vertices = models.morphable.vertices(regression.params.to(torch.float32), dense=False)
        points = to_image_coordinates(vertices, torch.from_numpy(regions), CROP_SIZE)[..., :2]
    elif regression.landmarks_2d is not None:
        points = regression.landmarks_2d
    else:
        raise EnhanceError("Face enhancement needs the 68 face landmarks: install the face model "
                           "(bfm_noneck_v3.pkl) or a 3D face regressor file with its landmark head")
    return points.numpy().astype(np.float32)


@torch.no_grad()
def track_landmarks(models: PortraitModels, frames: np.ndarray, start_box: np.ndarray, *,
                    batch_size: int = TRACK_BATCH, cancel: CancelToken | None = None) -> np.ndarray:
    """68 landmarks ``(T, 68, 2)`` of the face in every frame ``(T, S, S, 3)`` RGB.

    The first batch looks in the region of ``start_box`` (the portrait's face box, in frame pixels),
    every later batch in the region of the last landmarks found; each frame's landmarks are then
    measured again in the region of its own first estimate (3DDFA_V2's video tracking), so the head
    may move freely through the clip. Two regressor calls per batch, no detector.
    """
    total = int(frames.shape[0])
    result = np.zeros((total, 68, 2), dtype=np.float32)
    home = roi_from_box(np.asarray(start_box, dtype=np.float32))
    region = home
    for start in range(0, total, batch_size):
        check_cancel(cancel)
        batch = [np.ascontiguousarray(f) for f in frames[start:start + batch_size]]
        rough = _landmarks_of(models, batch, np.repeat(region[None], len(batch), axis=0))
        regions = np.stack([plausible_region(r, home) for r in landmark_regions(rough)])
        result[start:start + len(batch)] = _landmarks_of(models, batch, regions)
        region = plausible_region(landmark_regions(result[start + len(batch) - 1][None])[0], home)
    return result


def plausible_region(region: np.ndarray, home: np.ndarray) -> np.ndarray:
    """``region``, or the portrait's own ``home`` region when it strayed: a generated face keeps about its
    size and place in the crop, so a region of another size (beyond ×1.5) or moved by more than half the
    face is a lost track (e.g. a frame that shows no face), and would lose the next frames too."""
    side, home_side = region[2] - region[0], home[2] - home[0]
    shift = np.abs((region[:2] + region[2:]) / 2 - (home[:2] + home[2:]) / 2).max()
    if not np.isfinite(region).all() or not home_side / 1.5 <= side <= home_side * 1.5 or shift > home_side / 2:
        return home
    return region


# ---- alignment --------------------------------------------------------------------------------
def alignment_transforms(points: np.ndarray) -> np.ndarray:
    """``(T, 5, 2)`` frame points → ``(T, 2, 3)`` similarity transforms frame → 512² aligned face
    (LMEDS like the reference). A frame where no transform can be estimated takes its nearest
    neighbour's; EnhanceError when no frame has one."""
    transforms = np.zeros((len(points), 2, 3), dtype=np.float64)
    valid = np.zeros(len(points), dtype=bool)
    for index, five in enumerate(np.asarray(points, dtype=np.float32)):
        if not np.isfinite(five).all():
            continue
        matrix, _ = cv2.estimateAffinePartial2D(five, FFHQ_TEMPLATE_512, method=cv2.LMEDS)
        if matrix is not None and np.isfinite(matrix).all() and abs(np.linalg.det(matrix[:, :2])) > 1e-8:
            transforms[index], valid[index] = matrix, True
    if len(points) and not valid.any():
        raise EnhanceError("No face could be followed in the generated frames, so there is nothing to enhance")
    good = np.flatnonzero(valid)
    for index in np.flatnonzero(~valid):
        transforms[index] = transforms[good[np.argmin(np.abs(good - index))]]
    return transforms


def similarity_parameters(transforms: np.ndarray) -> np.ndarray:
    """``(T, 2, 3)`` → ``(T, 4)`` [a, b, tx, ty] of ``[[a, -b, tx], [b, a, ty]]``."""
    t = np.asarray(transforms, dtype=np.float64)
    return np.stack([(t[:, 0, 0] + t[:, 1, 1]) / 2, (t[:, 1, 0] - t[:, 0, 1]) / 2, t[:, 0, 2], t[:, 1, 2]], axis=1)


def from_similarity_parameters(params: np.ndarray) -> np.ndarray:
    a, b, tx, ty = (np.asarray(params, dtype=np.float64)[:, k] for k in range(4))
    return np.stack([np.stack([a, -b, tx], axis=1), np.stack([b, a, ty], axis=1)], axis=1)


def smooth_transforms(transforms: np.ndarray, sigma: float = SMOOTHING_SIGMA) -> np.ndarray:
    """The transforms with their parameters smoothed over time by a Gaussian of ``sigma`` frames (the
    clip's ends repeated). The parameters enter the mapping linearly, so every face point's aligned
    position is smoothed the same way; ``sigma`` 0 returns them unchanged."""
    if sigma <= 0 or len(transforms) < 2:
        return np.asarray(transforms, dtype=np.float64).copy()
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    params = similarity_parameters(transforms)
    padded = np.concatenate([np.repeat(params[:1], radius, 0), params, np.repeat(params[-1:], radius, 0)])
    smoothed = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(4)], axis=1)
    return from_similarity_parameters(smoothed)


def align_frames(models: PortraitModels, frames: np.ndarray, start_box: np.ndarray, *,
                 sigma: float = SMOOTHING_SIGMA, cancel: CancelToken | None = None) -> np.ndarray:
    """Smoothed transforms ``(T, 2, 3)`` frame → aligned face for every frame (landmarks tracked)."""
    landmarks = track_landmarks(models, frames, start_box, cancel=cancel)
    return smooth_transforms(alignment_transforms(five_points(landmarks)), sigma)


# ---- restoration and paste ----------------------------------------------------------------------
def warp_face(frame: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """The 512² aligned face (uint8 RGB) of one frame."""
    return cv2.warpAffine(np.ascontiguousarray(frame), np.asarray(transform, np.float64), (FACE_SIZE, FACE_SIZE),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=BORDER_RGB)


def restore_faces(faces: np.ndarray, restorer: Restorer, device: torch.device | str = "cpu") -> np.ndarray:
    """``(B, 512, 512, 3)`` uint8 aligned faces → restored uint8 faces (clamped and rounded like the
    reference's ``tensor2img``). The conversions run on ``device``, so only uint8 pixels cross to a GPU."""
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(faces)).to(device).permute(0, 3, 1, 2).to(torch.float32)
        y = restorer(x / 127.5 - 1.0).detach().to(torch.float32).clamp(-1.0, 1.0)
        pixels = ((y + 1.0) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    return pixels.cpu().numpy()


def paste_transform(transform: np.ndarray, frame_size: int, out_size: int) -> np.ndarray:
    """Aligned face → pixels of the ``out_size``² enhanced frame (pixel centres kept in register)."""
    scale = out_size / frame_size
    inverse = cv2.invertAffineTransform(np.asarray(transform, np.float64)) * scale
    inverse[:, 2] += 0.5 * (scale - 1.0)
    return inverse


def face_mask(inverse: np.ndarray, out_size: int) -> np.ndarray:
    """``(out_size, out_size)`` float32 blend weights of the restored face: the aligned square warped
    into the frame, eroded (no dark edge from the warp's border) and blurred (no seam), like the
    reference's soft mask. Zero exactly where nothing of the restored face is used."""
    square = np.ones((FACE_SIZE, FACE_SIZE), dtype=np.float32)
    mask = cv2.warpAffine(square, inverse, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    scale = math.sqrt(abs(np.linalg.det(inverse[:, :2])))
    edge = max(2, int(math.ceil(2 * scale)))
    mask = cv2.erode(mask, np.ones((edge, edge), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    width = int(math.sqrt(float(mask.sum()))) // 20
    if width > 0:
        mask = cv2.erode(mask, np.ones((2 * width, 2 * width), np.uint8), borderType=cv2.BORDER_CONSTANT,
                         borderValue=0)
        mask = cv2.GaussianBlur(mask, (2 * width + 1, 2 * width + 1), 0)
    mask[mask < 1e-6] = 0.0
    mask[mask > 1 - 1e-6] = 1.0  # float rounding of the warp and blur inside the face
    return mask


def upscale(frame: np.ndarray, out_size: int) -> np.ndarray:
    """The frame at the enhanced size (bilinear), what the restored face is blended over."""
    if frame.shape[0] == out_size and frame.shape[1] == out_size:
        return np.array(frame, dtype=np.uint8, copy=True)
    return cv2.resize(np.ascontiguousarray(frame), (out_size, out_size), interpolation=cv2.INTER_LINEAR)


def paste_face(frame: np.ndarray, restored: np.ndarray, transform: np.ndarray, out_size: int) -> np.ndarray:
    """One enhanced frame (out_size², uint8): the restored face warped back over the upscaled frame.
    Only the mask's bounding box is warped and blended (OpenCV, rounded); the rest is the upscaled frame."""
    out = upscale(frame, out_size)
    inverse = paste_transform(transform, frame.shape[0], out_size)
    mask = face_mask(inverse, out_size)
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return out
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    shifted = inverse.copy()
    shifted[:, 2] -= (x0, y0)
    face = cv2.warpAffine(np.ascontiguousarray(restored), shifted, (int(x1 - x0), int(y1 - y0)),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    weights = np.ascontiguousarray(mask[y0:y1, x0:x1])
    region = np.ascontiguousarray(out[y0:y1, x0:x1])
    out[y0:y1, x0:x1] = cv2.blendLinear(face, region, weights, 1.0 - weights)
    return out


def enhance_frames(frames: np.ndarray, transforms: np.ndarray, restorer: Restorer, *,
                   out_size: int = ENHANCED_SIZE, batch_size: int = 4, progress: StepCallback | None = None,
                   cancel: CancelToken | None = None, device: torch.device | str = "cpu") -> np.ndarray:
    """Fully restored frames ``(T, out_size, out_size, 3)`` uint8 of ``frames`` ``(T, S, S, 3)`` RGB,
    restored ``batch_size`` faces at a time; ``progress(frames done, total)`` and cancellation after
    every batch; ``device`` is where the restorer's input is made (the restorer's own device). :func:`with_strength`
    mixes them with the frames for a strength below 1."""
    total = int(frames.shape[0])
    if len(transforms) != total:
        raise ValueError(f"{len(transforms)} transforms for {total} frames")
    if frames.ndim != 4 or frames.shape[1] != frames.shape[2] or frames.shape[3] != 3:
        raise ValueError(f"frames must be (T, S, S, 3), got {frames.shape}")
    out = np.empty((total, out_size, out_size, 3), dtype=np.uint8)
    report(progress, 0, total)
    for start in range(0, total, max(1, batch_size)):
        check_cancel(cancel)
        stop = min(total, start + max(1, batch_size))
        aligned = np.stack([warp_face(frames[i], transforms[i]) for i in range(start, stop)])
        restored = restore_faces(aligned, restorer, device)
        for offset, index in enumerate(range(start, stop)):
            out[index] = paste_face(frames[index], restored[offset], transforms[index], out_size)
        report(progress, stop, total)
    check_cancel(cancel)
    return out


def with_strength(frames: np.ndarray, restored: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` 0 … 1 of the restoration: the upscaled frames mixed with the fully restored ones
    (exactly the upscaled frames wherever the restoration changed nothing, e.g. outside the mask)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if strength == 1.0:
        return restored
    size = restored.shape[1]
    out = np.empty_like(restored)
    for index, (frame, full) in enumerate(zip(frames, restored, strict=True)):
        out[index] = cv2.addWeighted(full, strength, upscale(frame, size), 1.0 - strength, 0.0)
    return out
