"""The three LFG networks together, and the full self-reconstruction forward (reference ``FlowAE``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .background_predictor import BackgroundMotionPredictor
from .config import LFG_128, LFGConfig
from .generator import Generator
from .region_predictor import RegionParams, RegionPredictor


@dataclass(frozen=True)
class Reconstruction:
    """Everything the reconstruction computes; ``generated`` holds the generator's outputs
    (``bottle_neck_feat``, ``optical_flow``, ``occlusion_map``, ``deformed``, ``prediction``)."""

    source_regions: RegionParams
    driving_regions: RegionParams
    bg_params: torch.Tensor
    generated: dict[str, torch.Tensor]

    @property
    def prediction(self) -> torch.Tensor:
        return self.generated["prediction"]


class LatentFlowGenerator(nn.Module):
    """``generator``, ``region_predictor`` and ``bg_predictor`` under the published section names.

    Must run in eval mode (BatchNorm with running statistics), as the reference always does.
    """

    def __init__(self, config: LFGConfig = LFG_128) -> None:
        super().__init__()
        self.config = config
        self.generator = Generator(config)
        self.region_predictor = RegionPredictor(config)
        self.bg_predictor = BackgroundMotionPredictor(config)

    def forward(self, source_image: torch.Tensor, driving_image: torch.Tensor) -> Reconstruction:
        """Reconstruct ``driving_image`` (B, C, S, S) from ``source_image`` through their regions' motion."""
        if source_image.shape != driving_image.shape:
            raise ValueError(
                f"source {tuple(source_image.shape)} and driving {tuple(driving_image.shape)} images "
                "differ in shape"
            )
        source_regions = self.region_predictor(source_image)
        driving_regions = self.region_predictor(driving_image)
        bg_params = self.bg_predictor(source_image, driving_image)
        generated = self.generator(
            source_image,
            driving_region_params=driving_regions,
            source_region_params=source_regions,
            bg_params=bg_params,
        )
        return Reconstruction(source_regions, driving_regions, bg_params, generated)
