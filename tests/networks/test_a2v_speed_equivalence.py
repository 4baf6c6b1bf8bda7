"""The fast paths of the A2V denoiser compute the reference's function.

Banded temporal attention vs the dense masked T×T form, the complex-product rotary embedding vs
the cos/sin tables, the closed-form two-key cross-attention and the block's shared query
projection vs the reference formulas, the oneDNN projections and the contiguous spatial linear
attention — on random inputs at frame counts around the window and
on every ``unet`` conformance fixture.
"""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import torch
import torch.nn.functional as F
from support.conformance import (
    assert_entry,
    constructed_names,
    fill_module,
    fixture_params,
    inputs_of,
    load_fixture,
)

from dawn_studio.networks.a2v import TINY, GaussianDiffusion, Unet3D
from dawn_studio.networks.a2v.conditioning import ConditionedResnetBlock, CrossAttention
from dawn_studio.networks.a2v.layers import ONEDNN_LINEAR_MIN_ELEMENTS, PreNorm, linear
from dawn_studio.networks.a2v.spatial_attention import AlongPositions, SpatialAttention, SpatialLinearAttention
from dawn_studio.networks.a2v.temporal_attention import (
    AlongFrames,
    RelativePositionBias,
    RotaryEmbedding,
    TemporalAttention,
)

WINDOW = 4
# Around the window (T ≤ w, T = 2w+1 ± 1) and around the tiling (tile = 32: T = tile + 2w ± 1, 3 tiles).
FRAME_COUNTS = [1, 3, WINDOW, WINDOW + 1, 2 * WINDOW, 2 * WINDOW + 1, 2 * WINDOW + 2, 39, 40, 41, 97]


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Every parameter random (gains and scales included), so folded weights are really tested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5 + (1.0 if p.ndim == 1 else 0.0))


