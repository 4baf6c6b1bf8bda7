"""FaceBoxes anchors, box decoding and non-maximum suppression, vectorised in torch.

These reproduce the reference post-processing (3DDFA_V2 ``FaceBoxes_ONNX``) number for number:
anchor order, the SSD decoding with variances (0.1, 0.2) and the Fast R-CNN NMS with its "+1"
pixel areas and its suppression at IoU >= threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

MIN_SIZES: tuple[tuple[int, ...], ...] = ((32, 64, 128), (256,), (512,))
STEPS: tuple[int, ...] = (32, 64, 128)
VARIANCES: tuple[float, float] = (0.1, 0.2)

# Sub-cell offsets of the densified small anchors (row offsets outer, column offsets inner).
_DENSE_OFFSETS: dict[int, tuple[float, ...]] = {32: (0.0, 0.25, 0.5, 0.75), 64: (0.0, 0.5)}


@dataclass(frozen=True)
class DetectionThresholds:
    """Score and overlap limits of the reference detector (``FaceBoxes_ONNX``)."""

    confidence: float = 0.05
    top_k: int = 5000
    nms_iou: float = 0.3
    keep_top_k: int = 750
    visible: float = 0.2


def feature_map_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """Detection-source grid sizes for an input of ``height x width`` (ceil division per step)."""
    return [(math.ceil(height / step), math.ceil(width / step)) for step in STEPS]


def _cell_anchor_offsets(min_size: int) -> torch.Tensor:
    """``(n, 2)`` (column, row) offsets inside one cell for the anchors of ``min_size``."""
    offsets = _DENSE_OFFSETS.get(min_size, (0.5,))
    grid = torch.tensor(offsets, dtype=torch.float64)
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")
    return torch.stack([cols.reshape(-1), rows.reshape(-1)], dim=1)


def prior_boxes(height: int, width: int) -> torch.Tensor:
    """All anchors ``(A, 4)`` float32 as (cx, cy, w, h), normalised by the input size.

    Order: source by source, cells row-major, then the min sizes in listed order and
    the dense offsets row-outer / column-inner, as the reference's nested loops produce.
    """
    per_source = []
    for (rows, cols), step, sizes in zip(feature_map_sizes(height, width), STEPS, MIN_SIZES, strict=True):
        i = torch.arange(rows, dtype=torch.float64).view(rows, 1, 1)
        j = torch.arange(cols, dtype=torch.float64).view(1, cols, 1)
        cell_parts = []
        for min_size in sizes:
            offsets = _cell_anchor_offsets(min_size)
            cx = (j + offsets[:, 0].view(1, 1, -1)) * step / width
            cy = (i + offsets[:, 1].view(1, 1, -1)) * step / height
            cx, cy = torch.broadcast_tensors(cx, cy)
            w = torch.full_like(cx, min_size / width)
            h = torch.full_like(cx, min_size / height)
            cell_parts.append(torch.stack([cx, cy, w, h], dim=-1))
        per_source.append(torch.cat(cell_parts, dim=2).reshape(-1, 4))
    return torch.cat(per_source, dim=0).to(torch.float32)


def decode_boxes(loc: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """SSD decoding: regressions ``(A, 4)`` + anchors -> corner boxes (x1, y1, x2, y2), normalised."""
    centres = priors[:, :2] + loc[:, :2] * VARIANCES[0] * priors[:, 2:]
    sizes = priors[:, 2:] * torch.exp(loc[:, 2:] * VARIANCES[1])
    top_left = centres - sizes / 2
    return torch.cat([top_left, top_left + sizes], dim=1)


def nms_keep(dets: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices kept by greedy NMS over ``(K, 5)`` [x1, y1, x2, y2, score], highest score first.

    Areas and overlaps use the inclusive-pixel ("+1") convention, and a box is suppressed
    when its IoU with a kept box is at least ``iou_threshold``.
    """
    if dets.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    boxes = dets[:, :4].to(torch.float64)
    order = torch.argsort(dets[:, 4], descending=True, stable=True)
    x1, y1, x2, y2 = boxes[order].unbind(dim=1)
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    alive = torch.ones(order.numel(), dtype=torch.bool)
    keep = []
    for index in range(order.numel()):
        if not alive[index]:
            continue
        keep.append(index)
        rest = slice(index + 1, None)
        inter_w = (torch.minimum(x2[index], x2[rest]) - torch.maximum(x1[index], x1[rest]) + 1).clamp(min=0)
        inter_h = (torch.minimum(y2[index], y2[rest]) - torch.maximum(y1[index], y1[rest]) + 1).clamp(min=0)
        inter = inter_w * inter_h
        iou = inter / (areas[index] + areas[rest] - inter)
        alive[rest] &= iou < iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def select_detections(
    loc: torch.Tensor, conf: torch.Tensor, priors: torch.Tensor, pixel_scale: torch.Tensor,
    downscale: float = 1.0, thresholds: DetectionThresholds | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn one image's network outputs into detections.

    ``loc (A, 4)``, ``conf (A, 2)``; normalised corners are multiplied by ``pixel_scale``
    (``[W, H, W, H]`` of the network input) and divided by ``downscale`` (input size / photo size)
    to give photo pixels. Returns ``(dets_nms, dets)``, both ``(K, 5)`` float32
    [x1, y1, x2, y2, score] score-descending: after NMS, and after the visibility threshold.
    """
    thresholds = thresholds or DetectionThresholds()
    boxes = decode_boxes(loc, priors) * pixel_scale / downscale
    scores = conf[:, 1]
    candidates = torch.nonzero(scores > thresholds.confidence).flatten()
    ranked = candidates[torch.argsort(scores[candidates], descending=True, stable=True)][: thresholds.top_k]
    dets = torch.cat([boxes[ranked], scores[ranked, None]], dim=1).to(torch.float32)
    dets_nms = dets[nms_keep(dets, thresholds.nms_iou)][: thresholds.keep_top_k]
    return dets_nms, dets_nms[dets_nms[:, 4] > thresholds.visible]
