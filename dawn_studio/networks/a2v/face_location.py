"""Face-location branch: the face box as a binary mask, encoded to latent resolution by two convolutions.

The encoder's weights are in no published checkpoint (the reference re-initialises them randomly at
every start); the seed-1234 values the network was trained with ship with the package and are
loaded by :mod:`dawn_studio.loading.face_location`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import BBoxAxes


def bbox_mask(bbox: torch.Tensor, size: int, axes: BBoxAxes = "fixed") -> torch.Tensor:
    """(b, 1, size, size) float32 mask, 1 inside the face box of each sample's frame 0.

    bbox: (b, 6, frames) or (b, 6) rows [x_min, x_max, y_min, y_max, H, W] in original-image pixels
    (x = column, H = image rows). The box is scaled to ``size`` and truncated like the reference
    (left/top = int(v), right/bottom = int(v + 1), both inclusive). ``axes="reference"`` divides x by
    H and y by W as the published code does (pipeline.md B6); ``"fixed"`` divides x by W and y by H.
    The caller's tensor is never modified.
    """
    if bbox.ndim == 3:
        bbox = bbox[:, :, 0]
    if bbox.ndim != 2 or bbox.shape[1] != 6:
        raise ValueError(
            f"bbox must be (batch, 6[, frames]) [x_min, x_max, y_min, y_max, H, W], got {tuple(bbox.shape)}"
        )
    v = bbox.to(torch.float32)
    if not torch.isfinite(v).all() or (v[:, 4:6] <= 0).any():
        raise ValueError("bbox must be finite with positive image height and width")
    height, width = v[:, 4:5], v[:, 5:6]
    x_scale, y_scale = (height, width) if axes == "reference" else (width, height)
    xs = v[:, 0:2] / x_scale * size
    ys = v[:, 2:4] / y_scale * size
    x_lo, y_lo = xs[:, 0].to(torch.int32), ys[:, 0].to(torch.int32)
    x_hi, y_hi = (xs[:, 1] + 1).to(torch.int32), (ys[:, 1] + 1).to(torch.int32)
    index = torch.arange(size, device=bbox.device, dtype=torch.int32)
    rows = (index[None, :] >= y_lo[:, None]) & (index[None, :] <= y_hi[:, None])
    cols = (index[None, :] >= x_lo[:, None]) & (index[None, :] <= x_hi[:, None])
    return (rows[:, :, None] & cols[:, None, :]).to(torch.float32).unsqueeze(1)


class FaceLocationEncoder(nn.Module):
    """Mask (b, 1, S, S) → embedding (b, out, S/4, S/4): two 3×3 stride-2 convolutions with ReLU."""

    def __init__(self, hidden: int = 8, out: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, hidden, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(hidden, out, 3, stride=2, padding=1)

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(mask))))
