"""Background motion predictor: one global 3×3 transform per (source, driving) image pair."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import Encoder
from .config import BACKGROUND_PARAMS, LFGConfig


class BackgroundMotionPredictor(nn.Module):
    """cat(source, driving) at full resolution → encoder → spatial mean → ``fc`` → (B, 3, 3).

    ``bg_type`` "affine" (published) fills the top two rows, "shift" only the translation,
    "perspective" also the bottom row's first two entries, "zero" always returns the identity.
    """

    def __init__(self, config: LFGConfig) -> None:
        super().__init__()
        c = config.bg_predictor
        self.bg_type = c.bg_type
        identity = BACKGROUND_PARAMS[c.bg_type]
        if identity:
            self.encoder = Encoder(c.block_expansion, 2 * config.num_channels, c.num_blocks, c.max_features)
            deepest = min(c.max_features, c.block_expansion * 2**c.num_blocks)
            self.fc = nn.Linear(deepest, len(identity))
            with torch.no_grad():
                self.fc.weight.zero_()
                self.fc.bias.copy_(torch.tensor(identity))

    def forward(self, source_image: torch.Tensor, driving_image: torch.Tensor) -> torch.Tensor:
        b = source_image.shape[0]
        eye = torch.eye(3, device=source_image.device, dtype=source_image.dtype).expand(b, 3, 3)
        if self.bg_type == "zero":
            return eye.clone()
        features = self.encoder(torch.cat([source_image, driving_image], dim=1))[-1]
        params = self.fc(features.mean(dim=(2, 3)))
        if self.bg_type == "shift":
            top = torch.cat([eye[:, :2, :2], params.reshape(b, 2, 1)], dim=2)
            return torch.cat([top, eye[:, 2:]], dim=1)
        top = params[:, :6].reshape(b, 2, 3)
        if self.bg_type == "affine":
            return torch.cat([top, eye[:, 2:]], dim=1)
        bottom = torch.cat([params[:, 6:].reshape(b, 1, 2), eye[:, 2:, 2:]], dim=2)
        return torch.cat([top, bottom], dim=1)
