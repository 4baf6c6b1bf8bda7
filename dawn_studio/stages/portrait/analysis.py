"""Portrait analysis: every face in the photo with its head pose, eye ratios, face box and crop.

Faces are ranked by detector score (the reference's order); the caller picks one (default: the
first). Unlike the reference (bug B4), pose, eyes and box of a face all come from that face.

Per face:

* ``pose``: 3DDFA_V2 pose from the 3DMM parameters (degrees, scale, crop-frame translation),
  identical to the reference's ``init_pose.npy`` for that face.
* ``eye_ratios`` and ``bbox``: from the 68 landmarks, by the first source available
  (``landmark_source``):

  - ``"bfm"``: the 68 sparse 3-D landmarks reconstructed with the BFM face model, as DAWN's
    training data (bug B3 fixed; ``dense_compat=True`` reproduces the unified script's dense-mesh
    values). Exact; ``estimated`` is False.
  - ``"landmark_head"``: without the BFM, the 68 2-D landmarks of 3DDFA_V2's auxiliary landmark
    head stored in the regressor file (``fc_lm``). Eye ratios are then 2-D (no depth), the box is
    the landmarks' extent. ``estimated`` is True.
  - ``"detector_box"``: with neither, ratios 0.3/0.3 (the reference's own fallback for an open
    eye) and the detector box as the face box. ``estimated`` is True.
* ``bbox`` is ``[x_min, x_max, y_min, y_max, H, W]`` in the pixels of the region the generator's
  portrait is made from (its crop, at the photo's resolution), ``H, W`` that region's size; for
  the ``"reference"`` framing this is exactly the reference's original-image box.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ...networks.faceboxes import DetectionThresholds
from ...networks.tddfa import normalise_crops, to_image_coordinates
from ...progress import HandOverObserver
from .crop import FRAMINGS, FaceCrop, Framing, plan_crop
from .detection import detect_faces
from .errors import NoFaceError, PortraitError
from .image_io import Portrait
from .landmarks import FALLBACK_EYE_RATIO, eye_ratios
from .models import PortraitModels
from .regression import CROP_SIZE, regress_faces


@dataclass(frozen=True, eq=False)
class FaceResult:
    """One detected face, with everything the generator needs for it."""

    box: tuple[float, float, float, float]  # detector box (x1, y1, x2, y2), original pixels
    score: float
    pose: tuple[float, ...]  # yaw°, pitch°, roll°, scale, tx, ty, tz
    eye_ratios: tuple[float, float]  # subject's left, right
    bbox: tuple[int, int, int, int, int, int]  # x_min, x_max, y_min, y_max, H, W in the crop's frame
    crop: FaceCrop
    estimated: bool  # eye ratios / bbox estimated (no BFM)
    landmark_source: str  # "bfm", "landmark_head" or "detector_box"
    params: np.ndarray  # (62,) float32 3DMM parameters
    roi_box: tuple[float, float, float, float]  # TDDFA's square region, original pixels
    extent: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max of the landmarks, original px
    landmarks: np.ndarray | None = None  # (68, 3) "bfm" or (68, 2) "landmark_head", original pixels

    def reframed(self, crop: FaceCrop) -> FaceResult:
        """The same face for another crop (framing or size), without running the networks again."""
        return replace(self, crop=crop, bbox=_bbox(self.extent, crop))

    def init_pose(self) -> np.ndarray:
        """``(1, 7)`` float64, the reference's ``init_pose.npy`` layout."""
        return np.asarray(self.pose, dtype=np.float64)[None]

    def init_eye_bbox(self) -> np.ndarray:
        """``(1, 8)`` float64 ``[left, right, x_min, x_max, y_min, y_max, H, W]`` (``init_eye_bbox.npy``)."""
        return np.asarray(self.eye_ratios + self.bbox, dtype=np.float64)[None]


@dataclass(frozen=True)
class PortraitAnalysis:
    """All faces of one photo, best first."""

    image_height: int
    image_width: int
    faces: tuple[FaceResult, ...]
    framing: str
    output_size: int

    def face(self, index: int = 0) -> FaceResult:
        if not 0 <= index < len(self.faces):
            raise PortraitError(f"Face {index + 1} was chosen but the photo has {len(self.faces)} face(s).")
        return self.faces[index]


