"""Construction settings of the A2V flow diffusion model (published builds and a tiny test build).

The published DAWN_128 and DAWN_256 networks are the same architecture (same state dict); they
differ only in the image size fed to the LFG and therefore in the latent side the Unet sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TemporalAttentionImpl = Literal["banded", "dense"]
BBoxAxes = Literal["fixed", "reference"]


@dataclass(frozen=True)
class UnetConfig:
    """Widths and attention settings of the 3D U-Net denoiser (``denoise_fn.*`` of the checkpoint)."""

    dim: int = 64
    dim_mults: tuple[int, ...] = (1, 2, 4, 8)
    noise_channels: int = 3  # flow x, flow y, occlusion * 2 - 1
    feature_channels: int = 256  # LFG generator.compute_fea output
    face_loc_channels: int = 16  # face-location encoder output
    audio_dim: int = 1024
    pose_dim: int = 6
    eye_dim: int = 2
    attn_heads: int = 8
    attn_dim_head: int = 32
    cross_attn_heads: int = 8
    cross_attn_dim_head: int = 8
    cross_attn_scale: float = 8.0
    init_kernel_size: int = 7
    resnet_groups: int = 8
    win_width: int = 40
    rel_pos_buckets: int = 32
    rel_pos_max_distance: int = 32
    rotary_max_dim: int = 32
    out_grid_dim: int = 2
    out_conf_dim: int = 1
    # How the temporal attention is evaluated; both compute the reference's function.
    # "banded": blockwise over the ±win_width band, memory linear in frames (default).
    # "dense": the reference's T×T attention with a -1e8 mask (kept as the baseline).
    temporal_attention: TemporalAttentionImpl = "banded"

    @property
    def in_channels(self) -> int:
        return self.noise_channels + self.feature_channels + self.face_loc_channels

    @property
    def cond_dim(self) -> int:
        return self.audio_dim + self.pose_dim + self.eye_dim

    @property
    def time_dim(self) -> int:
        return self.dim * 4

    def __post_init__(self) -> None:
        if self.out_grid_dim + self.out_conf_dim != self.noise_channels:
            raise ValueError("out_grid_dim + out_conf_dim must equal noise_channels")
        widths = [self.dim * m for m in self.dim_mults]
        if any(w % self.resnet_groups for w in widths):
            raise ValueError(
                f"every level width {widths} must be divisible by resnet_groups={self.resnet_groups}"
            )
        if self.temporal_attention not in ("banded", "dense"):
            raise ValueError(
                f"temporal_attention must be 'banded' or 'dense', not {self.temporal_attention!r}"
            )


@dataclass(frozen=True)
class DiffusionConfig:
    """Noise schedule and DDIM sampler settings (released: 1000 steps, 20 DDIM steps, eta 1)."""

    timesteps: int = 1000
    sampling_timesteps: int = 20
    ddim_eta: float = 1.0
    cosine_s: float = 0.008
    dynamic_thres_percentile: float = 0.9

    def __post_init__(self) -> None:
        if not 1 <= self.sampling_timesteps < self.timesteps:
            raise ValueError("sampling_timesteps must be in [1, timesteps)")


@dataclass(frozen=True)
class A2VConfig:
    """Everything needed to build a FlowDiffusion: denoiser, schedule, image size, reference switches."""

    image_size: int = 128
    unet: UnetConfig = field(default_factory=UnetConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    face_loc_hidden: int = 8
    # Bounding-box normalisation (pipeline.md B6). "fixed": x / W and y / H (identical for square
    # originals, which is all the model was trained on). "reference": the published code's x / H,
    # y / W swap, needed to reproduce its output for non-square portraits.
    bbox_axes: BBoxAxes = "fixed"

    @property
    def latent_size(self) -> int:
        return self.image_size // 4

    def __post_init__(self) -> None:
        if self.image_size % 4:
            raise ValueError("image_size must be a multiple of 4")
        if self.bbox_axes not in ("fixed", "reference"):
            raise ValueError(f"bbox_axes must be 'fixed' or 'reference', not {self.bbox_axes!r}")


DAWN_128 = A2VConfig(image_size=128)
DAWN_256 = A2VConfig(image_size=256)

# Real architecture at small widths, for fast end-to-end tests with random weights.
TINY = A2VConfig(
    image_size=64,
    unet=UnetConfig(
        dim=8,
        dim_mults=(1, 2),
        feature_channels=32,
        audio_dim=32,
        attn_heads=2,
        attn_dim_head=8,
        cross_attn_heads=2,
        cross_attn_dim_head=4,
        init_kernel_size=3,
        resnet_groups=4,
        win_width=4,
    ),
    diffusion=DiffusionConfig(sampling_timesteps=3),
)

PRESETS: dict[str, A2VConfig] = {"DAWN_128": DAWN_128, "DAWN_256": DAWN_256, "TINY": TINY}
