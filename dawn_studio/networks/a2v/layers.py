"""Small building blocks of the A2V U-Net, named and laid out so the published state dict loads."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: Inputs of at least this many elements take :func:`linear`'s oneDNN path on the CPU; below it the
#: call overhead of either path dominates.
ONEDNN_LINEAR_MIN_ELEMENTS = 1 << 18


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear``; large float32 inputs on the CPU run as a 1×1 convolution of a channels-last view.

    The same products, summed in another order: oneDNN computes them 1.5–3× faster than the BLAS
    matrix product torch uses for ``F.linear`` (MKL, which takes a slow path on AMD processors):
    0.19 s against 0.045 s for the (204800 × 64) · (64 × 768) token projection of a 200-frame clip
    on the project's 2-core EPYC. No copy is made: the rows are read in place and the output
    comes back row-major.
    """
    if (
        x.device.type != "cpu"
        or x.dtype != torch.float32
        or x.numel() < ONEDNN_LINEAR_MIN_ELEMENTS
        or not torch.backends.mkldnn.is_available()
    ):
        return F.linear(x, weight, bias)
    rows = x.reshape(-1, x.shape[-1]).contiguous()
    image = rows.view(1, rows.shape[0], 1, rows.shape[1]).permute(0, 3, 1, 2)  # (1, C, rows, 1) channels-last
    out = F.conv2d(image, weight[:, :, None, None], bias)
    return out.permute(0, 2, 3, 1).reshape(*x.shape[:-1], weight.shape[0])


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of (b, C, T, H, W), no bias (reference ``LayerNorm``, key ``gamma``)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(1, dim, 1, 1, 1))

    #: True: the reference's separate mean/variance passes (benchmark baseline); False: one fused kernel.
    reference = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.reference:
            mean = x.mean(dim=1, keepdim=True)
            var = x.var(dim=1, unbiased=False, keepdim=True)
            return (x - mean) / (var + self.eps).sqrt() * self.gamma
        # (x − mean_c) / sqrt(var_c + eps) · gamma, with the fused kernel over a channels-last view
        return self.normalize_last(x.movedim(1, -1)).movedim(-1, 1)

    def normalize_last(self, tokens: torch.Tensor) -> torch.Tensor:
        """The same normalisation of tokens (..., C) with the channels last; gamma applied in the kernel."""
        return F.layer_norm(tokens, tokens.shape[-1:], self.gamma.view(-1).to(tokens.dtype), None, self.eps)


class LastAxisLayerNorm(nn.Module):
    """LayerNorm over the last axis without bias (reference ``LayerNorm_img``, key ``g``).

    The reference switches eps to 1e-3 for non-float32 tensors; kept so half precision matches it.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.g = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        eps = 1e-5 if x.dtype == torch.float32 else 1e-3
        return F.layer_norm(x, (x.shape[-1],), self.g, None, eps)


class PreNorm(nn.Module):
    """``fn(norm(x))``; keys ``norm.gamma`` and ``fn.*``.

    When ``fn`` regroups x into channels-last tokens (it has ``forward_normed``), the norm runs on
    those tokens, saving a layout copy and a pass over the activations.
    """

    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        self.norm = ChannelLayerNorm(dim)

    def forward(self, x: torch.Tensor, **kwargs: object) -> torch.Tensor:
        if not self.norm.reference and hasattr(self.fn, "forward_normed"):
            return self.fn.forward_normed(x, self.norm.normalize_last, **kwargs)
        return self.fn(self.norm(x), **kwargs)


class Residual(nn.Module):
    """``fn(x) + x``; adds the ``fn.`` segment to the key paths."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor, **kwargs: object) -> torch.Tensor:
        return self.fn(x, **kwargs) + x


class ConvBlock(nn.Module):
    """Conv3d (1,3,3) → GroupNorm (statistics over all frames) → optional scale/shift → SiLU (``Block``)."""

    def __init__(self, dim: int, dim_out: int, groups: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(dim, dim_out, (1, 3, 3), padding=(0, 1, 1))
        self.norm = nn.GroupNorm(groups, dim_out)

    def forward(
        self,
        x: torch.Tensor,
        scale_shift: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        x = self.norm(self.proj(x))
        if scale_shift is not None:
            scale, shift = scale_shift
            x = torch.addcmul(shift, x, scale + 1)
        return F.silu(x)


class SinusoidalTimeEmbedding(nn.Module):
    """[sin(t·f_k), cos(t·f_k)] with f_k = exp(-k·ln(10000)/(dim/2 - 1)); no parameters."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        step = math.log(10000) / (half - 1)
        freqs = torch.exp(torch.arange(half, device=t.device) * -step)
        angles = t.float()[:, None] * freqs[None, :]
        return torch.cat((angles.sin(), angles.cos()), dim=-1)


def downsample(dim: int) -> nn.Conv3d:
    """Halve H and W: Conv3d (1,4,4), stride (1,2,2), pad (0,1,1)."""
    return nn.Conv3d(dim, dim, (1, 4, 4), (1, 2, 2), (0, 1, 1))


def upsample(dim: int) -> nn.ConvTranspose3d:
    """Double H and W with a transposed convolution (its weight is laid out (in, out, 1, 4, 4))."""
    return nn.ConvTranspose3d(dim, dim, (1, 4, 4), (1, 2, 2), (0, 1, 1))