def _extent(points_xy: np.ndarray) -> tuple[float, float, float, float]:
    xy = np.asarray(points_xy, dtype=np.float32)
    return float(xy[:, 0].min()), float(xy[:, 0].max()), float(xy[:, 1].min()), float(xy[:, 1].max())


def _bbox(extent: tuple[float, float, float, float], crop: FaceCrop) -> tuple[int, int, int, int, int, int]:
    """Extent in the crop's frame, each value cast to int32 like the reference (truncation toward 0).

    Truncation is monotonic, so truncating the extremes equals the extremes of the truncated points.
    """
    x_min, x_max, y_min, y_max = (
        int(np.float32(np.float32(v) - np.float32(offset)).astype(np.int32))
        for v, offset in zip(extent, (crop.left, crop.left, crop.top, crop.top), strict=True)
    )
    return x_min, x_max, y_min, y_max, crop.height, crop.width


@torch.no_grad()
def analyse_portrait(
    portrait: Portrait, models: PortraitModels, *, output_size: int = 256, framing: Framing = "face",
    dense_compat: bool = False, thresholds: DetectionThresholds | None = None,
    observe: HandOverObserver | None = None,
) -> PortraitAnalysis:
    """Detect, regress and measure every face; ``NoFaceError`` when there is none.

    ``observe`` receives the detector's raw outputs and boxes (``faceboxes.*``), the regressor's
    input, output, parameters and regions (``tddfa.*``) and face 0's reconstructed points as
    ``(3, V)`` (``bfm.vertices_face0``, dense with ``dense_compat``).
    """
    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing '{framing}' (choose from {', '.join(FRAMINGS)})")
    detection = detect_faces(models.detector, portrait.rgb, thresholds, rgb=True)
    boxes = detection.boxes.numpy()
    if observe is not None:
        observe("faceboxes.loc", detection.loc)
        observe("faceboxes.conf", detection.conf)
        observe("faceboxes.boxes", detection.boxes)
    if len(boxes) == 0:
        raise NoFaceError()
    regression = regress_faces(models, portrait.rgb, boxes, rgb=True)
    if observe is not None:
        observe("tddfa.input", normalise_crops(torch.from_numpy(np.ascontiguousarray(regression.crops))))
        observe("tddfa.raw", regression.params_raw)
        observe("tddfa.params", regression.params)
        observe("tddfa.roi_boxes", torch.from_numpy(regression.roi_boxes))
    points: torch.Tensor | None = None
    source = "detector_box"
    if models.morphable is not None:
        vertices = models.morphable.vertices(regression.params.to(torch.float32), dense=dense_compat)
        points = to_image_coordinates(vertices, torch.from_numpy(regression.roi_boxes), CROP_SIZE)
        source = "bfm"
        if observe is not None:
            observe("bfm.vertices_face0", points[0].T.contiguous())
    elif regression.landmarks_2d is not None:
        points, source = regression.landmarks_2d, "landmark_head"
    landmarks = None if points is None else points.numpy().astype(np.float32)
    ratios = None if points is None else eye_ratios(points).numpy()
    faces = []
    for index, box in enumerate(boxes):
        crop = plan_crop(box, portrait.height, portrait.width, output_size, framing)
        if landmarks is not None and ratios is not None:
            eyes = (float(ratios[index, 0]), float(ratios[index, 1]))
            extent = _extent(landmarks[index])
        else:
            eyes = (FALLBACK_EYE_RATIO, FALLBACK_EYE_RATIO)
            extent = _extent(np.array([box[0:2], box[2:4]], dtype=np.float32))
        faces.append(FaceResult(
            box=tuple(float(v) for v in box[:4]),
            score=float(box[4]),
            pose=tuple(float(v) for v in regression.poses[index]),
            eye_ratios=eyes,
            bbox=_bbox(extent, crop),
            crop=crop,
            estimated=source != "bfm",
            landmark_source=source,
            params=regression.params[index].numpy().copy(),
            roi_box=tuple(float(v) for v in regression.roi_boxes[index]),
            extent=extent,
            landmarks=None if landmarks is None or (dense_compat and source == "bfm") else landmarks[index],
        ))
    return PortraitAnalysis(portrait.height, portrait.width, tuple(faces), framing, output_size)
