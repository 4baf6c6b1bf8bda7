"""Per-frame conditioning of the U-Net: cross-attention to one condition token, and its residual block.

The reference attends from every latent position of a frame to two keys: a learned null token and
that frame's condition token (cosine similarity with learned per-dimension scales). With two keys
the softmax is a sigmoid of the score difference, so per head and position only one dot product
(with the key difference) and one norm are computed, and neither the keys nor the normalised
queries are materialised. The three cross-attentions of a block normalise the same input, so the
block normalises it once and projects the queries of all three with one matrix product.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ConvBlock, LastAxisLayerNorm, linear


class CrossAttention(nn.Module):
    """Cosine-similarity attention of (N, L, dim) queries to a null key and one context token per N."""

    def __init__(
        self,
        dim: int,
        out_dim: int,
        context_dim: int,
        heads: int = 8,
        dim_head: int = 8,
        scale: float = 8.0,
    ) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.dim_head = dim_head
        self.scale = scale
        self.null_kv = nn.Parameter(torch.randn(2, dim_head))
        self.q_scale = nn.Parameter(torch.ones(dim_head))
        self.k_scale = nn.Parameter(torch.ones(dim_head))
        self.norm = LastAxisLayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(context_dim, inner * 2, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, out_dim, bias=False), LastAxisLayerNorm(out_dim))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """x (N, L, dim), context (N, context_dim) → (N, L, out_dim)."""
        return self.attend(self.to_q(self.norm(x)), context)

    def reference_forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The reference's formulation (normalised q and both keys, softmax over the two), kept as
        the benchmark's baseline; the same function as :meth:`forward`."""
        n, length, _ = x.shape
        h, d = self.heads, self.dim_head
        q = self.to_q(self.norm(x)).view(n, length, h, d)
        k_ctx, v_ctx = self.to_kv(context).view(n, 2, h, d).unbind(dim=1)
        k_null, v_null = self.null_kv.unbind(dim=0)
        q = F.normalize(q, dim=-1) * self.q_scale
        k_ctx = F.normalize(k_ctx, dim=-1) * self.k_scale
        k_null = F.normalize(k_null, dim=-1) * self.k_scale
        sim_null = torch.einsum("nlhd,d->nlh", q, k_null) * self.scale
        sim_ctx = torch.einsum("nlhd,nhd->nlh", q, k_ctx) * self.scale
        attn = torch.stack((sim_null, sim_ctx), dim=-1).softmax(dim=-1, dtype=torch.float32).to(q.dtype)
        out = attn[..., 0:1] * v_null + attn[..., 1:2] * v_ctx[:, None]
        return self.to_out(out.reshape(n, length, h * d))

    def query_weight(self) -> torch.Tensor:
        """``to_q`` with the input LayerNorm's gain folded in: to_q(ln(x)·g) = ln(x) @ (W·g)ᵀ."""
        return self.to_q.weight * self.norm.g

    def attend(self, q: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The attention from projected queries q (N, L, heads·dim_head) to the null key and ``context``.

        softmax(s_null, s_ctx)[ctx] = sigmoid(s_ctx − s_null), and with q̂ = q / |q| both scores are
        q̂ · (q_scale · k̂ · scale), so s_ctx − s_null = (q · Δk) / |q| with one key difference Δk.
        """
        n, length, _ = q.shape
        h, d = self.heads, self.dim_head
        q = q.view(n, length, h, d)
        k_ctx, v_ctx = self.to_kv(context).view(n, 2, h, d).unbind(dim=1)
        k_null, v_null = self.null_kv.unbind(dim=0)
        k_ctx = F.normalize(k_ctx, dim=-1)
        k_null = F.normalize(k_null, dim=-1)
        key_difference = (k_ctx - k_null) * (self.k_scale * self.q_scale * self.scale)  # (N, h, d)
        dots = torch.einsum("nlhd,nhd->nlh", q, key_difference.to(q.dtype))
        # F.normalize's |q| clamped at 1e-12
        norms = torch.linalg.vector_norm(q, dim=-1).clamp_min(1e-12)
        weight = torch.sigmoid((dots / norms).float()).to(q.dtype)  # attention on the context token
        out = torch.addcmul(v_null.to(q.dtype), weight[..., None], (v_ctx[:, None] - v_null).to(q.dtype))
        projection, norm = self.to_out
        return norm(linear(out.reshape(n, length, h * d), projection.weight))


class ConditionedResnetBlock(nn.Module):
    """Residual block with time scale/shift and audio/pose/eye cross-attention (``ResnetBlock_ca_mul``).

    Without ``time_dim`` (the two output heads) it has no MLPs and ignores its cross-attentions,
    which still exist so the published state dict loads strictly.
    """

    def __init__(
        self,
        dim: int,
        dim_out: int,
        *,
        groups: int,
        time_dim: int | None = None,
        audio_dim: int = 1024,
        pose_dim: int = 6,
        eye_dim: int = 2,
        heads: int = 8,
        dim_head: int = 8,
        scale: float = 8.0,
    ) -> None:
        super().__init__()
        self.split = (audio_dim, pose_dim, eye_dim)
        if time_dim is not None:
            self.time_mlp = nn.Sequential(nn.SiLU(), nn.Linear(time_dim, dim_out * 2))
            self.audio_mlp = nn.Sequential(nn.SiLU(), nn.Linear(audio_dim, dim_out * 2))
            self.pose_mlp = nn.Sequential(nn.SiLU(), nn.Linear(pose_dim, dim_out * 2))
            self.eye_mlp = nn.Sequential(nn.SiLU(), nn.Linear(eye_dim, dim_out * 2))
        else:
            self.time_mlp = self.audio_mlp = self.pose_mlp = self.eye_mlp = None
        ca = dict(out_dim=dim_out, context_dim=dim_out * 2, heads=heads, dim_head=dim_head, scale=scale)
        self.cross_attn_aud = CrossAttention(dim, **ca)
        self.cross_attn_pose = CrossAttention(dim, **ca)
        self.cross_attn_eye = CrossAttention(dim, **ca)
        self.block1 = ConvBlock(dim, dim_out, groups)
        self.block2 = ConvBlock(dim_out, dim_out, groups)
        self.res_conv = nn.Conv3d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    #: True: each cross-attention normalises and projects the queries itself, as the reference does.
    reference = False

    def _reference_conditioning(
        self, tokens: torch.Tensor, audio: torch.Tensor, pose: torch.Tensor, eye: torch.Tensor
    ) -> torch.Tensor:
        n = tokens.shape[0]

        def attend(attention: CrossAttention, mlp: nn.Module, part: torch.Tensor) -> torch.Tensor:
            return attention.reference_forward(tokens, mlp(part).reshape(n, -1))

        hc = attend(self.cross_attn_pose, self.pose_mlp, pose)
        hc = hc + attend(self.cross_attn_aud, self.audio_mlp, audio)
        return hc + attend(self.cross_attn_eye, self.eye_mlp, eye)

    def forward(
        self,
        x: torch.Tensor,
        time_emb: torch.Tensor | None = None,
        cond: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.time_mlp is None:
            return self.block2(self.block1(x)) + self.res_conv(x)
        if time_emb is None or cond is None:
            raise ValueError("a conditioned residual block needs the time embedding and the condition")
        b, _, frames, height, width = x.shape
        scale, shift = self.time_mlp(time_emb)[:, :, None, None, None].chunk(2, dim=1)
        audio, pose, eye = cond.split(self.split, dim=-1)
        tokens = x.permute(0, 2, 3, 4, 1).reshape(b * frames, height * width, -1)
        if self.reference:
            hc = self._reference_conditioning(tokens, audio, pose, eye)
            hc = hc.reshape(b, frames, height, width, -1).permute(0, 4, 1, 2, 3)
            return self.block2(hc + self.block1(x, (scale, shift))) + self.res_conv(x)
        attentions = (self.cross_attn_pose, self.cross_attn_aud, self.cross_attn_eye)
        # one shared normalisation (the gains are folded into the weights) and one projection
        normed = F.layer_norm(tokens, tokens.shape[-1:], eps=1e-5 if tokens.dtype == torch.float32 else 1e-3)
        weight = torch.cat([a.query_weight() for a in attentions])
        queries = linear(normed, weight.to(normed.dtype)).chunk(3, dim=-1)

        def attend(index: int, mlp: nn.Module, part: torch.Tensor) -> torch.Tensor:
            return attentions[index].attend(queries[index], mlp(part).reshape(b * frames, -1))

        hc = attend(0, self.pose_mlp, pose) + attend(1, self.audio_mlp, audio)
        hc = hc + attend(2, self.eye_mlp, eye)
        hc = hc.reshape(b, frames, height, width, -1).permute(0, 4, 1, 2, 3)
        h = self.block1(x, (scale, shift))
        h = self.block2(hc + h)
        return h + self.res_conv(x)
