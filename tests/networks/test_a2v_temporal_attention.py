"""Temporal attention: banded evaluation equals the reference's dense masked attention; bias and rotary."""

from __future__ import annotations

import pytest
import torch

from dawn_studio.networks.a2v.temporal_attention import (
    RelativePositionBias,
    RotaryEmbedding,
    TemporalAttention,
    banded_attention,
    dense_band_attention,
    relative_position_bucket,
)

# a2v_fdm.md §5.8: bucket by d = key - query frame.
SPEC_BUCKETS = {
    0: 0,
    -1: 1,
    -7: 7,
    -8: 8,
    -9: 8,
    -10: 9,
    -13: 10,
    -15: 11,
    -16: 12,
    -19: 12,
    -20: 13,
    -22: 13,
    -23: 14,
    -26: 14,
    -27: 15,
    -40: 15,
    1: 17,
    7: 23,
    8: 24,
    11: 25,
    12: 26,
    14: 27,
    16: 28,
    19: 28,
    20: 29,
    22: 29,
    23: 30,
    26: 30,
    27: 31,
    40: 31,
    500: 31,
}


def test_relative_position_buckets_match_the_spec_table():
    offsets = torch.tensor(list(SPEC_BUCKETS))
    buckets = relative_position_bucket(offsets, num_buckets=32, max_distance=32)
    assert buckets.tolist() == list(SPEC_BUCKETS.values())


def test_rotary_freqs_and_pairwise_rotation():
    rotary = RotaryEmbedding(32)
    assert rotary.freqs.shape == (16,) and not rotary.freqs.requires_grad
    torch.testing.assert_close(rotary.freqs[:2], torch.tensor([1.0, 0.56234133]))
    cos, sin = rotary.cos_sin(5, torch.device("cpu"))
    u = torch.randn(3, 5, 32, generator=torch.Generator().manual_seed(0))
    rotated = RotaryEmbedding.rotate(u, cos, sin)
    # interleaved pairs: (a, b) at angle m·θ_i → (a cos − b sin, b cos + a sin)
    a, b = u[..., 2, 0], u[..., 2, 1]
    angle = torch.tensor(2.0)
    torch.testing.assert_close(rotated[..., 2, 0], a * angle.cos() - b * angle.sin())
    torch.testing.assert_close(rotated[..., 2, 1], b * angle.cos() + a * angle.sin())
    torch.testing.assert_close(rotated.norm(dim=-1), u.norm(dim=-1))


def _qkv(frames: int, heads: int = 3, dim: int = 8, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(2, 4, heads, frames, dim, generator=g) for _ in range(3))


@pytest.mark.parametrize("window", [2, 5, 40])
@pytest.mark.parametrize("offset", [-3, -1, 0, 1, 2, 7, 50, 90])
def test_banded_equals_dense_around_the_window(window, offset):
    frames = max(1, 2 * window + 1 + offset) if offset < 50 else window + offset
    heads = 3
    bias = RelativePositionBias(heads, window=window)
    with torch.no_grad():
        bias.relative_attention_bias.weight.normal_(generator=torch.Generator().manual_seed(1))
        pos = bias(frames, torch.device("cpu"), dense=True)
        q, k, v = _qkv(frames, heads)
        dense = dense_band_attention(q, k, v, pos.dense)
        banded = banded_attention(q, k, v, pos.band, pos.window)
        tiled = banded_attention(q, k, v, pos.band, pos.window, tile=3)
    torch.testing.assert_close(banded, dense, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(tiled, dense, rtol=1e-5, atol=1e-5)


def test_far_frames_have_no_influence_beyond_the_window():
    window, frames = 4, 30
    bias = RelativePositionBias(2, window=window)
    q, k, v = _qkv(frames, heads=2)
    with torch.no_grad():
        pos = bias(frames, torch.device("cpu"))
        base = banded_attention(q, k, v, pos.band, window, tile=5)
        v2 = v.clone()
        v2[..., 20:, :] += 100.0
        changed = banded_attention(q, k, v2, pos.band, window, tile=5)
    torch.testing.assert_close(changed[..., : 20 - window, :], base[..., : 20 - window, :])
    assert not torch.allclose(changed[..., 20 - window :, :], base[..., 20 - window :, :])


@pytest.mark.parametrize("frames", [1, 6, 41, 42, 97])
def test_temporal_attention_module_impls_agree(frames):
    rotary = RotaryEmbedding(16)
    torch.manual_seed(3)
    attention = TemporalAttention(24, rotary, heads=2, dim_head=16)
    bias = RelativePositionBias(2, window=40)
    x = torch.randn(1, 5, frames, 24)
    with torch.no_grad():
        pos = bias(frames, x.device, dense=True)
        banded = attention(x, pos_bias=pos)
        attention.impl = "dense"
        dense = attention(x, pos_bias=pos)
    torch.testing.assert_close(banded, dense, rtol=1e-5, atol=1e-5)
