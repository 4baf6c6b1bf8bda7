"""GFPGANv1Clean: a U-Net encoder that conditions a StyleGAN2 decoder (blind face restoration).

The encoder halves a 512² aligned face down to 4², maps it to one latent per decoder layer, then
climbs back up; at every level it predicts SFT scale/shift maps for the decoder and an RGB preview
(the reference's ``return_rgb`` outputs). Sub-module names follow the reference
(``gfpganv1_clean_arch.py``) so the published ``params_ema`` state dict loads strictly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import GFPGAN_V1_4, GFPGANConfig
from .decoder import LEAKY_SLOPE, SFTStyleGAN2Decoder


class ResampleResBlock(nn.Module):
    """Residual block that halves (``down``) or doubles (``up``) the side with bilinear resampling."""

    def __init__(self, in_channels: int, out_channels: int, *, down: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.scale_factor = 0.5 if down else 2.0

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale_factor, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv1(x), LEAKY_SLOPE)
        out = F.leaky_relu(self.conv2(self._resample(out)), LEAKY_SLOPE)
        return out + self.skip(self._resample(x))


def _sft_branch(channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1), nn.LeakyReLU(LEAKY_SLOPE), nn.Conv2d(channels, out_channels, 3, 1, 1),
    )


class GFPGANv1Clean(nn.Module):
    """The restoration network of the published GFPGAN v1.3 / v1.4 weights.

    ``net(x)`` maps (B, 3, S, S) faces in [-1, 1] (S = ``out_size``, FFHQ-aligned) to restored
    faces in the same units, unclamped; :meth:`forward_with_rgb` also returns the encoder's RGB
    previews. The decoder always uses its stored noise maps, so a video's frames do not flicker.
    """

    def __init__(
        self, out_size: int = GFPGAN_V1_4.out_size, num_style_feat: int = GFPGAN_V1_4.num_style_feat,
        channel_multiplier: int = GFPGAN_V1_4.channel_multiplier, num_mlp: int = GFPGAN_V1_4.num_mlp,
        narrow: float = GFPGAN_V1_4.narrow, sft_half: bool = GFPGAN_V1_4.sft_half,
        different_w: bool = GFPGAN_V1_4.different_w, input_is_latent: bool = GFPGAN_V1_4.input_is_latent,
    ) -> None:
        super().__init__()
        config = GFPGANConfig(
            out_size=out_size, num_style_feat=num_style_feat, channel_multiplier=channel_multiplier,
            num_mlp=num_mlp, narrow=narrow, sft_half=sft_half, different_w=different_w,
            input_is_latent=input_is_latent,
        )
        self.config = config
        sizes = config.resolutions  # 8 … out_size
        enc = config.encoder_channels

        self.conv_body_first = nn.Conv2d(3, enc(out_size), 1)
        self.conv_body_down = nn.ModuleList(
            ResampleResBlock(enc(size), enc(size // 2), down=True) for size in reversed(sizes)
        )
        self.final_conv = nn.Conv2d(enc(4), enc(4), 3, 1, 1)
        self.conv_body_up = nn.ModuleList(ResampleResBlock(enc(size // 2), enc(size), down=False) for size in sizes)
        self.toRGB = nn.ModuleList(nn.Conv2d(enc(size), 3, 1) for size in sizes)

        latent_width = config.num_style_feat * (config.num_latents if config.different_w else 1)
        self.final_linear = nn.Linear(enc(4) * 4 * 4, latent_width)
        self.stylegan_decoder = SFTStyleGAN2Decoder(config)

        def sft_width(size: int) -> int:
            return enc(size) if config.sft_half else 2 * enc(size)

        self.condition_scale = nn.ModuleList(_sft_branch(enc(size), sft_width(size)) for size in sizes)
        self.condition_shift = nn.ModuleList(_sft_branch(enc(size), sft_width(size)) for size in sizes)

    @classmethod
    def from_config(cls, config: GFPGANConfig) -> GFPGANv1Clean:
        return cls(
            out_size=config.out_size, num_style_feat=config.num_style_feat,
            channel_multiplier=config.channel_multiplier, num_mlp=config.num_mlp, narrow=config.narrow,
            sft_half=config.sft_half, different_w=config.different_w, input_is_latent=config.input_is_latent,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in [-1, 1] → the restored (B, 3, S, S), before any clamping."""
        return self._run(x, with_rgb=False)[0]

    def forward_with_rgb(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The restored image and the encoder's RGB previews at 8², 16², …, S² (the reference's ``return_rgb``)."""
        return self._run(x, with_rgb=True)

    def _run(self, x: torch.Tensor, *, with_rgb: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        config = self.config
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != config.out_size or x.shape[3] != config.out_size:
            raise ValueError(f"expected faces of shape (B, 3, {config.out_size}, {config.out_size}), "
                             f"got {tuple(x.shape)}")
        # Channels-last activations: measured 1.2–3× faster on a CPU (oneDNN), and the layout tensor cores prefer.
        x = x.contiguous(memory_format=torch.channels_last)
        feat = F.leaky_relu(self.conv_body_first(x), LEAKY_SLOPE)
        skips = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.append(feat)
        feat = F.leaky_relu(self.final_conv(feat), LEAKY_SLOPE)

        code = self.final_linear(feat.flatten(1))
        if config.different_w:
            latents = code.view(code.shape[0], config.num_latents, config.num_style_feat)
        else:
            latents = code
        if not config.input_is_latent:
            latents = self.stylegan_decoder.style_mlp(latents)
        if latents.ndim == 2:
            latents = latents[:, None, :].expand(-1, config.num_latents, -1)

        conditions: list[tuple[torch.Tensor, torch.Tensor]] = []
        previews: list[torch.Tensor] = []
        for level, block in enumerate(self.conv_body_up):
            feat = block(feat + skips[-1 - level])
            conditions.append((self.condition_scale[level](feat), self.condition_shift[level](feat)))
            if with_rgb:
                previews.append(self.toRGB[level](feat).contiguous())
        return self.stylegan_decoder(latents, conditions).contiguous(), previews
