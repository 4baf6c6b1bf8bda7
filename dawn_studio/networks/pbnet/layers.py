"""Building blocks of the PBNet decoder: relative position bias, rotary embedding, attention.

Attribute names follow the reference modules so that ``state_dict()`` keys equal the
published checkpoints' keys; the arithmetic follows ``../shared/spec/pbnet.md`` §5 step by
step, because the conformance fixtures are sensitive to its details (float32 bucket
logarithm, interleaved rotary pairs, the eval-only ±200-frame window).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Query frames attended to at once for windowed (eval-mode) attention on long sequences.
#: Up to this length the attention is one full matrix, exactly as the reference computes it.
ATTENTION_BLOCK = 1024


class SinusoidalPositionalEncoding(nn.Module):
    """The reference's sinusoid table ``pe`` (max_len, 1, width); persistent because checkpoints hold it."""

    def __init__(self, width: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
        table = torch.zeros(max_len, width)
        table[:, 0::2] = torch.sin(position * div_term)
        table[:, 1::2] = torch.cos(position * div_term)[:, : width // 2]
        self.register_buffer("pe", table.unsqueeze(1))

    def forward(self, tokens: Tensor) -> Tensor:
        """Add the table to sequence-first tokens ``(T, B, width)``."""
        if tokens.shape[0] > self.pe.shape[0]:
            raise ValueError(
                f"Sequence of {tokens.shape[0]} frames exceeds the positional table ({self.pe.shape[0]})"
            )
        return self.dropout(tokens + self.pe[: tokens.shape[0]])


class GammaLayerNorm(nn.Module):
    """Layer norm with a scale and no shift (``init_temporal_attn.fn.norm``)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(1, 1, dim))

    def forward(self, x: Tensor) -> Tensor:
        var = torch.var(x, dim=-1, unbiased=False, keepdim=True)
        mean = torch.mean(x, dim=-1, keepdim=True)
        return (x - mean) / (var + self.eps).sqrt() * self.gamma


class RotaryEmbedding(nn.Module):
    """Rotary embedding of the first ``dim`` channels in interleaved pairs (rotary-embedding-torch 0.3.5)."""

    def __init__(self, dim: int, theta: float = 10000.0) -> None:
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
        self.freqs = nn.Parameter(inv_freq, requires_grad=False)

    def rotate(self, x: Tensor, positions: Tensor) -> Tensor:
        """Rotate ``x`` (..., T, d) by angles ``positions[t] * freqs``."""
        angles = positions.to(self.freqs.dtype)[:, None] * self.freqs
        angles = angles.repeat_interleave(2, dim=-1).to(x.dtype)
        rot = angles.shape[-1]
        head, tail = x[..., :rot], x[..., rot:]
        pairs = head.unflatten(-1, (rot // 2, 2))
        turned = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        head = head * angles.cos() + turned * angles.sin()
        return torch.cat((head, tail), dim=-1)


class RelativePositionBias(nn.Module):
    """T5-style bucketed relative position bias ``(H, Tq, Tk)``, with the reference's eval-only window."""

    def __init__(self, heads: int, num_buckets: int, max_distance: int, window: int | None) -> None:
        super().__init__()
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.window = window
        self.relative_attention_bias = nn.Embedding(num_buckets, heads)

    @property
    def active_window(self) -> int | None:
        """The window applies in eval mode only (the reference checks the embedding's training flag)."""
        return None if self.relative_attention_bias.training else self.window

    def buckets(self, query_pos: Tensor, key_pos: Tensor) -> Tensor:
        """Bucket index per (query, key); the log is taken in float32 like the reference."""
        n = query_pos[:, None] - key_pos[None, :]
        half = self.num_buckets // 2
        offset = (n < 0).long() * half
        n = n.abs()
        max_exact = half // 2
        scaled = torch.log(n.clamp(min=1).float() / max_exact) / math.log(self.max_distance / max_exact)
        large = max_exact + (scaled * (half - max_exact)).long()
        large = torch.minimum(large, torch.full_like(large, half - 1))
        return offset + torch.where(n < max_exact, n, large)

    def forward(self, query_pos: Tensor, key_pos: Tensor) -> Tensor:
        values = self.relative_attention_bias(self.buckets(query_pos, key_pos)).permute(2, 0, 1)
        window = self.active_window
        if window is not None:
            far = (key_pos[None, :] - query_pos[:, None]).abs() > window
            values = values + far.to(values.dtype) * -1e8
        return values


def _split_heads(x: Tensor, heads: int) -> Tensor:
    return x.unflatten(-1, (heads, -1)).transpose(-3, -2)


def _merge_heads(x: Tensor) -> Tensor:
    return x.transpose(-3, -2).flatten(-2)


def _attend(q: Tensor, k: Tensor, v: Tensor, bias: Tensor) -> Tensor:
    sim = torch.matmul(q, k.transpose(-1, -2)) + bias
    sim = sim - sim.amax(dim=-1, keepdim=True).detach()
    return torch.matmul(sim.softmax(dim=-1), v)


def biased_attention(q: Tensor, k: Tensor, v: Tensor, position_bias: RelativePositionBias) -> Tensor:
    """Softmax attention of ``(B, H, T, d)`` heads plus the relative bias, no masks.

    With an active window, query frames are taken in blocks against only the keys inside
    the window: the keys left out would get weight ``exp(-1e8) = 0`` anyway, so the result
    is the reference's while memory stays linear in the length of the audio.
    """
    frames = q.shape[-2]
    positions = torch.arange(frames, device=q.device)
    window = position_bias.active_window
    if window is None or frames <= ATTENTION_BLOCK:
        return _attend(q, k, v, position_bias(positions, positions))
    blocks = []
    for start in range(0, frames, ATTENTION_BLOCK):
        stop = min(frames, start + ATTENTION_BLOCK)
        first, last = max(0, start - window), min(frames, stop + window)
        bias = position_bias(positions[start:stop], positions[first:last])
        blocks.append(_attend(q[..., start:stop, :], k[..., first:last, :], v[..., first:last, :], bias))
    return torch.cat(blocks, dim=-2)


class SelfAttention(nn.Module):
    """Rotary self-attention with one fused q|k|v projection, no biases."""

    def __init__(self, dim: int, heads: int, dim_head: int, rotary_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = dim_head**-0.5
        self.rotary_emb = RotaryEmbedding(rotary_dim)
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, x: Tensor, position_bias: RelativePositionBias) -> Tensor:
        q, k, v = (_split_heads(t, self.heads) for t in self.to_qkv(x).chunk(3, dim=-1))
        positions = torch.arange(x.shape[-2], device=x.device)
        q = self.rotary_emb.rotate(q * self.scale, positions)
        k = self.rotary_emb.rotate(k, positions)
        return self.to_out(_merge_heads(biased_attention(q, k, v, position_bias)))


class CrossAttention(nn.Module):
    """Rotary attention from the decoder stream to the memory, separate projections, no biases."""

    def __init__(self, dim: int, heads: int, dim_head: int, rotary_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = dim_head**-0.5
        self.rotary_emb = RotaryEmbedding(rotary_dim)
        inner = heads * dim_head
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: Tensor, memory: Tensor, position_bias: RelativePositionBias) -> Tensor:
        q = _split_heads(self.to_q(x), self.heads)
        k = _split_heads(self.to_k(memory), self.heads)
        v = _split_heads(self.to_v(memory), self.heads)
        q = self.rotary_emb.rotate(q * self.scale, torch.arange(q.shape[-2], device=x.device))
        k = self.rotary_emb.rotate(k, torch.arange(k.shape[-2], device=x.device))
        return self.to_out(_merge_heads(biased_attention(q, k, v, position_bias)))


class PreNorm(nn.Module):
    """``fn(norm(x))``; kept as a module of its own for the key names ``.fn`` / ``.norm``."""

    def __init__(self, dim: int, fn: SelfAttention) -> None:
        super().__init__()
        self.fn = fn
        self.norm = GammaLayerNorm(dim)

    def forward(self, x: Tensor, position_bias: RelativePositionBias) -> Tensor:
        return self.fn(self.norm(x), position_bias)


class Residual(nn.Module):
    """``x + fn(x)``; kept as a module of its own for the key name ``.fn``."""

    def __init__(self, fn: PreNorm) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor, position_bias: RelativePositionBias) -> Tensor:
        return x + self.fn(x, position_bias)


class FeedForward(nn.Module):
    """``linear2(dropout(gelu(linear1(x))))`` with the exact (erf) GELU."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(F.gelu(self.linear1(x))))


class DecoderLayer(nn.Module):
    """Post-norm layer: self-attention, cross-attention to the memory, feed-forward."""

    def __init__(
        self, dim: int, heads: int, dim_head: int, rotary_dim: int, ff_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.self_attn = SelfAttention(dim, heads, dim_head, rotary_dim)
        self.multihead_attn = CrossAttention(dim, heads, dim_head, rotary_dim)
        self.ffn = FeedForward(dim, ff_size, dropout)
        self.layer_norm1 = nn.LayerNorm(dim)
        self.layer_norm2 = nn.LayerNorm(dim)
        self.layer_norm3 = nn.LayerNorm(dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        bias_tgt: RelativePositionBias,
        bias_mem: RelativePositionBias,
    ) -> Tensor:
        x = self.layer_norm1(x + self.dropout1(self.self_attn(x, bias_tgt)))
        x = self.layer_norm2(x + self.dropout2(self.multihead_attn(x, memory, bias_mem)))
        return self.layer_norm3(x + self.dropout3(self.ffn(x)))


class DecoderStack(nn.Module):
    """The ``seqTransDecoder`` of the reference: ``num_layers`` decoder layers in sequence."""

    def __init__(
        self,
        num_layers: int,
        dim: int,
        heads: int,
        dim_head: int,
        rotary_dim: int,
        ff_size: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(dim, heads, dim_head, rotary_dim, ff_size, dropout) for _ in range(num_layers)
        )

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        bias_tgt: RelativePositionBias,
        bias_mem: RelativePositionBias,
    ) -> Tensor:
        for layer in self.decoder_layers:
            x = layer(x, memory, bias_tgt, bias_mem)
        return x
