"""FaceBoxes face detector network (the ``FaceBoxesProd.pth`` architecture of 3DDFA_V2).

State-dict keys equal the published file's, so the weights load strictly without renaming.
Channel counts scale with ``FaceBoxesConfig.width`` so that tests can build small random models
of the same structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Anchors per feature-map cell of the three detection sources (see priors.py).
ANCHORS_PER_CELL: tuple[int, int, int] = (21, 1, 1)


@dataclass(frozen=True)
class FaceBoxesConfig:
    """Width of the detector; ``width=1.0`` is the published model."""

    width: float = 1.0
    num_classes: int = 2

    def __post_init__(self) -> None:
        # Every layer's channel count is a multiple of 8 at full width; multiples of 1/8 keep them whole,
        # so the width can be read back from a saved file.
        if self.width <= 0 or self.width * 8 != round(self.width * 8):
            raise ValueError(f"FaceBoxes width must be a positive multiple of 1/8, not {self.width}")

    def channels(self, base: int) -> int:
        return int(round(base * self.width))


PUBLISHED = FaceBoxesConfig()
TINY = FaceBoxesConfig(width=0.125)


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **conv_args: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_args)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class CReLU(nn.Module):
    """Convolution + batch norm, then ``relu(concat[x, -x])``: twice the channels for half the work."""

    def __init__(self, in_channels: int, out_channels: int, **conv_args: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_args)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(torch.cat([x, -x], dim=1))


class Inception(nn.Module):
    """Four branches (1x1, pool+1x1, 1x1+3x3, 1x1+3x3+3x3) concatenated."""

    def __init__(self, channels: int, branch: int, reduce: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(channels, branch, kernel_size=1, padding=0)
        self.branch1x1_2 = BasicConv2d(channels, branch, kernel_size=1, padding=0)
        self.branch3x3_reduce = BasicConv2d(channels, reduce, kernel_size=1, padding=0)
        self.branch3x3 = BasicConv2d(reduce, branch, kernel_size=3, padding=1)
        self.branch3x3_reduce_2 = BasicConv2d(channels, reduce, kernel_size=1, padding=0)
        self.branch3x3_2 = BasicConv2d(reduce, branch, kernel_size=3, padding=1)
        self.branch3x3_3 = BasicConv2d(branch, branch, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([
            self.branch1x1(x),
            self.branch1x1_2(pooled),
            self.branch3x3(self.branch3x3_reduce(x)),
            self.branch3x3_3(self.branch3x3_2(self.branch3x3_reduce_2(x))),
        ], dim=1)


class FaceBoxesNet(nn.Module):
    """Input: BGR float ``(N, 3, H, W)`` minus the means (104, 117, 123).

    Output: ``loc (N, A, 4)`` box regressions and ``conf (N, A, 2)`` softmax scores
    [background, face] over all anchors ``A`` (order of ``priors.prior_boxes``).
    """

    def __init__(self, config: FaceBoxesConfig = PUBLISHED) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        stem, body, wide = c(24), c(64), c(128)
        branch, reduce = c(32), c(24)
        self.conv1 = CReLU(3, stem, kernel_size=7, stride=4, padding=3)
        self.conv2 = CReLU(2 * stem, body, kernel_size=5, stride=2, padding=2)
        self.inception1 = Inception(2 * body, branch, reduce)
        self.inception2 = Inception(4 * branch, branch, reduce)
        self.inception3 = Inception(4 * branch, branch, reduce)
        self.conv3_1 = BasicConv2d(4 * branch, wide, kernel_size=1, stride=1, padding=0)
        self.conv3_2 = BasicConv2d(wide, c(256), kernel_size=3, stride=2, padding=1)
        self.conv4_1 = BasicConv2d(c(256), wide, kernel_size=1, stride=1, padding=0)
        self.conv4_2 = BasicConv2d(wide, c(256), kernel_size=3, stride=2, padding=1)
        sources = (4 * branch, c(256), c(256))
        k = config.num_classes
        heads = list(zip(sources, ANCHORS_PER_CELL, strict=True))
        self.loc = nn.ModuleList(nn.Conv2d(ch, n * 4, kernel_size=3, padding=1) for ch, n in heads)
        self.conf = nn.ModuleList(nn.Conv2d(ch, n * k, kernel_size=3, padding=1) for ch, n in heads)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.conv1(x), kernel_size=3, stride=2, padding=1)
        x = F.max_pool2d(self.conv2(x), kernel_size=3, stride=2, padding=1)
        source1 = self.inception3(self.inception2(self.inception1(x)))
        source2 = self.conv3_2(self.conv3_1(source1))
        source3 = self.conv4_2(self.conv4_1(source2))
        batch = x.shape[0]
        locs, confs = [], []
        heads = zip((source1, source2, source3), self.loc, self.conf, strict=True)
        for source, loc_head, conf_head in heads:
            locs.append(loc_head(source).permute(0, 2, 3, 1).reshape(batch, -1))
            confs.append(conf_head(source).permute(0, 2, 3, 1).reshape(batch, -1))
        loc = torch.cat(locs, dim=1).view(batch, -1, 4)
        conf = torch.cat(confs, dim=1).view(batch, -1, self.config.num_classes)
        return loc, F.softmax(conf, dim=-1)
