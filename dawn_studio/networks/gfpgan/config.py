"""Settings of GFPGANv1Clean: the published v1.3 / v1.4 network and the reduced-width test set.

The field names are the reference constructor's (TencentARC/GFPGAN ``GFPGANv1Clean``), so a
reference run's settings map onto a config one to one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


class GFPGANConfigError(ValueError):
    """Settings that do not describe a GFPGANv1Clean network this port can build."""


@dataclass(frozen=True)
class GFPGANConfig:
    """Constructor settings of GFPGANv1Clean.

    ``narrow`` scales every channel count (the U-Net encoder uses half of the decoder's widths);
    ``different_w`` gives every decoder layer its own latent; ``input_is_latent`` feeds the
    encoder's code straight to the decoder (the style MLP is then kept only for the weight file).
    """

    out_size: int = 512
    num_style_feat: int = 512
    channel_multiplier: int = 2
    num_mlp: int = 8
    narrow: float = 1.0
    sft_half: bool = True
    different_w: bool = True
    input_is_latent: bool = True

    def __post_init__(self) -> None:
        log_size = math.log2(self.out_size) if self.out_size > 0 else 0
        if self.out_size < 8 or log_size != int(log_size):
            raise GFPGANConfigError(f"out_size must be a power of two of at least 8, not {self.out_size}")
        if self.num_style_feat < 1 or self.num_mlp < 0 or self.channel_multiplier < 1 or self.narrow <= 0:
            raise GFPGANConfigError("num_style_feat, channel_multiplier and narrow must be positive, num_mlp >= 0")
        for size in self.resolutions:
            if self.encoder_channels(size) < 1:
                raise GFPGANConfigError(f"narrow={self.narrow} leaves no encoder channel at {size}×{size}")
            if self.sft_half and self.decoder_channels(size) % 2:
                raise GFPGANConfigError(f"sft_half needs an even decoder width at {size}×{size}")

    @property
    def log_size(self) -> int:
        return int(math.log2(self.out_size))

    @property
    def resolutions(self) -> list[int]:
        """Sides of the decoder levels above the 4×4 start: 8, 16, …, out_size."""
        return [2**i for i in range(3, self.log_size + 1)]

    @property
    def num_latents(self) -> int:
        """Latents the decoder consumes: two per level plus the 4×4 conv and its RGB layer."""
        return self.log_size * 2 - 2

    @property
    def num_noise_layers(self) -> int:
        """Style convolutions (each with a stored noise map): one at 4×4, two per level above."""
        return (self.log_size - 2) * 2 + 1

    def decoder_channels(self, size: int) -> int:
        return _channel_table(size, self.channel_multiplier, self.narrow)

    def encoder_channels(self, size: int) -> int:
        return _channel_table(size, self.channel_multiplier, self.narrow * 0.5)

    @classmethod
    def from_reference(cls, settings: Mapping[str, Any]) -> GFPGANConfig:
        """The config of a reference run's constructor settings.

        Training-only settings (``decoder_load_path``, ``fix_decoder``) change nothing at inference
        and are ignored; ``randomize_noise`` must be false: this port always uses the stored noise.
        """
        if settings.get("randomize_noise", False):
            raise GFPGANConfigError("randomize_noise=True is not supported: the stored noise maps are always used")
        if settings.get("decoder_load_path"):
            raise GFPGANConfigError("decoder_load_path reads a file inside the network; load weights separately")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in known})


def _channel_table(size: int, channel_multiplier: int, narrow: float) -> int:
    """StyleGAN2's channel count at a side ``size`` (512 up to 32×32, then halving per level)."""
    if size <= 32:
        base = 512
    else:
        base = {64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}.get(size)
        if base is None:
            raise GFPGANConfigError(f"no channel count defined for {size}×{size} (largest supported: 1024)")
        base *= channel_multiplier
    return int(base * narrow)


#: The network of the published GFPGANv1.3.pth / GFPGANv1.4.pth.
GFPGAN_V1_4 = GFPGANConfig()
#: A reduced-width network with the same structure and 512² input, fast on a CPU (the tiny test set).
TINY = GFPGANConfig(num_style_feat=32, num_mlp=2, narrow=0.0625)
