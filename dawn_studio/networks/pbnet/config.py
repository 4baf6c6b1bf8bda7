"""Typed configuration of a PBNet model (the reference's ``transformerreemb5`` CVAE).

The reference passes its whole option dictionary as keyword arguments; here only the values
that change the network are kept, validated once, so a bad ``opt.yaml`` fails before any
tensor is built. Values the reference hard-codes (heads, pose width, ...) are fields too, so
the same code builds the reduced-width models of the test model set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

SignalKind = Literal["pose", "blink"]

#: Width of the modelled signal: yaw, pitch, roll, scale, tx, ty / left and right eye ratios.
SIGNAL_DIMS: dict[str, int] = {"pose": 6, "blink": 2}


class PBNetConfigError(ValueError):
    """The options describe a PBNet that cannot be built; the message names the option."""


@dataclass(frozen=True)
class PBNetConfig:
    """Architecture settings of one PBNet (pose or blink model).

    Defaults are the published models' values; ``signal_dim`` is 6 (pose) or 2 (blink).
    """

    signal_dim: int = 6
    audio_dim: int = 1024
    audio_latent_dim: int = 256
    latent_dim: int = 256
    pose_latent_dim: int = 64
    num_heads: int = 4
    dim_head: int = 32
    num_layers: int = 2
    ff_size: int = 128
    num_buckets: int = 128
    max_distance: int = 128
    dropout: float = 0.1
    activation: str = "gelu"
    num_frames: int = 200
    pe_max_len: int = 20000
    #: In eval mode every attention ignores frames further apart than this (the reference's ±200).
    attention_window: int | None = 200

    def __post_init__(self) -> None:
        positive = (
            "signal_dim",
            "audio_dim",
            "audio_latent_dim",
            "latent_dim",
            "pose_latent_dim",
            "num_heads",
            "dim_head",
            "num_layers",
            "ff_size",
            "num_buckets",
            "max_distance",
            "pe_max_len",
        )
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PBNetConfigError(f"PBNet option '{name}' must be a positive integer, got {value!r}")
        if self.latent_dim != self.audio_latent_dim:
            raise PBNetConfigError(
                f"PBNet option 'latent_dim' ({self.latent_dim}) must equal 'audio_latent_dim' "
                f"({self.audio_latent_dim}): the decoder concatenates the noise with the audio embedding"
            )
        if self.rotary_dim % 2 or self.rotary_dim > self.dim_head:
            raise PBNetConfigError(
                f"PBNet rotary width min(32, num_heads) = {self.rotary_dim} must be even and at most "
                f"dim_head = {self.dim_head}"
            )
        if self.num_buckets < 4 or self.num_buckets % 4:
            raise PBNetConfigError(
                f"PBNet option 'num_buckets' must be a multiple of 4, got {self.num_buckets}"
            )
        if self.max_distance <= self.num_buckets // 4:
            raise PBNetConfigError(
                f"PBNet option 'max_distance' ({self.max_distance}) must exceed num_buckets / 4 "
                f"({self.num_buckets // 4})"
            )
        if self.encoder_dim % self.num_heads:
            raise PBNetConfigError(
                f"PBNet encoder width {self.encoder_dim} (audio_latent_dim + 2 * pose_latent_dim) must be "
                f"divisible by num_heads = {self.num_heads}"
            )
        if self.activation not in ("gelu", "relu"):
            raise PBNetConfigError(
                f"PBNet option 'activation' must be 'gelu' or 'relu', got {self.activation!r}"
            )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise PBNetConfigError(f"PBNet option 'dropout' must be in [0, 1), got {self.dropout!r}")
        if self.attention_window is not None and self.attention_window < 0:
            raise PBNetConfigError("PBNet attention window must be non-negative or None")

    @property
    def inner_dim(self) -> int:
        """Width of the concatenated attention heads."""
        return self.num_heads * self.dim_head

    @property
    def encoder_dim(self) -> int:
        """Token width of the (training-only) encoder: reference ref | pose delta | audio embeddings."""
        return self.audio_latent_dim + 2 * self.pose_latent_dim

    @property
    def rotary_dim(self) -> int:
        """Rotated channels per head; the reference passes ``min(32, num_heads)`` (a quirk kept as is)."""
        return min(32, self.num_heads)

    def for_signal(self, kind: SignalKind) -> PBNetConfig:
        """The same architecture for the pose (6) or blink (2) signal."""
        return replace(self, signal_dim=SIGNAL_DIMS[kind])


#: The published ``pbnet_seperate/pose`` model.
POSE = PBNetConfig(signal_dim=6)
#: The published ``pbnet_seperate/blink`` model.
BLINK = PBNetConfig(signal_dim=2)
#: Same architecture at small widths, for the random-weight test model set (fast end-to-end runs).
TINY_POSE = PBNetConfig(
    signal_dim=6,
    audio_latent_dim=16,
    latent_dim=16,
    pose_latent_dim=8,
    num_heads=2,
    dim_head=8,
    num_layers=1,
    ff_size=16,
    num_buckets=16,
    max_distance=16,
    pe_max_len=64,
)
TINY_BLINK = TINY_POSE.for_signal("blink")
