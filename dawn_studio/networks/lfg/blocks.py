"""Convolution blocks shared by the LFG networks (reference ``LFG/modules/util.py``).

Sub-module names are the reference's, so state-dict keys match the published checkpoints.
Normalisation is ``nn.BatchNorm2d``: the reference's SynchronizedBatchNorm2d has the same
entries and, in eval mode, the same arithmetic.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1, affine=True)


class SameBlock2d(nn.Module):
    """conv → BN → ReLU at the same resolution."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = _norm(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)))


class DownBlock2d(nn.Module):
    """conv → BN → ReLU → 2×2 average pooling (halves the side)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, 3, padding=1)
        self.norm = _norm(out_features)
        self.pool = nn.AvgPool2d(kernel_size=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class UpBlock2d(nn.Module):
    """Nearest-neighbour ×2 up-sampling → conv → BN → ReLU (doubles the side)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, 3, padding=1)
        self.norm = _norm(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2))))


class ResBlock2d(nn.Module):
    """Pre-activation residual block: x + conv2(relu(norm2(conv1(relu(norm1(x))))))."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.norm1 = _norm(features)
        self.norm2 = _norm(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return x + self.conv2(F.relu(self.norm2(out)))


class Encoder(nn.Module):
    """``num_blocks`` down blocks; returns the input followed by every block's output."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DownBlock2d(
                in_features if i == 0 else min(max_features, block_expansion * 2**i),
                min(max_features, block_expansion * 2 ** (i + 1)),
            )
            for i in range(num_blocks)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = [x]
        for block in self.down_blocks:
            maps.append(block(maps[-1]))
        return maps


class Decoder(nn.Module):
    """Up blocks from the deepest encoder map; after each, ``[upsampled, skip]`` are concatenated."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            widen = 1 if i == num_blocks - 1 else 2
            blocks.append(
                UpBlock2d(
                    widen * min(max_features, block_expansion * 2 ** (i + 1)),
                    min(max_features, block_expansion * 2**i),
                )
            )
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features

    def forward(self, maps: list[torch.Tensor]) -> torch.Tensor:
        skips = list(maps)
        out = skips.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net style encoder/decoder; output has ``block_expansion + in_features`` channels."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def gaussian_kernel(channels: int, scale: float) -> torch.Tensor:
    """The reference's normalised Gaussian (σ = (1/scale − 1)/2), one copy per channel: (C, 1, k, k)."""
    sigma = (1 / scale - 1) / 2
    size = 2 * round(sigma * 4) + 1
    coords = torch.arange(size, dtype=torch.float32)
    profile = torch.exp(-((coords - (size - 1) / 2) ** 2) / (2 * sigma**2))
    kernel = profile[:, None] * profile[None, :]
    kernel = kernel / kernel.sum()
    return kernel.expand(channels, 1, size, size).clone()


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur with zero padding, then keep every n-th row/column from the first (scale 1/n).

    The kernel is a persistent buffer named ``weight`` because the published checkpoints hold it.
    """

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        self.register_buffer("weight", gaussian_kernel(channels, scale))
        size = self.weight.shape[-1]
        self.pad_before = size // 2
        self.pad_after = self.pad_before - 1 if size % 2 == 0 else self.pad_before
        self.step = int(round(1 / scale))
        self.groups = channels
        if not math.isclose(self.step * scale, 1.0):
            raise ValueError(f"anti-alias scale must be 1/n, got {scale}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.pad_before, self.pad_after
        out = F.conv2d(F.pad(x, (a, b, a, b)), self.weight, groups=self.groups)
        return out[:, :, :: self.step, :: self.step]
