"""The A2V denoiser: a 3D U-Net over (b, C, T, H, W) latents (reference ``DynamicNfUnet3D``).

Predicts the noise of the 3 flow/occlusion channels given the noisy latent, the frame-constant image
condition (LFG features + face-location embedding), the diffusion time and the per-frame
audio/pose/eye condition. The frame count is read from the inputs; nothing about it is stored.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .conditioning import ConditionedResnetBlock
from .config import TemporalAttentionImpl, UnetConfig
from .layers import ChannelLayerNorm, PreNorm, Residual, SinusoidalTimeEmbedding, downsample, upsample
from .spatial_attention import AlongPositions, SpatialAttention, SpatialLinearAttention
from .temporal_attention import AlongFrames, RelativePositionBias, RotaryEmbedding, TemporalAttention


class Unet3D(nn.Module):
    """U-Net with per-frame conditioned residual blocks, spatial and temporal attention at every level."""

    def __init__(self, config: UnetConfig) -> None:
        super().__init__()
        self.config = config
        self._configured_temporal_attention = config.temporal_attention
        c = config
        dims = [c.dim, *(c.dim * m for m in c.dim_mults)]
        in_out = list(zip(dims[:-1], dims[1:], strict=True))
        levels = len(in_out)
        rotary = RotaryEmbedding(min(c.rotary_max_dim, c.attn_dim_head))

        def temporal(dim: int) -> Residual:
            attention = TemporalAttention(dim, rotary, c.attn_heads, c.attn_dim_head, c.temporal_attention)
            return Residual(PreNorm(dim, AlongFrames(attention)))

        def spatial_linear(dim: int) -> Residual:
            return Residual(PreNorm(dim, SpatialLinearAttention(dim, c.attn_heads, c.attn_dim_head)))

        def resnet(dim: int, dim_out: int, conditioned: bool = True) -> ConditionedResnetBlock:
            return ConditionedResnetBlock(
                dim,
                dim_out,
                groups=c.resnet_groups,
                time_dim=c.time_dim if conditioned else None,
                audio_dim=c.audio_dim,
                pose_dim=c.pose_dim,
                eye_dim=c.eye_dim,
                heads=c.cross_attn_heads,
                dim_head=c.cross_attn_dim_head,
                scale=c.cross_attn_scale,
            )

        self.time_rel_pos_bias = RelativePositionBias(
            c.attn_heads,
            c.rel_pos_buckets,
            c.rel_pos_max_distance,
            c.win_width,
        )
        pad = c.init_kernel_size // 2
        self.init_conv = nn.Conv3d(
            c.in_channels,
            c.dim,
            (1, c.init_kernel_size, c.init_kernel_size),
            padding=(0, pad, pad),
        )
        self.init_temporal_attn = temporal(c.dim)
        self.time_mlp = nn.Sequential(
            SinusoidalTimeEmbedding(c.dim),
            nn.Linear(c.dim, c.time_dim),
            nn.GELU(),
            nn.Linear(c.time_dim, c.time_dim),
        )
        self.downs = nn.ModuleList(
            nn.ModuleList(
                [
                    resnet(dim_in, dim_out),
                    resnet(dim_out, dim_out),
                    spatial_linear(dim_out),
                    temporal(dim_out),
                    downsample(dim_out) if i < levels - 1 else nn.Identity(),
                ]
            )
            for i, (dim_in, dim_out) in enumerate(in_out)
        )
        mid = dims[-1]
        self.mid_block1 = resnet(mid, mid)
        mid_attention = SpatialAttention(mid, c.attn_heads, c.attn_dim_head)
        self.mid_spatial_attn = Residual(PreNorm(mid, AlongPositions(mid_attention)))
        self.mid_temporal_attn = temporal(mid)
        self.mid_block2 = resnet(mid, mid)
        self.ups = nn.ModuleList(
            nn.ModuleList(
                [
                    resnet(dim_out * 2, dim_in),
                    resnet(dim_in, dim_in),
                    spatial_linear(dim_in),
                    temporal(dim_in),
                    upsample(dim_in) if i < levels - 1 else nn.Identity(),
                ]
            )
            for i, (dim_in, dim_out) in enumerate(reversed(in_out))
        )
        self.final_conv = nn.Sequential(resnet(c.dim * 2, c.dim, False), nn.Conv3d(c.dim, c.out_grid_dim, 1))
        self.occlusion_map = nn.Sequential(
            resnet(c.dim * 2, c.dim, False), nn.Conv3d(c.dim, c.out_conf_dim, 1)
        )

    def set_temporal_attention(self, impl: TemporalAttentionImpl) -> None:
        """Switch every temporal attention between "banded" (default) and the reference's "dense" form."""
        self.config = dataclasses.replace(self.config, temporal_attention=impl)
        for module in self.modules():
            if isinstance(module, TemporalAttention):
                module.impl = impl

    def set_formulation(self, formulation: Literal["fast", "reference"]) -> None:
        """"reference": the reference implementation's way of computing the same function — dense
        masked temporal attention, separate LayerNorm passes, per-attention query projections and
        the two-key softmax — the benchmark's baseline. "fast": the configured temporal attention
        (banded by default) and the fused forms."""
        if formulation not in ("fast", "reference"):
            raise ValueError(f"formulation must be 'fast' or 'reference', not {formulation!r}")
        reference = formulation == "reference"
        self.set_temporal_attention("dense" if reference else self._configured_temporal_attention)
        for module in self.modules():
            if isinstance(module, ChannelLayerNorm | ConditionedResnetBlock | SpatialLinearAttention):
                module.reference = reference

    def _init_conv(self, x_noisy: torch.Tensor, image_cond: torch.Tensor) -> torch.Tensor:
        """init_conv(cat(x_noisy, image_cond)) as two convolutions, the constant part once per frame it has.

        ``image_cond`` may have 1 frame (constant over time, as in sampling) or T frames.
        """
        n = x_noisy.shape[1]
        weight = self.init_conv.weight
        pad = self.init_conv.padding
        noisy = F.conv3d(x_noisy, weight[:, :n], None, padding=pad)
        constant = F.conv3d(image_cond, weight[:, n:], self.init_conv.bias, padding=pad)
        return noisy + constant

    def forward(
        self,
        x_noisy: torch.Tensor,
        image_cond: torch.Tensor,
        time: torch.Tensor,
        cond: torch.Tensor,
    ) -> torch.Tensor:
        """Predicted noise (b, 3, T, h, w).

        x_noisy (b, 3, T, h, w); image_cond (b, feature + face-location channels, 1 or T, h, w);
        time (b,) integer diffusion step; cond (b, T, audio + pose + eye).
        """
        frames = x_noisy.shape[2]
        self._check_inputs(x_noisy, image_cond, time, cond)
        pos_bias = self.time_rel_pos_bias(
            frames, x_noisy.device, dense=self.config.temporal_attention == "dense"
        )
        x = self._init_conv(x_noisy, image_cond)
        r = x
        x = self.init_temporal_attn(x, pos_bias=pos_bias)
        t = self.time_mlp(time)
        skips = []
        for block1, block2, spatial_attn, temporal_attn, down in self.downs:
            x = block1(x, t, cond)
            x = block2(x, t, cond)
            x = spatial_attn(x)
            x = temporal_attn(x, pos_bias=pos_bias)
            skips.append(x)
            x = down(x)
        x = self.mid_block1(x, t, cond)
        x = self.mid_spatial_attn(x)
        x = self.mid_temporal_attn(x, pos_bias=pos_bias)
        x = self.mid_block2(x, t, cond)
        for block1, block2, spatial_attn, temporal_attn, up in self.ups:
            x = torch.cat((x, skips.pop()), dim=1)
            x = block1(x, t, cond)
            x = block2(x, t, cond)
            x = spatial_attn(x)
            x = temporal_attn(x, pos_bias=pos_bias)
            x = up(x)
        x = torch.cat((x, r), dim=1)
        return torch.cat((self.final_conv(x), self.occlusion_map(x)), dim=1)

    def forward_with_cond_scale(
        self,
        x_noisy: torch.Tensor,
        image_cond: torch.Tensor,
        time: torch.Tensor,
        cond: torch.Tensor,
        cond_scale: float = 1.0,
    ) -> torch.Tensor:
        """Classifier-free guidance: ``null + (cond - null)·scale`` with an all-zero null condition.

        At scale 1 this is one pass; otherwise the conditional and null passes run as one batch.
        """
        if cond_scale == 1:
            return self(x_noisy, image_cond, time, cond)
        b = x_noisy.shape[0]
        both = self(
            torch.cat((x_noisy, x_noisy)),
            torch.cat((image_cond, image_cond)),
            torch.cat((time, time)),
            torch.cat((cond, torch.zeros_like(cond))),
        )
        logits, null = both[:b], both[b:]
        return null + (logits - null) * cond_scale

    def _check_inputs(
        self,
        x_noisy: torch.Tensor,
        image_cond: torch.Tensor,
        time: torch.Tensor,
        cond: torch.Tensor,
    ) -> None:
        c = self.config
        if x_noisy.ndim != 5 or x_noisy.shape[1] != c.noise_channels:
            raise ValueError(f"x_noisy must be (b, {c.noise_channels}, T, h, w), got {tuple(x_noisy.shape)}")
        b, _, frames, height, width = x_noisy.shape
        cond_channels = c.feature_channels + c.face_loc_channels
        if (
            image_cond.ndim != 5
            or image_cond.shape[0] != b
            or image_cond.shape[1] != cond_channels
            or image_cond.shape[2] not in (1, frames)
            or tuple(image_cond.shape[3:]) != (height, width)
        ):
            raise ValueError(
                f"image_cond must be ({b}, {cond_channels}, 1 or {frames}, {height}, {width}), "
                f"got {tuple(image_cond.shape)}"
            )
        if tuple(cond.shape) != (b, frames, c.cond_dim):
            raise ValueError(f"cond must be ({b}, {frames}, {c.cond_dim}), got {tuple(cond.shape)}")
        if tuple(time.shape) != (b,):
            raise ValueError(f"time must be ({b},), got {tuple(time.shape)}")
        levels = len(c.dim_mults)
        factor = 2 ** (levels - 1)
        if height % factor or width % factor:
            raise ValueError(f"latent height and width must be multiples of {factor}, got {height}×{width}")
