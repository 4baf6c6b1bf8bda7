"""Pixel-wise flow predictor: sparse per-region motions → one dense sampling grid and occlusion map.

Only the full LFG reconstruction uses it; DAWN inference replaces its output by the flows the
diffusion model generates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import AntiAliasInterpolation2d, Hourglass
from .config import LFGConfig
from .geometry import coordinate_grid, region_gaussians
from .region_predictor import RegionParams


class PixelwiseFlowPredictor(nn.Module):
    """Source image + source/driving regions + background transform → ``optical_flow`` (B, h, w, 2)
    (absolute grid_sample positions) and ``occlusion_map`` (B, 1, h, w) at ``scale_factor`` of the image."""

    def __init__(self, config: LFGConfig) -> None:
        super().__init__()
        c = config.generator.flow_predictor
        self.num_regions = config.num_regions
        self.revert_axis_swap = config.revert_axis_swap
        self.use_deformed_source = c.use_deformed_source
        self.use_covar_heatmap = c.use_covar_heatmap
        self.region_var = float(c.region_var)
        slots = config.num_regions + 1
        in_features = slots * (config.num_channels + 1) if c.use_deformed_source else slots
        self.hourglass = Hourglass(c.block_expansion, in_features, c.num_blocks, c.max_features)
        self.mask = nn.Conv2d(self.hourglass.out_filters, slots, 7, padding=3)
        self.occlusion = (
            nn.Conv2d(self.hourglass.out_filters, 1, 7, padding=3) if c.estimate_occlusion_map else None
        )
        self.down = (
            AntiAliasInterpolation2d(config.num_channels, c.scale_factor) if c.scale_factor != 1 else None
        )

    def heatmap_difference(self, driving: RegionParams, source: RegionParams, h: int, w: int) -> torch.Tensor:
        """(B, K+1, 1, h, w): driving minus source region Gaussians, a zero background map first."""
        drv_covar = driving.covar if self.use_covar_heatmap else self.region_var
        src_covar = source.covar if self.use_covar_heatmap else self.region_var
        diff = region_gaussians(driving.shift, drv_covar, h, w) - region_gaussians(
            source.shift, src_covar, h, w
        )
        zeros = diff.new_zeros(diff.shape[0], 1, h, w)
        return torch.cat([zeros, diff], dim=1).unsqueeze(2)

    def sparse_motions(
        self, driving: RegionParams, source: RegionParams, bg_params: torch.Tensor | None, h: int, w: int
    ) -> torch.Tensor:
        """(B, K+1, h, w, 2): where each driving pixel comes from under each motion, background first."""
        shift_d, shift_s = driving.shift, source.shift
        b = shift_d.shape[0]
        grid = coordinate_grid(h, w, device=shift_d.device, dtype=shift_d.dtype)
        coords = grid - shift_d[:, :, None, None, :]
        if driving.affine is not None and source.affine is not None:
            affine = source.affine @ torch.inverse(driving.affine)
            if self.revert_axis_swap:
                affine = affine * torch.sign(affine[:, :, 0:1, 0:1])
            coords = (affine[:, :, None, None] @ coords.unsqueeze(-1)).squeeze(-1)
        regions = coords + shift_s[:, :, None, None, :]
        background = grid.expand(b, 1, h, w, 2)
        if bg_params is not None:
            homogeneous = torch.cat([background, background.new_ones(b, 1, h, w, 1)], dim=-1)
            moved = (bg_params[:, None, None, None] @ homogeneous.unsqueeze(-1)).squeeze(-1)
            background = moved[..., :2] / moved[..., 2:3]
        return torch.cat([background, regions], dim=1)

    @staticmethod
    def deformed_sources(image: torch.Tensor, motions: torch.Tensor) -> torch.Tensor:
        """(B, K+1, C, h, w): the (down-scaled) source warped by every sparse motion."""
        b, c, h, w = image.shape
        slots = motions.shape[1]
        repeated = image[:, None].expand(b, slots, c, h, w).reshape(b * slots, c, h, w)
        warped = F.grid_sample(repeated, motions.reshape(b * slots, h, w, 2), align_corners=False)
        return warped.reshape(b, slots, c, h, w)

    def forward(
        self,
        source_image: torch.Tensor,
        driving_region_params: RegionParams,
        source_region_params: RegionParams,
        bg_params: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        image = self.down(source_image) if self.down is not None else source_image
        b, _, h, w = image.shape
        heatmaps = self.heatmap_difference(driving_region_params, source_region_params, h, w)
        motions = self.sparse_motions(driving_region_params, source_region_params, bg_params, h, w)
        if self.use_deformed_source:
            inputs = torch.cat([heatmaps, self.deformed_sources(image, motions)], dim=2)
        else:
            inputs = heatmaps
        features = self.hourglass(inputs.reshape(b, -1, h, w))
        weights = F.softmax(self.mask(features), dim=1)
        flow = (motions * weights.unsqueeze(-1)).sum(dim=1)
        out = {"optical_flow": flow}
        if self.occlusion is not None:
            out["occlusion_map"] = torch.sigmoid(self.occlusion(features))
        return out
