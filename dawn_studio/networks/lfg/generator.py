"""Generator: encodes the portrait, warps its features with a dense flow and occlusion map, decodes a frame.

DAWN inference uses :meth:`Generator.compute_fea` (the diffusion model's image condition) and
:meth:`Generator.forward_with_flow` (rendering a generated flow). Both accept one portrait with
many flows: the portrait is encoded once and its features are shared by every frame.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d
from .config import LFGConfig
from .flow_predictor import PixelwiseFlowPredictor
from .geometry import resize_flow, resize_map
from .region_predictor import RegionParams


class Generator(nn.Module):
    """``checkpoint["generator"]``: source encoder, bottleneck, warped decoder, flow predictor."""

    def __init__(self, config: LFGConfig) -> None:
        super().__init__()
        c = config.generator
        self.pixelwise_flow_predictor = PixelwiseFlowPredictor(config)
        self.first = SameBlock2d(config.num_channels, c.block_expansion, kernel_size=7, padding=3)

        def width(level: int) -> int:
            return min(c.max_features, c.block_expansion * 2**level)

        n = c.num_down_blocks
        self.down_blocks = nn.ModuleList(DownBlock2d(width(i), width(i + 1)) for i in range(n))
        self.up_blocks = nn.ModuleList(UpBlock2d(width(n - i), width(n - i - 1)) for i in range(n))
        self.bottleneck = nn.Sequential(
            OrderedDict((f"r{i}", ResBlock2d(width(n))) for i in range(c.num_bottleneck_blocks))
        )
        self.final = nn.Conv2d(c.block_expansion, config.num_channels, 7, padding=3)
        self.skips = c.skips
        self.num_channels = config.num_channels

    # ---- encoder ---------------------------------------------------------------------------
    def encode(self, source_image: torch.Tensor) -> list[torch.Tensor]:
        """``[source, first(source), down_0(...), …]``: every map the decoder warps, shallowest first."""
        self._check_image(source_image)
        maps = [source_image, self.first(source_image)]
        for block in self.down_blocks:
            maps.append(block(maps[-1]))
        return maps

    def compute_fea(self, source_image: torch.Tensor) -> torch.Tensor:
        """Image features (B, feature_channels, S/4, S/4) of the portrait, before the bottleneck."""
        return self.encode(source_image)[-1]

    # ---- decoder ---------------------------------------------------------------------------
    def decode(
        self,
        encoded: list[torch.Tensor],
        optical_flow: torch.Tensor,
        occlusion_map: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """Render one frame per flow from :meth:`encode` maps (batch 1 = shared by every flow).

        optical_flow (N, h, w, 2) absolute grid_sample positions (x, y); occlusion_map (N, 1, h, w)
        in [0, 1], 1 = take the warped source. Returns ``prediction`` and ``deformed`` (the source
        warped by the flow), each (N, C, S, S).
        """
        frames = optical_flow.shape[0]
        if occlusion_map is not None and occlusion_map.shape[0] != frames:
            raise ValueError(f"{frames} flows but {occlusion_map.shape[0]} occlusion maps; give one per flow")
        maps = [self._broadcast(m, frames) for m in encoded]
        occlusions: dict[tuple[int, int], torch.Tensor] = {}
        grids: dict[tuple[int, int], torch.Tensor] = {}

        def warp(values: torch.Tensor) -> torch.Tensor:
            # Each resolution's resized flow is computed once per call, not once per warp.
            key = (values.shape[-2], values.shape[-1])
            if key not in grids:
                grids[key] = resize_flow(optical_flow, *key)
            return F.grid_sample(
                values, grids[key], mode="bilinear", padding_mode="zeros", align_corners=False
            )

        def blend(skip: torch.Tensor, warped: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
            if occlusion_map is None:
                return warped
            key = (skip.shape[-2], skip.shape[-1])
            if key not in occlusions:
                occlusions[key] = resize_map(occlusion_map, *key)
            occ = occlusions[key]
            if previous is None:
                return warped * occ
            return warped * occ + previous * (1 - occ)

        source, deepest = maps[0], maps[-1]
        deformed = warp(source)
        warped_deepest = warp(deepest)
        out = self.bottleneck(blend(deepest, warped_deepest, None))
        for i, block in enumerate(self.up_blocks):
            if self.skips:
                skip = maps[-(i + 1)]
                warped = warped_deepest if i == 0 else warp(skip)
                out = blend(skip, warped, out)
            out = block(out)
        if self.skips:
            out = blend(maps[1], warp(maps[1]), out)
        out = torch.sigmoid(self.final(out))
        if self.skips:
            out = blend(source, deformed, out)
        return {"deformed": deformed, "prediction": out}

    def forward_with_flow(
        self, source_image: torch.Tensor, optical_flow: torch.Tensor, occlusion_map: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Frames for given flows: source (B or 1, C, S, S), flow (B, h, w, 2), occlusion (B, 1, h, w)."""
        self.check_flow_inputs(source_image, optical_flow, occlusion_map)
        return self.decode(self.encode(source_image), optical_flow, occlusion_map)

    def forward(
        self,
        source_image: torch.Tensor,
        driving_region_params: RegionParams,
        source_region_params: RegionParams,
        bg_params: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Reconstruction: the flow predictor's flow and occlusion, then the decoder as above.

        Returns ``bottle_neck_feat``, ``optical_flow``, ``occlusion_map`` (when estimated),
        ``deformed`` and ``prediction``.
        """
        encoded = self.encode(source_image)
        motion = self.pixelwise_flow_predictor(
            source_image, driving_region_params, source_region_params, bg_params
        )
        decoded = self.decode(encoded, motion["optical_flow"], motion.get("occlusion_map"))
        return {"bottle_neck_feat": encoded[-1], **motion, **decoded}

    # ---- checks ----------------------------------------------------------------------------
    @staticmethod
    def _broadcast(values: torch.Tensor, frames: int) -> torch.Tensor:
        if values.shape[0] == frames:
            return values
        if values.shape[0] != 1:
            raise ValueError(
                f"{values.shape[0]} portraits for {frames} flows; give one portrait or one per flow"
            )
        return values.expand(frames, *values.shape[1:])

    def _check_image(self, image: torch.Tensor) -> None:
        if image.ndim != 4 or image.shape[1] != self.num_channels:
            raise ValueError(
                f"the portrait must be (batch, {self.num_channels}, height, width), got {tuple(image.shape)}"
            )
        multiple = 2 ** len(self.down_blocks)
        if image.shape[-1] % multiple or image.shape[-2] % multiple:
            raise ValueError(
                f"the portrait's sides must be multiples of {multiple}, got {tuple(image.shape[-2:])}"
            )

    @staticmethod
    def check_flow_inputs(
        source_image: torch.Tensor, optical_flow: torch.Tensor, occlusion_map: torch.Tensor | None
    ) -> None:
        """ValueError naming the problem when portrait, flows and occlusion maps do not fit together."""
        if optical_flow.ndim != 4 or optical_flow.shape[-1] != 2:
            raise ValueError(f"the flow must be (frames, height, width, 2), got {tuple(optical_flow.shape)}")
        if occlusion_map is not None and (
            occlusion_map.ndim != 4
            or occlusion_map.shape[1] != 1
            or occlusion_map.shape[-2:] != optical_flow.shape[1:3]
        ):
            raise ValueError(
                f"the occlusion map must be (frames, 1, {optical_flow.shape[1]}, {optical_flow.shape[2]}), "
                f"got {tuple(occlusion_map.shape)}"
            )
        if source_image.shape[0] not in (1, optical_flow.shape[0]):
            raise ValueError(
                f"{source_image.shape[0]} portraits for {optical_flow.shape[0]} flows; "
                "give one portrait or one per flow"
            )
