"""Face detection on a BGR photo with FaceBoxes, as the reference's ``FaceBoxes_ONNX`` does it.

Large photos are detected on a copy no larger than 720x1080 (the reference's cap) and the boxes are
mapped back to the original pixels, so the detector's cost and memory do not grow with the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ...networks.faceboxes import DetectionThresholds, FaceBoxesNet, prior_boxes, select_detections

MAX_HEIGHT = 720
MAX_WIDTH = 1080
MEAN_BGR = (104.0, 117.0, 123.0)


@dataclass(frozen=True, eq=False)
class Detection:
    """Everything one detector run produced; ``boxes`` is what the analysis uses."""

    scale: float
    scaled_image: np.ndarray
    loc: torch.Tensor
    conf: torch.Tensor
    priors: torch.Tensor
    dets_nms: torch.Tensor
    boxes: torch.Tensor  # (K, 5) float32 [x1, y1, x2, y2, score] in original pixels, score-descending


def detector_scale(
    height: int, width: int, max_height: int = MAX_HEIGHT, max_width: int = MAX_WIDTH,
) -> float:
    """The reference's downscale factor: ``min(1, 720/h, 1080/w)`` computed in its order."""
    scale = 1.0
    if height > max_height:
        scale = max_height / height
    if width * scale > max_width:
        scale *= max_width / (width * scale)
    return scale


@torch.no_grad()
def detect_faces(
    net: FaceBoxesNet, image: np.ndarray, thresholds: DetectionThresholds | None = None, *,
    rgb: bool = False, max_height: int = MAX_HEIGHT, max_width: int = MAX_WIDTH,
) -> Detection:
    """Run FaceBoxes on a uint8 ``(H, W, 3)`` image (BGR, or RGB with ``rgb=True``).

    Boxes come back in the image's pixel coordinates. An RGB photo is reordered only after the
    downscale (resizing acts per channel, so the pixels are the same), which spares a full-size copy.
    """
    height, width = image.shape[:2]
    scale = detector_scale(height, width, max_height, max_width)
    scaled = image
    if scale != 1:
        size = (int(scale * width), int(scale * height))
        scaled = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    if rgb:
        scaled = scaled[..., ::-1]
    h_s, w_s = scaled.shape[:2]
    device = next(net.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(scaled)).to(device=device, dtype=torch.float32)
    x = (x - torch.tensor(MEAN_BGR, device=device)).permute(2, 0, 1)[None]
    loc, conf = net(x)
    loc, conf = loc[0].cpu(), conf[0].cpu()
    priors = prior_boxes(h_s, w_s)
    pixel_scale = torch.tensor([w_s, h_s, w_s, h_s], dtype=torch.float32)
    dets_nms, boxes = select_detections(
        loc, conf, priors, pixel_scale, downscale=scale, thresholds=thresholds or DetectionThresholds(),
    )
    return Detection(scale, scaled, loc[None], conf[None], priors, dets_nms, boxes)
