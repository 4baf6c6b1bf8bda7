"""Putting generated face frames back into the original photo.

Each frame is resized back onto its crop region and blended in with a feathered mask that fades
out towards the region's edges inside the photo (edges on the photo's border need no fading), so
no seam shows. Optionally each frame's colour is shifted to match the photo in the blending band.
Frames are processed in chunks sized to a memory budget, so long clips of large photos stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .crop import FaceCrop

DEFAULT_FEATHER = 0.08
DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024


def _ramp(length: int, width: int, fade_start: bool, fade_end: bool) -> np.ndarray:
    """1-D weights: smooth rise over ``width`` pixels at a fading end, 1 elsewhere."""
    weights = np.ones(length, dtype=np.float32)
    if width <= 0:
        return weights
    position = np.arange(length, dtype=np.float32) + 0.5
    if fade_start:
        weights = np.minimum(weights, np.clip(position / width, 0, 1))
    if fade_end:
        weights = np.minimum(weights, np.clip((length - position) / width, 0, 1))
    return weights * weights * (3 - 2 * weights)  # smoothstep: no visible kink where fading begins


def feather_mask(crop: FaceCrop, feather: float = DEFAULT_FEATHER) -> np.ndarray:
    """``(height, width)`` float32 blend weights of the crop region (1 = generated frame)."""
    if feather < 0 or feather >= 0.5:
        raise ValueError("feather must be in [0, 0.5)")
    width = int(round(feather * min(crop.width, crop.height)))
    x0, y0, x1, y1 = crop.box
    columns = _ramp(crop.width, width, x0 > 0, x1 < crop.image_width)
    rows = _ramp(crop.height, width, y0 > 0, y1 < crop.image_height)
    return rows[:, None] * columns[None, :]


def _as_float_frames(frames: list[np.ndarray]) -> torch.Tensor:
    """uint8 (0..255) or float (0..1) ``(S, S, 3)`` frames -> float32 ``(n, 3, S, S)`` in 0..255."""
    stacked = np.stack(frames)
    tensor = torch.from_numpy(stacked).to(torch.float32)
    if not np.issubdtype(stacked.dtype, np.integer):
        tensor = tensor * 255.0
    return tensor.permute(0, 3, 1, 2)


def _chunks(frames: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    chunk: list[np.ndarray] = []
    for frame in frames:
        chunk.append(np.asarray(frame))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def paste_back(
    frames: Iterable[np.ndarray], original: np.ndarray, crop: FaceCrop, *, feather: float = DEFAULT_FEATHER,
    color_match: bool = False, even: bool = True, memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> Iterator[np.ndarray]:
    """Yield one ``(H, W, 3)`` uint8 RGB photo per generated ``(S, S, 3)`` frame.

    ``frames``: an array ``(T, S, S, 3)`` or any iterable of frames, uint8 or float in [0, 1].
    ``original``: the analysed photo ``(H, W, 3)`` uint8. ``even`` drops a last odd row/column
    (4:2:0 video needs even sides).
    """
    height, width = original.shape[:2]
    if (height, width) != (crop.image_height, crop.image_width):
        raise ValueError(f"photo is {width}x{height} but the crop was planned for {crop.image_width}x"
                         f"{crop.image_height}")
    x0, y0, x1, y1 = crop.box
    out_h, out_w = (height - height % 2, width - width % 2) if even else (height, width)
    mask = torch.from_numpy(feather_mask(crop, feather))[None, None]
    region = torch.tensor(original[y0:y1, x0:x1], dtype=torch.float32)
    region = region.permute(2, 0, 1)[None]
    band = (mask > 0) & (mask < 1)
    per_frame = crop.width * crop.height * 3 * 4 * 3  # the face region's float working copies
    chunk_size = max(1, memory_budget // per_frame)
    for chunk in _chunks(frames, chunk_size):
        generated = _as_float_frames(chunk)
        shrinking = generated.shape[-1] > crop.width or generated.shape[-2] > crop.height
        generated = F.interpolate(generated, size=(crop.height, crop.width), mode="bilinear",
                                  align_corners=False, antialias=shrinking)
        if color_match and bool(band.any()):
            weights = band.to(torch.float32)
            shift = ((region - generated) * weights).sum(dim=(2, 3), keepdim=True) / weights.sum()
            generated = generated + shift
        blended = region + mask * (generated - region)
        pixels = blended.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        del generated, blended
        for face in pixels:  # one full-size photo at a time: only the face region differs per frame
            photo = original[:out_h, :out_w].copy()
            photo[y0:min(y1, out_h), x0:min(x1, out_w)] = face[: out_h - y0, : out_w - x0]
            yield photo