@pytest.mark.parametrize("shape", [(3, 5, 16), (7, 1, 16), (2, 64, 16)])
def test_closed_form_cross_attention_equals_the_softmax_over_two_keys(shape):
    attention = CrossAttention(16, 24, 12, heads=4, dim_head=8, scale=8.0)
    _randomise(attention, 1)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(shape, generator=g) * 3
    context = torch.randn(shape[0], 12, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(attention(x, context), attention.reference_forward(x, context),
                                   rtol=1e-5, atol=1e-5)


def test_shared_query_projection_block_equals_three_separate_attentions():
    block = ConditionedResnetBlock(8, 16, groups=4, time_dim=12, audio_dim=10, pose_dim=6, eye_dim=2,
                                   heads=2, dim_head=4)
    _randomise(block, 3)
    g = torch.Generator().manual_seed(4)
    b, frames, size = 2, 5, 4
    x = torch.randn(b, 8, frames, size, size, generator=g)
    t = torch.randn(b, 12, generator=g)
    cond = torch.randn(b, frames, 18, generator=g)
    with torch.no_grad():
        fast = block(x, t, cond)
        # the reference: each cross-attention normalises and projects the queries itself
        queries = x.permute(0, 2, 3, 4, 1).reshape(b * frames, size * size, -1)
        audio, pose, eye = cond.split(block.split, dim=-1)

        def attend(attention, mlp, part):
            return attention.reference_forward(queries, mlp(part).reshape(b * frames, -1))

        hc = attend(block.cross_attn_pose, block.pose_mlp, pose)
        hc = hc + attend(block.cross_attn_aud, block.audio_mlp, audio)
        hc = hc + attend(block.cross_attn_eye, block.eye_mlp, eye)
        hc = hc.reshape(b, frames, size, size, -1).permute(0, 4, 1, 2, 3)
        scale, shift = block.time_mlp(t)[:, :, None, None, None].chunk(2, dim=1)
        expected = block.block2(hc + block.block1(x, (scale, shift))) + block.res_conv(x)
    torch.testing.assert_close(fast, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rot_dim", [8, 16])
def test_complex_rotation_equals_cos_sin_rotation(rot_dim):
    rotary = RotaryEmbedding(rot_dim)
    u = torch.randn(3, 2, 11, rot_dim, generator=torch.Generator().manual_seed(5))
    cos, sin = rotary.cos_sin(11, u.device)
    expected = RotaryEmbedding.rotate(u, cos, sin)
    actual = RotaryEmbedding.rotate_complex(u, rotary.rotation(11, u.device))
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("frames", FRAME_COUNTS)
@pytest.mark.parametrize("rot_dim", [16, 8])  # rotary over the whole head, and over its first half
def test_temporal_attention_fast_path_equals_reference(frames, rot_dim):
    dim_head = 16
    rotary = RotaryEmbedding(rot_dim)
    torch.manual_seed(6)
    attention = TemporalAttention(20, rotary, heads=3, dim_head=dim_head)
    bias = RelativePositionBias(3, window=WINDOW)
    with torch.no_grad():
        bias.relative_attention_bias.weight.normal_(generator=torch.Generator().manual_seed(7))
        x = torch.randn(2, 3, frames, 20) * 2
        pos = bias(frames, x.device, dense=True)
        fast = attention(x, pos_bias=pos)
        attention.impl = "dense"
        reference = attention(x, pos_bias=pos)
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("frames", FRAME_COUNTS)
def test_whole_unet_banded_equals_dense(frames):
    config = dataclasses.replace(TINY.unet, win_width=WINDOW)
    torch.manual_seed(8)
    unet = Unet3D(config).eval()
    g = torch.Generator().manual_seed(frames)
    x = torch.randn(1, config.noise_channels, frames, 8, 8, generator=g)
    image_cond = torch.randn(1, config.feature_channels + config.face_loc_channels, 1, 8, 8, generator=g)
    cond = torch.randn(1, frames, config.cond_dim, generator=g)
    time = torch.tensor([321])
    with torch.no_grad():
        banded = unet(x, image_cond, time, cond)
        every_frame = image_cond.expand(-1, -1, frames, -1, -1).contiguous()
        unet.set_temporal_attention("dense")
        # the reference also convolved the constant channels of every frame
        dense = unet(x, every_frame, time, cond)
        unet.set_formulation("reference")
        reference = unet(x, every_frame, time, cond)
        unet.set_formulation("fast")
        again = unet(x, image_cond, time, cond)
    torch.testing.assert_close(banded, dense, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(banded, reference, rtol=1e-4, atol=1e-4)
    assert torch.equal(banded, again)
    assert unet.config.temporal_attention == "banded"


def test_reduced_precision_takes_the_real_rotation_and_stays_close():
    rotary = RotaryEmbedding(16)
    torch.manual_seed(9)
    attention = TemporalAttention(32, rotary, heads=2, dim_head=16)
    bias = RelativePositionBias(2, window=WINDOW)
    x = torch.randn(1, 4, 45, 32)
    with torch.no_grad():
        pos = bias(45, x.device)
        exact = attention(x, pos_bias=pos)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            reduced = attention(x, pos_bias=pos)
    assert reduced.dtype == torch.bfloat16
    error = (reduced.float() - exact).norm() / exact.norm()
    assert error < 0.02, f"bfloat16 relative error {error:.4f}"


# ---- conformance fixtures ------------------------------------------------------------------------
def _conformance_helpers():
    return importlib.import_module("conformance.test_a2v_conformance")


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params("unet"))
def test_unet_fixture_fast_and_reference_formulations_agree_with_the_reference(path):
    helpers = _conformance_helpers()
    fixture = load_fixture(path)
    config = fixture["config"]
    inputs = inputs_of(fixture)
    diffusion = GaussianDiffusion(helpers.unet_config(config), helpers.diffusion_config(config))
    fill_module(diffusion, constructed_names(fixture, "a2v.diffusion"))
    unet = diffusion.denoise_fn.eval()
    x_noisy, fea, cond = inputs["x_noisy"], inputs["fea"], inputs["cond"]
    time = torch.as_tensor(inputs["time"]).long().reshape(-1).expand(x_noisy.shape[0])
    scale = float(inputs.get("cond_scale", 1.0))
    outputs = {}
    with torch.no_grad():
        for impl in ("banded", "dense"):
            unet.set_temporal_attention(impl)
            outputs[impl] = unet.forward_with_cond_scale(x_noisy, fea, time, cond, scale)
        unet.set_formulation("reference")
        outputs["reference"] = unet.forward_with_cond_scale(x_noisy, fea, time, cond, scale)
    for out in outputs.values():
        assert_entry(fixture, "out", out)
    torch.testing.assert_close(outputs["banded"], outputs["dense"], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(outputs["banded"], outputs["reference"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("along", ["frames", "positions"])
def test_prenorm_on_tokens_equals_norm_then_regroup(along):
    """PreNorm normalising the regrouped tokens (one layout copy) equals the reference's norm-then-fn."""
    torch.manual_seed(11)
    dim, frames = 16, 7
    if along == "frames":
        bias = RelativePositionBias(4, 32, 32, WINDOW)
        inner = AlongFrames(TemporalAttention(dim, RotaryEmbedding(8), heads=4, dim_head=8))
    else:
        bias = None
        inner = AlongPositions(SpatialAttention(dim, heads=4, dim_head=8))
    block = PreNorm(dim, inner).eval()
    _randomise(block, 5)
    x = torch.randn(2, dim, frames, 4, 6)
    kwargs = {} if bias is None else {"pos_bias": bias(frames, x.device)}
    with torch.no_grad():
        fast = block(x, **kwargs)
        block.norm.reference = True
        reference = block(x, **kwargs)
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bias", [False, True])
def test_onednn_linear_equals_the_matrix_product(bias):
    """Large CPU projections run as 1×1 convolutions: same result, row-major, no copy of the input."""
    torch.manual_seed(12)
    weight = torch.randn(48, 32)
    b = torch.randn(48) if bias else None
    rows = ONEDNN_LINEAR_MIN_ELEMENTS // 32 + 5  # just over the threshold
    x = torch.randn(2, rows // 2 + 1, 32)
    out = linear(x, weight, b)
    torch.testing.assert_close(out, F.linear(x, weight, b), rtol=1e-5, atol=1e-5)
    assert out.shape == (2, rows // 2 + 1, 48) and out.is_contiguous()
    strided = torch.randn(rows, 64)[:, ::2]  # a non-contiguous view of the rows
    torch.testing.assert_close(linear(strided, weight, b), F.linear(strided, weight, b), rtol=1e-5, atol=1e-5)
    small = torch.randn(3, 32)  # below the threshold: the plain product
    torch.testing.assert_close(linear(small, weight, b), F.linear(small, weight, b), rtol=0, atol=0)


@pytest.mark.parametrize("frames", [1, 5])
def test_spatial_linear_attention_fast_path_equals_reference(frames):
    torch.manual_seed(13)
    attention = SpatialLinearAttention(16, heads=4, dim_head=8).eval()
    _randomise(attention, 6)
    x = torch.randn(2, 16, frames, 4, 6)
    with torch.no_grad():
        fast = attention(x)
        attention.reference = True
        reference = attention(x)
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)
