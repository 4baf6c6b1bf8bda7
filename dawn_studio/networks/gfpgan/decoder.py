"""The StyleGAN2 decoder of GFPGANv1Clean ("clean": bilinear resampling, no blur kernels or fused ops).

Sub-module names follow the reference (``stylegan2_clean_arch.py`` and ``StyleGAN2GeneratorCSFT``)
so the state-dict keys are those of the published weight files.

Modulation is applied to the activations instead of to a per-sample copy of the weights:
``conv(x * s, W) * d`` equals the reference's ``conv(x, W * s * d)`` with a grouped convolution, but
every sample of a batch shares one ordinary convolution (faster on GPUs and in half precision, no
per-sample weight tensors). The demodulation factors are computed in float32 whatever the
activations' precision, because their sums of squares overflow float16.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import GFPGANConfig

LEAKY_SLOPE = 0.2


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class StyleNormalisation(nn.Module):
    """Scale style codes to unit root-mean-square along dim 1 (the features of a (B, F) code).

    For a (B, L, F) code the reference normalises along dim 1 as well (across the layers); the
    published network never runs its style MLP (``input_is_latent``), and this keeps that quirk.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled per sample by an affine map of the style."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, num_style_feat: int, *,
        demodulate: bool, upsample: bool, eps: float = 1e-8,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.demodulate, self.upsample, self.eps = demodulate, upsample, eps
        self.modulation = nn.Linear(num_style_feat, in_channels, bias=True)
        # Channel scales start near 1 (a freshly built network, e.g. the tiny test set, stays tame).
        nn.init.normal_(self.modulation.weight, std=1.0 / math.sqrt(num_style_feat))
        nn.init.ones_(self.modulation.bias)
        # The leading 1 is the reference's layout (a batch axis it broadcasts over).
        self.weight = nn.Parameter(
            torch.randn(1, out_channels, in_channels, kernel_size, kernel_size)
            / math.sqrt(in_channels * kernel_size**2)
        )

    def forward(self, x: torch.Tensor, style: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """(B, in, H, W) features and (B, num_style_feat) styles → (B, out, H', W'), times ``gain``."""
        channel_scale = self.modulation(style)  # (B, in)
        kernel = self.weight[0]
        x = x * channel_scale[:, :, None, None].to(x.dtype)
        if self.upsample:
            x = upsample2x(x)
        out = F.conv2d(x, kernel.to(x.dtype), padding=self.kernel_size // 2)
        if self.demodulate:
            # Squared norm of each sample's modulated kernel row: sum_i s_i² · sum_k W[o,i,k]².
            energy = kernel.float().pow(2).sum(dim=(2, 3))  # (out, in)
            factor = torch.rsqrt(channel_scale.float().pow(2) @ energy.t() + self.eps) * gain
            out = out * factor[:, :, None, None].to(out.dtype)
        elif gain != 1.0:
            out = out * gain
        return out


class StyleConv(nn.Module):
    """Modulated 3×3 convolution, stored noise scaled by a learned weight, bias, leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, num_style_feat: int, *, upsample: bool) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(
            in_channels, out_channels, 3, num_style_feat, demodulate=True, upsample=upsample,
        )
        self.weight = nn.Parameter(torch.zeros(1))  # strength of the injected noise
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        # sqrt(2) restores the variance the leaky ReLU removes (the reference's "for conversion").
        out = self.modulated_conv(x, style, gain=math.sqrt(2.0))
        # In place: the convolution's output is a fresh tensor, and these passes dominate at 512².
        out.add_(self.bias.to(out.dtype)).add_(self.weight.to(out.dtype) * noise.to(out.dtype))
        return F.leaky_relu_(out, LEAKY_SLOPE)


class ToRGB(nn.Module):
    """Modulated 1×1 convolution to RGB (no demodulation), added to the up-sampled previous RGB."""

    def __init__(self, in_channels: int, num_style_feat: int, *, upsample_skip: bool) -> None:
        super().__init__()
        self.upsample_skip = upsample_skip
        self.modulated_conv = ModulatedConv2d(
            in_channels, 3, 1, num_style_feat, demodulate=False, upsample=False,
        )
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.modulated_conv(x, style) + self.bias.to(x.dtype)
        if skip is not None:
            out = out + (upsample2x(skip) if self.upsample_skip else skip)
        return out


class ConstantInput(nn.Module):
    """The learned 4×4 start of the decoder, shared by every sample."""

    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.weight.expand(batch, -1, -1, -1)


class SFTStyleGAN2Decoder(nn.Module):
    """StyleGAN2 generator whose features are modulated by the encoder's spatial (SFT) conditions.

    At every level after its up-sampling convolution, ``features * scale + shift`` is applied to
    the second half of the channels (``sft_half``) or to all of them.
    """

    def __init__(self, config: GFPGANConfig) -> None:
        super().__init__()
        self.config = config
        feat = config.num_style_feat
        mlp: list[nn.Module] = [StyleNormalisation()]
        for _ in range(config.num_mlp):
            mlp += [nn.Linear(feat, feat, bias=True), nn.LeakyReLU(LEAKY_SLOPE)]
        self.style_mlp = nn.Sequential(*mlp)

        start = config.decoder_channels(4)
        self.constant_input = ConstantInput(start, size=4)
        self.style_conv1 = StyleConv(start, start, feat, upsample=False)
        self.to_rgb1 = ToRGB(start, feat, upsample_skip=False)

        self.style_convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        in_channels = start
        for size in config.resolutions:
            out_channels = config.decoder_channels(size)
            self.style_convs.append(StyleConv(in_channels, out_channels, feat, upsample=True))
            self.style_convs.append(StyleConv(out_channels, out_channels, feat, upsample=False))
            self.to_rgbs.append(ToRGB(out_channels, feat, upsample_skip=True))
            in_channels = out_channels

        # Fixed noise maps, one per style convolution: 4², 8², 8², 16², 16², …
        self.noises = nn.Module()
        for index in range(config.num_noise_layers):
            side = 2 ** ((index + 5) // 2)
            self.noises.register_buffer(f"noise{index}", torch.randn(1, 1, side, side))

    def stored_noise(self) -> list[torch.Tensor]:
        return [getattr(self.noises, f"noise{i}") for i in range(self.config.num_noise_layers)]

    def forward(
        self, latents: torch.Tensor, conditions: list[tuple[torch.Tensor, torch.Tensor]],
    ) -> torch.Tensor:
        """(B, num_latents, F) latents and one (scale, shift) pair per level → (B, 3, S, S) image."""
        noise = self.stored_noise()
        out = self.constant_input(latents.shape[0]).to(conditions[0][0].dtype)
        out = self.style_conv1(out, latents[:, 0], noise[0])
        rgb = self.to_rgb1(out, latents[:, 1])
        for level, (scale, shift) in enumerate(conditions):
            first = 2 * level + 1
            conv_up, conv_same = self.style_convs[2 * level], self.style_convs[2 * level + 1]
            out = conv_up(out, latents[:, first], noise[first])
            out = self._apply_sft(out, scale, shift)
            out = conv_same(out, latents[:, first + 1], noise[first + 1])
            rgb = self.to_rgbs[level](out, latents[:, first + 2], rgb)
        return rgb

    def _apply_sft(self, features: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        if not self.config.sft_half:
            return features * scale + shift
        half = features.shape[1] // 2
        kept, modulated = features[:, :half], features[:, half:]
        return torch.cat([kept, modulated * scale + shift], dim=1)
