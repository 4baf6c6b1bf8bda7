"""The A2V U-Net at tiny width: shapes, frame count as an input, guidance, implementation equivalence."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from dawn_studio.networks.a2v import TINY, Unet3D


def _unet(**changes) -> Unet3D:
    torch.manual_seed(0)
    return Unet3D(dataclasses.replace(TINY.unet, **changes)).eval()


def _inputs(unet: Unet3D, frames: int, size: int = 8, batch: int = 1, seed: int = 0):
    c = unet.config
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c.noise_channels, frames, size, size, generator=g)
    image = torch.rand(batch, c.feature_channels + c.face_loc_channels, 1, size, size, generator=g)
    cond = torch.randn(batch, frames, c.cond_dim, generator=g)
    time = torch.full((batch,), 500, dtype=torch.long)
    return x, image, time, cond


@pytest.mark.parametrize("frames", [1, 5, 13])
def test_output_shape_follows_the_inputs(frames):
    unet = _unet()
    x, image, time, cond = _inputs(unet, frames)
    with torch.no_grad():
        out = unet(x, image, time, cond)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_frame_constant_image_condition_equals_its_expansion():
    unet = _unet()
    x, image, time, cond = _inputs(unet, 6)
    with torch.no_grad():
        once = unet(x, image, time, cond)
        expanded = unet(x, image.expand(-1, -1, 6, -1, -1), time, cond)
    torch.testing.assert_close(once, expanded, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("frames", [3, 9, 10, 23])
def test_banded_and_dense_temporal_attention_give_the_same_unet(frames):
    banded = _unet()
    dense = _unet(temporal_attention="dense")
    dense.load_state_dict(banded.state_dict())
    inputs = _inputs(banded, frames)
    with torch.no_grad():
        reference = dense(*inputs)
        torch.testing.assert_close(banded(*inputs), reference, rtol=1e-4, atol=1e-5)
        banded.set_temporal_attention("dense")
        assert torch.equal(banded(*inputs), reference)


def test_classifier_free_guidance_combines_conditional_and_zero_condition_passes():
    unet = _unet()
    x, image, time, cond = _inputs(unet, 4, batch=2)
    with torch.no_grad():
        conditional = unet(x, image, time, cond)
        null = unet(x, image, time, torch.zeros_like(cond))
        guided = unet.forward_with_cond_scale(x, image, time, cond, cond_scale=2.5)
        plain = unet.forward_with_cond_scale(x, image, time, cond, cond_scale=1.0)
    torch.testing.assert_close(guided, null + (conditional - null) * 2.5, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(plain, conditional)


def test_batch_elements_are_independent():
    unet = _unet()
    x, image, time, cond = _inputs(unet, 5, batch=2)
    with torch.no_grad():
        both = unet(x, image, time, cond)
        first = unet(x[:1], image[:1], time[:1], cond[:1])
    torch.testing.assert_close(both[:1], first, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "change, message",
    [
        ("x", "x_noisy must be"),
        ("image", "image_cond must be"),
        ("cond", "cond must be"),
        ("time", "time must be"),
        ("size", "multiples of"),
    ],
)
def test_bad_input_shapes_are_explained(change, message):
    unet = _unet()
    x, image, time, cond = _inputs(unet, 4)
    if change == "x":
        x = x[:, :2]
    elif change == "image":
        image = image[:, :-1]
    elif change == "cond":
        cond = cond[:, :3]
    elif change == "time":
        time = time.repeat(2)
    else:
        x, image = x[..., :7, :7], image[..., :7, :7]
    with pytest.raises(ValueError, match=message):
        unet(x, image, time, cond)


def test_one_model_serves_any_frame_count_in_turn():
    unet = _unet()
    with torch.no_grad():
        for frames in (9, 2, 30, 9):
            x, image, time, cond = _inputs(unet, frames, size=4)
            assert unet(x, image, time, cond).shape == x.shape
