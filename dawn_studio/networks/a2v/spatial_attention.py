"""Attention within each frame: linear attention at every level, full softmax attention in the middle."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .layers import linear


class SpatialLinearAttention(nn.Module):
    """Per-frame linear attention over H·W positions (softmax of q over features, of k over positions)."""

    def __init__(self, dim: int, heads: int = 8, dim_head: int = 32) -> None:
        super().__init__()
        hidden = heads * dim_head
        self.heads = heads
        self.dim_head = dim_head
        self.scale = dim_head**-0.5
        self.to_qkv = nn.Conv2d(dim, hidden * 3, 1, bias=False)
        self.to_out = nn.Conv2d(hidden, dim, 1)

    #: True: the reference's formulation (one projection, einsum over strided views), the benchmark's
    #: baseline; False: q, k and v projected separately into contiguous tensors, plain matrix products.
    reference = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, frames, height, width = x.shape
        x = x.permute(0, 2, 1, 3, 4).reshape(b * frames, c, height, width)
        if self.reference:
            out = self._reference_attention(x)
        else:
            n, hidden = b * frames, self.heads * self.dim_head
            q, k, v = (
                F.conv2d(x, w).view(n, self.heads, self.dim_head, height * width)
                for w in self.to_qkv.weight.split(hidden)
            )
            # context (n, h, d, e) = softmax_p(k) · vᵀ; the output is linear in q, so q's scale goes here
            context = torch.matmul(k.softmax(dim=-1), v.transpose(-1, -2)) * self.scale
            out = torch.matmul(context.transpose(-1, -2), q.softmax(dim=-2))
        out = self.to_out(out.reshape(b * frames, -1, height, width))
        return out.reshape(b, frames, c, height, width).permute(0, 2, 1, 3, 4)

    def _reference_attention(self, x: torch.Tensor) -> torch.Tensor:
        """(n, h, e, positions) attention output as the reference computes it."""
        height, width = x.shape[-2:]
        qkv = self.to_qkv(x).reshape(x.shape[0], 3, self.heads, self.dim_head, height * width)
        q, k, v = qkv.unbind(dim=1)
        q = q.softmax(dim=-2)
        k = k.softmax(dim=-1)
        # the output is linear in q, so q's scale is applied to the small (d × e) context instead
        context = torch.einsum("nhdp,nhep->nhde", k, v) * self.scale
        return torch.einsum("nhde,nhdp->nhep", context, q)


class SpatialAttention(nn.Module):
    """Softmax attention over the H·W positions of each frame (no positional terms); ``Attention`` keys."""

    def __init__(self, dim: int, heads: int = 8, dim_head: int = 32) -> None:
        super().__init__()
        self.heads = heads
        self.dim_head = dim_head
        self.scale = dim_head**-0.5
        self.to_qkv = nn.Linear(dim, heads * dim_head * 3, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., n, dim) → (..., n, dim)."""
        *lead, n, _ = x.shape
        qkv = linear(x, self.to_qkv.weight).view(*lead, n, 3, self.heads, self.dim_head)
        q, k, v = qkv.movedim(-4, -2).unbind(dim=-4)
        q, k, v = (t.reshape(-1, *t.shape[-3:]) for t in (q * self.scale, k, v))  # 4-D for the fused kernels
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0).reshape(*lead, *q.shape[-3:])
        return linear(out.movedim(-3, -2).reshape(*lead, n, -1), self.to_out.weight)


class AlongPositions(nn.Module):
    """Run ``fn`` with the positions of each frame as tokens: (b,C,T,H,W) → (b,T,H·W,C) and back."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_normed(x, None)

    def forward_normed(
        self, x: torch.Tensor, normalize: Callable[[torch.Tensor], torch.Tensor] | None
    ) -> torch.Tensor:
        """``fn`` of the tokens, first passed through ``normalize`` (over channels) when given."""
        b, c, frames, height, width = x.shape
        tokens = x.permute(0, 2, 3, 4, 1).reshape(b, frames, height * width, c)
        if normalize is not None:
            tokens = normalize(tokens)
        out = self.fn(tokens)
        return out.reshape(b, frames, height, width, c).permute(0, 4, 1, 2, 3)
