"""Attention across frames: rotary positions, T5 relative-position bias and the ±window band.

The reference computes a dense T×T score matrix and masks everything farther than ``win_width``
frames with -1e8, which makes it exactly a band attention. ``banded`` evaluates that band
blockwise (memory linear in the frame count); ``dense`` keeps the reference formulation as the
baseline for equivalence tests and benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import TemporalAttentionImpl
from .layers import linear

# The reference's additive mask outside the window; exp() of it underflows to exactly 0 in float32.
REFERENCE_WINDOW_MASK = -1e8


class RotaryEmbedding(nn.Module):
    """Rotary position embedding over interleaved pairs (rotary-embedding-torch 0.3.5 semantics).

    ``freqs`` is a parameter that is never trained; one instance is shared by all temporal
    attentions, so it appears under each of their state-dict paths.
    """

    def __init__(self, dim: int, theta: float = 10000.0) -> None:
        super().__init__()
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
        self.freqs = nn.Parameter(freqs, requires_grad=False)

    def cos_sin(self, frames: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Tables (frames, dim) of cos and sin of the angles m·θ_i, each θ_i repeated for its pair."""
        positions = torch.arange(frames, device=device, dtype=self.freqs.dtype)
        angles = torch.einsum("n,f->nf", positions, self.freqs.to(device)).repeat_interleave(2, dim=-1)
        return angles.cos(), angles.sin()

    def rotation(self, frames: int, device: torch.device) -> torch.Tensor:
        """Unit complex numbers exp(i·m·θ_i), (frames, dim/2): one complex product rotates a pair."""
        positions = torch.arange(frames, device=device, dtype=self.freqs.dtype)
        angles = torch.einsum("n,f->nf", positions, self.freqs.to(device))
        return torch.polar(torch.ones_like(angles), angles)

    @staticmethod
    def rotate_complex(u: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
        """:meth:`rotate` as a complex product; ``rotation`` broadcasts against (..., dim/2) of u."""
        turned = torch.view_as_complex(u.unflatten(-1, (-1, 2))) * rotation
        return torch.view_as_real(turned).flatten(-2)

    @staticmethod
    def rotate(u: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """Rotate each pair (a, b) of the last axis of u (..., n, dim) by its angle."""
        pairs = u.unflatten(-1, (-1, 2))
        rotated_half = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        return u * cos + rotated_half * sin


def relative_position_bucket(offset: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """T5 bucket of ``offset = key_frame - query_frame`` (float32 arithmetic, as the reference)."""
    n = -offset
    half = num_buckets // 2
    bucket = (n < 0).long() * half
    n = n.abs()
    max_exact = half // 2
    is_small = n < max_exact
    scaled = torch.log(n.clamp(min=1).float() / max_exact) / math.log(max_distance / max_exact)
    large = max_exact + (scaled * (half - max_exact)).long()
    large = torch.minimum(large, torch.full_like(large, half - 1))
    return bucket + torch.where(is_small, n, large)


@dataclass(frozen=True)
class TemporalBias:
    """Relative-position bias for one forward: the band table, and the dense matrix when asked for."""

    band: torch.Tensor  # (heads, 2·window + 1): bias for key offsets -window..window
    window: int
    dense: torch.Tensor | None = None  # (heads, T, T) with the reference's -1e8 outside the band


class RelativePositionBias(nn.Module):
    """Learned per-head bias by bucketed frame offset (key ``relative_attention_bias.weight``)."""

    def __init__(self, heads: int, num_buckets: int = 32, max_distance: int = 32, window: int = 40) -> None:
        super().__init__()
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.window = window
        self.relative_attention_bias = nn.Embedding(num_buckets, heads)

    def _values(self, offsets: torch.Tensor) -> torch.Tensor:
        buckets = relative_position_bucket(offsets, self.num_buckets, self.max_distance)
        return self.relative_attention_bias(buckets).movedim(-1, 0)

    def forward(self, frames: int, device: torch.device, *, dense: bool = False) -> TemporalBias:
        w = self.window
        band = self._values(torch.arange(-w, w + 1, device=device))
        full = None
        if dense:
            positions = torch.arange(frames, device=device)
            offsets = positions[None, :] - positions[:, None]
            outside = (offsets.abs() > w).to(band.dtype) * REFERENCE_WINDOW_MASK
            full = self._values(offsets) + outside
        return TemporalBias(band=band, window=w, dense=full)


def dense_band_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """Reference formulation: full (..., h, T, T) scores plus the masked bias, softmax, weighted values."""
    sim = torch.einsum("...id,...jd->...ij", q, k) + bias
    sim = sim - sim.amax(dim=-1, keepdim=True)
    return torch.einsum("...ij,...jd->...id", sim.softmax(dim=-1), v)


def _band_mask(band: torch.Tensor, window: int, queries: int, keys: int, key_start: int) -> torch.Tensor:
    """(h, queries, keys) additive mask: band bias where |key − query| ≤ window, −inf elsewhere.

    Query a sits at frame a, key c at frame ``key_start + c``.
    """
    a = torch.arange(queries, device=band.device)[:, None]
    c = torch.arange(keys, device=band.device)[None, :]
    offset = c + key_start - a
    table = band[:, (offset.clamp(-window, window) + window)]
    return table.masked_fill(offset.abs() > window, float("-inf"))


def banded_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    band: torch.Tensor,
    window: int,
    tile: int | None = None,
    scale: float = 1.0,
) -> torch.Tensor:
    """The same function as :func:`dense_band_attention`, evaluated over the band only.

    Queries go in tiles of ``tile`` frames (one attention call per tile, not per frame); each tile
    attends only to the keys from ``window`` frames before it to ``window`` frames after it, so
    memory and work grow linearly with T. q, k, v: (..., h, T, d) rotated, q multiplied by
    ``scale`` inside the kernel (1: already scaled); band: (h, 2·window + 1).
    """
    lead, frames = q.shape[:-3], q.shape[-2]
    # 4-D inputs and a 4-D mask: the fused CPU/CUDA kernels accept nothing else
    q, k, v = (t.reshape(-1, *t.shape[-3:]) for t in (q, k, v))
    tile = tile or max(window, 32)
    if frames <= tile + 2 * window:
        mask = _band_mask(band, window, frames, frames, 0).to(q.dtype)[None]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    else:
        parts = []
        for start in range(0, frames, tile):
            stop = min(start + tile, frames)
            lo, hi = max(0, start - window), min(frames, stop + window)
            mask = _band_mask(band, window, stop - start, hi - lo, lo - start).to(q.dtype)[None]
            parts.append(
                F.scaled_dot_product_attention(
                    q[:, :, start:stop], k[:, :, lo:hi], v[:, :, lo:hi], attn_mask=mask, scale=scale
                )
            )
        out = torch.cat(parts, dim=-2)
    return out.reshape(*lead, *out.shape[-3:])


class TemporalAttention(nn.Module):
    """Multi-head attention across frames with rotary positions and the banded relative bias."""

    def __init__(
        self,
        dim: int,
        rotary_emb: RotaryEmbedding,
        heads: int = 8,
        dim_head: int = 32,
        impl: TemporalAttentionImpl = "banded",
    ) -> None:
        super().__init__()
        self.heads = heads
        self.dim_head = dim_head
        self.scale = dim_head**-0.5
        self.impl = impl
        self.rotary_emb = rotary_emb
        self.to_qkv = nn.Linear(dim, heads * dim_head * 3, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, x: torch.Tensor, pos_bias: TemporalBias) -> torch.Tensor:
        """x (..., T, dim) → (..., T, dim)."""
        *lead, frames, _ = x.shape
        dense = self.impl == "dense"  # the reference's formulation, projections included
        project = F.linear if dense else linear
        qkv = project(x, self.to_qkv.weight).view(*lead, frames, 3, self.heads, self.dim_head)
        if dense:
            if pos_bias.dense is None:
                raise ValueError(
                    "dense temporal attention needs the dense bias (RelativePositionBias(dense=True))"
                )
            q, k, v = self._reference_qkv(qkv)
            out = dense_band_attention(q, k, v, pos_bias.dense)
        else:
            q, k, v = self._rotated_qkv(qkv)
            out = banded_attention(q, k, v, pos_bias.band, pos_bias.window, scale=self.scale)
        return project(out.movedim(-3, -2).reshape(*lead, frames, -1), self.to_out.weight)

    def _reference_qkv(self, qkv: torch.Tensor, scaled: bool = True) -> tuple[torch.Tensor, ...]:
        """q·scale (unless not ``scaled``), q and k rotated pairwise with cos/sin tables as the
        reference does; (..., h, T, d) each."""
        q, k, v = qkv.movedim(-4, -2).unbind(dim=-4)
        frames = q.shape[-2]
        cos, sin = self.rotary_emb.cos_sin(frames, q.device)
        rot = cos.shape[-1]
        if scaled:
            q = q * self.scale
        if rot == self.dim_head:
            return RotaryEmbedding.rotate(q, cos, sin), RotaryEmbedding.rotate(k, cos, sin), v
        q = torch.cat((RotaryEmbedding.rotate(q[..., :rot], cos, sin), q[..., rot:]), dim=-1)
        k = torch.cat((RotaryEmbedding.rotate(k[..., :rot], cos, sin), k[..., rot:]), dim=-1)
        return q, k, v

    def _rotated_qkv(self, qkv: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """q and k rotated together by one complex product (scale left to the attention kernel).

        Complex tensors exist for float32/float64 only; reduced precision takes the cos/sin path.
        """
        if qkv.dtype not in (torch.float32, torch.float64):
            return self._reference_qkv(qkv, scaled=False)
        frames = qkv.shape[-4]
        rotation = self.rotary_emb.rotation(frames, qkv.device)[:, None, None, :]  # (T, 1, 1, rot/2)
        rot = rotation.shape[-1] * 2
        qk = qkv[..., :2, :, :]
        if rot == self.dim_head:
            qk = RotaryEmbedding.rotate_complex(qk, rotation)
        else:
            turned = RotaryEmbedding.rotate_complex(qk[..., :rot], rotation)
            qk = torch.cat((turned, qk[..., rot:]), dim=-1)
        q, k = qk.movedim(-4, -2).unbind(dim=-4)
        return q, k, qkv[..., 2, :, :].movedim(-3, -2)


class AlongFrames(nn.Module):
    """Run ``fn`` with the frames of each position as tokens: (b,C,T,H,W) → (b,H·W,T,C) and back."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor, pos_bias: TemporalBias) -> torch.Tensor:
        return self.forward_normed(x, None, pos_bias=pos_bias)

    def forward_normed(
        self,
        x: torch.Tensor,
        normalize: Callable[[torch.Tensor], torch.Tensor] | None,
        pos_bias: TemporalBias,
    ) -> torch.Tensor:
        """``fn`` of the tokens, first passed through ``normalize`` (over channels) when given."""
        b, c, frames, height, width = x.shape
        tokens = x.permute(0, 3, 4, 2, 1).reshape(b, height * width, frames, c)
        if normalize is not None:
            tokens = normalize(tokens)
        out = self.fn(tokens, pos_bias=pos_bias)
        return out.reshape(b, height, width, frames, c).permute(0, 4, 3, 1, 2)
