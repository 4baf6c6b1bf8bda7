"""TDDFA 3DMM-parameter regressor: the MobileNet V1 variant of 3DDFA_V2 (``mb1``/``mb05`` weights).

Input: a 120x120 BGR face crop normalised as ``(pixel - 127.5) / 128``, ``(N, 3, 120, 120)``.
Output: ``(N, 62)`` parameters in the normalised space (de-normalise with ``ParamStats``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# (name, channels in, channels out, stride) at widen factor 1.0.
_BLOCKS: tuple[tuple[str, int, int, int], ...] = (
    ("dw2_1", 32, 64, 1), ("dw2_2", 64, 128, 2),
    ("dw3_1", 128, 128, 1), ("dw3_2", 128, 256, 2),
    ("dw4_1", 256, 256, 1), ("dw4_2", 256, 512, 2),
    ("dw5_1", 512, 512, 1), ("dw5_2", 512, 512, 1), ("dw5_3", 512, 512, 1),
    ("dw5_4", 512, 512, 1), ("dw5_5", 512, 512, 1), ("dw5_6", 512, 1024, 2),
    ("dw6", 1024, 1024, 1),
)


@dataclass(frozen=True)
class TDDFAConfig:
    """``widen_factor`` 1.0 = ``mb1_120x120``, 0.5 = ``mb05_120x120``.

    62 parameters = 12 camera + 40 shape + 10 expression.
    """

    widen_factor: float = 1.0
    num_params: int = 62
    input_size: int = 120

    def __post_init__(self) -> None:
        # Multiples of 1/32 give whole channel counts everywhere, so the factor can be read back from a file.
        if self.widen_factor <= 0 or self.widen_factor * 32 != round(self.widen_factor * 32):
            raise ValueError(
                f"TDDFA widen factor must be a positive multiple of 1/32, not {self.widen_factor}"
            )

    def channels(self, base: int) -> int:
        return int(base * self.widen_factor)


MB1 = TDDFAConfig(widen_factor=1.0)
MB05 = TDDFAConfig(widen_factor=0.5)
TINY = TDDFAConfig(widen_factor=0.125)


class DepthWiseBlock(nn.Module):
    """Depthwise 3x3 + BN + ReLU, then pointwise 1x1 + BN + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(
            in_channels, in_channels, kernel_size=3, padding=1, stride=stride, groups=in_channels, bias=False,
        )
        self.bn_dw = nn.BatchNorm2d(in_channels)
        self.conv_sep = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.bn_sep = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn_dw(self.conv_dw(x)))
        return F.relu(self.bn_sep(self.conv_sep(x)))


class MobileNetTDDFA(nn.Module):
    """MobileNet V1 with global average pooling and a linear head ``fc`` to the 3DMM parameters."""

    def __init__(self, config: TDDFAConfig = MB1) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.conv1 = nn.Conv2d(3, c(32), kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c(32))
        for name, cin, cout, stride in _BLOCKS:
            self.add_module(name, DepthWiseBlock(c(cin), c(cout), stride))
        self.fc = nn.Linear(c(1024), config.num_params)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled ``(N, C)`` features, shared by the parameter head and the landmark head."""
        x = F.relu(self.bn1(self.conv1(x)))
        for name, *_ in _BLOCKS:
            x = getattr(self, name)(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class LandmarkHead(nn.Linear):
    """3DDFA_V2's auxiliary 2-D landmark regressor (``fc_lm`` in the weight files), on ``features``.

    Output ``(N, 136)`` = 68 x coordinates then 68 y coordinates, with -1..1 spanning the crop.
    The reference never uses it; here it estimates eye ratios and the face box when the BFM
    face model is missing.
    """

    OUTPUTS = 136

    def __init__(self, config: TDDFAConfig = MB1) -> None:
        super().__init__(config.channels(1024), self.OUTPUTS)


def landmarks_from_head(output: torch.Tensor, roi_boxes: torch.Tensor) -> torch.Tensor:
    """``(N, 136)`` head output + ``(N, 4)`` crop boxes [sx, sy, ex, ey] -> ``(N, 68, 2)`` image pixels."""
    points = output.reshape(-1, 2, 68).transpose(1, 2)
    start, end = roi_boxes[:, None, :2].to(points.dtype), roi_boxes[:, None, 2:].to(points.dtype)
    return start + (points + 1) / 2 * (end - start)


def normalise_crops(crops_bgr: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` BGR crops -> float32 ``(N, 3, H, W)`` network input ``(x - 127.5) / 128``."""
    return (crops_bgr.to(torch.float32).permute(0, 3, 1, 2) - 127.5) / 128.0
