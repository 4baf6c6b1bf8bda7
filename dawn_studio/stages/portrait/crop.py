"""The square portrait the generator receives, and the transform back to the original photo.

Two framings:

* ``"face"`` (default): a square around the chosen face, ``FACE_SCALE`` (1.75) times the
  detector's face size, its centre ``FACE_RAISE`` (0.075) face sizes above the box centre. These
  numbers are the average framing of the six sample portraits shipped with DAWN (its authors'
  in-distribution examples; side/face 1.68-2.01, face centre 0-0.18 face sizes below the image
  centre), which resemble the square HDTF training frames. The square is moved to stay inside the
  photo and, when the photo is too small for it, shrunk to the photo's shorter side, so it never
  needs padding; for a square close-up (like the samples) it is the whole photo. Integer pixel
  bounds keep a crop at native scale an exact copy.
* ``"reference"``: the reference's squash of the whole photo to a square (bug B9), for comparison.

The generator's portrait is resized with Pillow's bilinear filter, like the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

Framing = Literal["face", "reference"]
FRAMINGS: tuple[str, ...] = ("face", "reference")
FACE_SCALE = 1.75
FACE_RAISE = 0.075


@dataclass(frozen=True)
class FaceCrop:
    """Region ``[left, left+width) x [top, top+height)`` of the original photo, shown at ``output_size``²."""

    left: int
    top: int
    width: int
    height: int
    output_size: int
    image_height: int
    image_width: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` in original pixels (exclusive end)."""
        return self.left, self.top, self.left + self.width, self.top + self.height

    def to_region(self, points_xy: np.ndarray) -> np.ndarray:
        """Original-pixel points ``(P, >=2)`` -> pixels of the cropped region (same scale as the photo)."""
        out = np.array(points_xy, dtype=np.float32, copy=True)
        out[:, 0] -= self.left
        out[:, 1] -= self.top
        return out


def plan_crop(
    face_box: tuple[float, float, float, float] | np.ndarray, image_height: int, image_width: int,
    output_size: int, framing: Framing = "face", scale: float = FACE_SCALE, raise_by: float = FACE_RAISE,
) -> FaceCrop:
    """The crop for a detector box ``(x1, y1, x2, y2)`` under ``framing``."""
    if output_size < 8:
        raise ValueError(f"output size {output_size} is too small")
    if framing == "reference":
        return FaceCrop(0, 0, image_width, image_height, output_size, image_height, image_width)
    if framing != "face":
        raise ValueError(f"unknown framing '{framing}' (choose from {', '.join(FRAMINGS)})")
    x1, y1, x2, y2 = (float(v) for v in face_box[:4])
    face_size = ((x2 - x1) + (y2 - y1)) / 2
    side = min(int(round(scale * face_size)), image_width, image_height)
    side = max(side, 1)
    centre_x = (x1 + x2) / 2
    centre_y = (y1 + y2) / 2 - raise_by * face_size
    left = min(max(int(round(centre_x - side / 2)), 0), image_width - side)
    top = min(max(int(round(centre_y - side / 2)), 0), image_height - side)
    return FaceCrop(left, top, side, side, output_size, image_height, image_width)


def crop_image(rgb: np.ndarray, crop: FaceCrop) -> np.ndarray:
    """``(S, S, 3)`` uint8 RGB portrait for the generator (Pillow bilinear, as the reference)."""
    x0, y0, x1, y1 = crop.box
    region = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    size = (crop.output_size, crop.output_size)
    if region.size == size:
        return np.asarray(region).copy()
    return np.asarray(region.resize(size, Image.Resampling.BILINEAR))


def portrait_tensor(rgb: np.ndarray, crop: FaceCrop) -> np.ndarray:
    """The generator input ``(1, 3, S, S)`` float32 RGB in [0, 1]."""
    return (crop_image(rgb, crop).astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()
