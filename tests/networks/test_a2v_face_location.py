"""Face box → mask: the reference's truncation and axis convention, the B6 fix, and input checks."""

from __future__ import annotations

import pytest
import torch

from dawn_studio.networks.a2v import FaceLocationEncoder, bbox_mask


def _span(mask: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int]]:
    rows = mask[0, 0].any(dim=1).nonzero().flatten()
    cols = mask[0, 0].any(dim=0).nonzero().flatten()
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def test_reference_example_from_the_spec():
    bbox = torch.tensor([[[30.7], [100.2], [20.5], [110.9], [256.0], [512.0]]])
    mask = bbox_mask(bbox, 128, axes="reference")
    assert mask.shape == (1, 1, 128, 128) and mask.dtype == torch.float32
    assert _span(mask) == ((5, 28), (15, 51))
    assert mask.sum() == (28 - 5 + 1) * (51 - 15 + 1)


def test_reference_fallback_box_gives_the_tiny_block():
    bbox = torch.tensor([[64.0, 64.0, 192.0, 192.0, 256.0, 256.0]])
    mask = bbox_mask(bbox, 128, axes="reference")
    assert _span(mask) == ((96, 97), (32, 33))


def test_fixed_axes_divide_x_by_width_and_y_by_height():
    # landscape original 720 rows × 1280 columns, face box in the middle
    bbox = torch.tensor([[480.0, 800.0, 200.0, 520.0, 720.0, 1280.0]])
    fixed = bbox_mask(bbox, 128, axes="fixed")
    assert _span(fixed) == ((35, 93), (48, 81))
    reference = bbox_mask(bbox, 128, axes="reference")
    assert _span(reference) != _span(fixed)
    square = torch.tensor([[100.0, 300.0, 120.0, 330.0, 512.0, 512.0]])
    assert torch.equal(bbox_mask(square, 128, axes="fixed"), bbox_mask(square, 128, axes="reference"))


def test_only_frame_zero_is_used_and_the_input_is_left_alone():
    bbox = torch.tensor(
        [[[10.0, 90.0], [50.0, 120.0], [10.0, 90.0], [50.0, 120.0], [128.0, 128.0], [128.0, 128.0]]]
    )
    before = bbox.clone()
    mask = bbox_mask(bbox, 128)
    assert torch.equal(bbox, before)
    assert _span(mask) == ((10, 51), (10, 51))


def test_boxes_beyond_the_image_are_clipped():
    bbox = torch.tensor([[-20.0, 500.0, 100.0, 400.0, 256.0, 256.0]])
    mask = bbox_mask(bbox, 64)
    assert _span(mask) == ((25, 63), (0, 63))


@pytest.mark.parametrize(
    "bbox",
    [
        torch.zeros(1, 5),
        torch.tensor([[1.0, 2.0, 3.0, 4.0, 0.0, 10.0]]),
        torch.tensor([[1.0, 2, 3, 4, 5, float("nan")]]),
    ],
)
def test_bad_boxes_are_explained(bbox):
    with pytest.raises(ValueError, match="bbox"):
        bbox_mask(bbox, 128)


def test_encoder_reduces_to_latent_size():
    encoder = FaceLocationEncoder()
    out = encoder(torch.ones(2, 1, 128, 128))
    assert out.shape == (2, 16, 32, 32) and (out >= 0).all()
