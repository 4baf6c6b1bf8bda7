"""Coordinate grids and region Gaussians in the LFG's normalised image coordinates.

Grids hold (x, y) in the last axis with the end pixels at exactly ±1 (align_corners=True style),
although every ``grid_sample`` of the LFG uses align_corners=False; the port keeps both as the
reference has them, since the published weights were trained that way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def coordinate_grid(
    height: int, width: int, *, device: torch.device | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(height, width, 2) grid, [..., 0] = x (columns) and [..., 1] = y (rows), both from −1 to 1."""
    x = 2 * (torch.arange(width, device=device, dtype=dtype) / (width - 1)) - 1
    y = 2 * (torch.arange(height, device=device, dtype=dtype) / (height - 1)) - 1
    return torch.stack((x[None, :].expand(height, width), y[:, None].expand(height, width)), dim=-1)


def region_gaussians(
    mean: torch.Tensor, covar: torch.Tensor | float, height: int, width: int
) -> torch.Tensor:
    """exp(−½ (p − μ)ᵀ Σ⁻¹ (p − μ)): mean (..., 2), covar (..., 2, 2) or a variance → (..., h, w)."""
    grid = coordinate_grid(height, width, device=mean.device, dtype=mean.dtype)
    offset = grid - mean[..., None, None, :]
    if isinstance(covar, float):
        return torch.exp(-0.5 * (offset**2).sum(-1) / covar)
    precision = torch.inverse(covar)[..., None, None, :, :]
    quad = (offset.unsqueeze(-2) @ precision @ offset.unsqueeze(-1))[..., 0, 0]
    return torch.exp(-0.5 * quad)


def resize_flow(flow: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bilinearly resize a (B, h, w, 2) sampling grid to (B, height, width, 2) (align_corners=False)."""
    if flow.shape[1:3] == (height, width):
        return flow
    resized = F.interpolate(flow.permute(0, 3, 1, 2), size=(height, width), mode="bilinear")
    return resized.permute(0, 2, 3, 1)


def resize_map(values: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bilinearly resize a (B, C, h, w) map, as the reference resizes occlusion maps."""
    if values.shape[-2:] == (height, width):
        return values
    return F.interpolate(values, size=(height, width), mode="bilinear")
