"""Region predictor: K soft part heatmaps of an image with their centres, covariances and affines."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import AntiAliasInterpolation2d, Hourglass
from .config import LFGConfig
from .geometry import coordinate_grid


@dataclass(frozen=True)
class RegionParams:
    """Per-region statistics of one image batch (reference dict keys in brackets).

    shift (B, K, 2) heatmap-weighted centre (x, y); covar (B, K, 2, 2); heatmap (B, K, h, w);
    affine (B, K, 2, 2) = u·diag(√s) from the SVD of covar, None without ``estimate_affine``;
    u and d (B·K, 2, 2) the SVD factors, flat as the reference returns them. u and affine are only
    defined up to the sign of each column (the reference's LAPACK convention is reproduced on CPU).
    """

    shift: torch.Tensor
    covar: torch.Tensor
    heatmap: torch.Tensor
    affine: torch.Tensor | None = None
    u: torch.Tensor | None = None
    d: torch.Tensor | None = None


def heatmap_moments(heatmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre Σ R·p and covariance Σ R·(p − μ)(p − μ)ᵀ of (B, K, h, w) heatmaps over the grid p."""
    grid = coordinate_grid(*heatmap.shape[-2:], device=heatmap.device, dtype=heatmap.dtype)
    weights = heatmap.unsqueeze(-1)
    shift = (weights * grid).sum(dim=(2, 3))
    centred = grid - shift[:, :, None, None, :]
    covar = (centred.unsqueeze(-1) * centred.unsqueeze(-2) * weights.unsqueeze(-1)).sum(dim=(2, 3))
    return shift, covar


def covariance_square_root(covar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(affine, u, d) with affine = u·d, d = diag(√s), from the SVD of each 2×2 covariance.

    Like the reference, the SVD runs on the CPU (LAPACK), so the column signs of u, which reach
    the generator's sparse motions, are the same whatever device the network runs on.
    """
    flat = covar.reshape(-1, 2, 2)
    u, s, _ = torch.linalg.svd(flat.cpu(), full_matrices=False)
    u = u.to(device=covar.device, dtype=covar.dtype)
    d = torch.diag_embed(s.to(device=covar.device, dtype=covar.dtype) ** 0.5)
    affine = (u @ d).reshape(covar.shape)
    return affine, u, d


class RegionPredictor(nn.Module):
    """Image (B, C, S, S) in [0, 1] → :class:`RegionParams` of ``num_regions`` regions."""

    def __init__(self, config: LFGConfig) -> None:
        super().__init__()
        c = config.region_predictor
        self.estimate_affine = config.estimate_affine
        self.temperature = c.temperature
        self.predictor = Hourglass(c.block_expansion, config.num_channels, c.num_blocks, c.max_features)
        self.regions = nn.Conv2d(self.predictor.out_filters, config.num_regions, 7, padding=c.pad)
        self.down = (
            AntiAliasInterpolation2d(config.num_channels, c.scale_factor) if c.scale_factor != 1 else None
        )

    def forward(self, image: torch.Tensor) -> RegionParams:
        x = self.down(image) if self.down is not None else image
        logits = self.regions(self.predictor(x))
        b, k, h, w = logits.shape
        heatmap = F.softmax(logits.reshape(b, k, h * w) / self.temperature, dim=2).reshape(b, k, h, w)
        shift, covar = heatmap_moments(heatmap)
        if not self.estimate_affine:
            return RegionParams(shift=shift, covar=covar, heatmap=heatmap)
        affine, u, d = covariance_square_root(covar)
        return RegionParams(shift=shift, covar=covar, heatmap=heatmap, affine=affine, u=u, d=d)
