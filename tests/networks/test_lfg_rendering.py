"""Batched rendering: one portrait encoded once, flows decoded in chunks, equal to per-frame decoding."""

from __future__ import annotations

import pytest
import torch
from support.conformance import fill_module

from dawn_studio.networks.lfg import LFG_128, TINY, Generator, LFGConfig, frames_per_chunk, render_frames
from dawn_studio.networks.lfg.geometry import coordinate_grid
from dawn_studio.networks.lfg.rendering import MAX_CHUNK
from dawn_studio.progress import Cancelled, CancelToken


def _generator(config: LFGConfig) -> Generator:
    generator = Generator(config)
    fill_module(generator, ["pixelwise_flow_predictor.down.weight"])
    return generator.eval()


def _flows(frames: int, side: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    grid = coordinate_grid(side, side).expand(frames, side, side, 2)
    flows = grid + 0.1 * torch.randn(frames, side, side, 2, generator=g)
    occlusions = torch.rand(frames, 1, side, side, generator=g)
    return flows, occlusions


def _per_frame(generator: Generator, image: torch.Tensor, flows: torch.Tensor, occlusions: torch.Tensor):
    """The reference's way: one forward_with_flow call per frame (the portrait re-encoded every time)."""
    with torch.no_grad():
        outs = [
            generator.forward_with_flow(image, flows[t : t + 1], occlusions[t : t + 1])
            for t in range(len(flows))
        ]
    return torch.cat([o["prediction"] for o in outs]), torch.cat([o["deformed"] for o in outs])


@pytest.fixture(scope="module")
def tiny() -> Generator:
    return _generator(TINY)


@pytest.fixture(scope="module")
def portrait() -> torch.Tensor:
    return torch.rand(1, 3, TINY.image_size, TINY.image_size, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("chunk_size", [1, 3, 7, None])
def test_batched_equals_per_frame(tiny, portrait, chunk_size):
    flows, occlusions = _flows(7, TINY.latent_size)
    expected_frames, expected_warped = _per_frame(tiny, portrait, flows, occlusions)
    rendered = render_frames(tiny, portrait, flows, occlusions, chunk_size=chunk_size)
    assert rendered.frames.shape == (7, 3, TINY.image_size, TINY.image_size)
    torch.testing.assert_close(rendered.frames, expected_frames, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rendered.warped, expected_warped, rtol=1e-5, atol=1e-5)


def test_batched_equals_per_frame_for_the_published_build():
    generator = _generator(LFG_128)
    image = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(2))
    flows, occlusions = _flows(3, LFG_128.latent_size, seed=3)
    expected_frames, expected_warped = _per_frame(generator, image, flows, occlusions)
    rendered = render_frames(generator, image, flows, occlusions, chunk_size=2)
    torch.testing.assert_close(rendered.frames, expected_frames, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rendered.warped, expected_warped, rtol=1e-5, atol=1e-5)


def test_portrait_is_encoded_once_and_frames_decode_per_chunk(tiny, portrait):
    calls = {"first": 0, "final": 0}
    hooks = [
        tiny.first.register_forward_hook(lambda *_: calls.__setitem__("first", calls["first"] + 1)),
        tiny.final.register_forward_hook(lambda *_: calls.__setitem__("final", calls["final"] + 1)),
    ]
    try:
        render_frames(tiny, portrait, *_flows(10, TINY.latent_size), chunk_size=4)
    finally:
        for hook in hooks:
            hook.remove()
    assert calls == {"first": 1, "final": 3}


def test_progress_and_cancel(tiny, portrait):
    reports: list[tuple[int, int]] = []
    render_frames(
        tiny, portrait, *_flows(10, TINY.latent_size), chunk_size=4, progress=lambda *a: reports.append(a)
    )
    assert reports == [(4, 10), (8, 10), (10, 10)]
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        render_frames(tiny, portrait, *_flows(2, TINY.latent_size), cancel=token)


def test_training_mode_is_refused(portrait):
    with pytest.raises(RuntimeError, match="eval"):
        render_frames(Generator(TINY), portrait, *_flows(2, TINY.latent_size))


def test_video_layout_of_the_diffusion_output(tiny, portrait):
    flows, occlusions = _flows(5, TINY.latent_size)
    frame_layout = render_frames(tiny, portrait, flows, occlusions)
    video_layout = render_frames(
        tiny, portrait, flows.permute(3, 0, 1, 2).unsqueeze(0), occlusions.permute(1, 0, 2, 3).unsqueeze(0)
    )
    assert torch.equal(frame_layout.frames, video_layout.frames)


def test_one_portrait_for_many_flows_equals_repeated_portraits(tiny, portrait):
    flows, occlusions = _flows(4, TINY.latent_size)
    with torch.no_grad():
        shared = tiny.forward_with_flow(portrait, flows, occlusions)
        repeated = tiny.forward_with_flow(portrait.expand(4, -1, -1, -1), flows, occlusions)
    torch.testing.assert_close(shared["prediction"], repeated["prediction"], rtol=1e-6, atol=1e-6)


def test_full_occlusion_returns_the_warped_portrait(tiny, portrait):
    flows, _ = _flows(2, TINY.latent_size)
    with torch.no_grad():
        out = tiny.forward_with_flow(portrait, flows, torch.ones(2, 1, TINY.latent_size, TINY.latent_size))
    # The last blend is warp(source)·occ + decoded·(1 − occ): with occ = 1 only the warped source is left.
    assert torch.equal(out["prediction"], out["deformed"])


def test_frames_can_be_gathered_on_another_device(tiny, portrait):
    rendered = render_frames(tiny, portrait, *_flows(2, TINY.latent_size), output_device="cpu")
    assert rendered.frames.device.type == "cpu"


def test_chunk_size_follows_the_memory_budget(tiny, portrait):
    encoded = tiny.encode(portrait)
    assert frames_per_chunk(encoded, 0) == 1
    assert frames_per_chunk(encoded, 1 << 50) == MAX_CHUNK
    small, large = frames_per_chunk(encoded, 1 << 22), frames_per_chunk(encoded, 1 << 24)
    assert 1 <= small < large <= MAX_CHUNK


@pytest.mark.parametrize(
    ("flows", "occlusions", "message"),
    [
        (torch.zeros(3, 16, 16, 3), torch.zeros(3, 1, 16, 16), "flows must be"),
        (torch.zeros(3, 16, 16, 2), torch.zeros(2, 1, 16, 16), "3 flows but 2 occlusion maps"),
        (torch.zeros(3, 16, 16, 2), torch.zeros(3, 1, 8, 8), "occlusion map must be"),
        (torch.zeros(0, 16, 16, 2), torch.zeros(0, 1, 16, 16), "no flows"),
        (torch.zeros(2, 2, 3, 16, 16), torch.zeros(2, 1, 3, 16, 16), "flows must be"),
    ],
)
def test_bad_inputs_are_explained(tiny, portrait, flows, occlusions, message):
    with pytest.raises(ValueError, match=message):
        render_frames(tiny, portrait, flows, occlusions)


def test_render_takes_one_portrait(tiny, portrait):
    with pytest.raises(ValueError, match="one portrait"):
        render_frames(tiny, portrait.expand(2, -1, -1, -1), *_flows(2, TINY.latent_size))
    with pytest.raises(ValueError, match="chunk_size"):
        render_frames(tiny, portrait, *_flows(2, TINY.latent_size), chunk_size=0)


def test_forward_with_flow_refuses_mismatched_batches(tiny, portrait):
    flows, occlusions = _flows(3, TINY.latent_size)
    with pytest.raises(ValueError, match="2 portraits for 3 flows"):
        tiny.forward_with_flow(portrait.expand(2, -1, -1, -1), flows, occlusions)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_render_matches_cpu(tiny, portrait):
    flows, occlusions = _flows(5, TINY.latent_size)
    on_cpu = render_frames(tiny, portrait, flows, occlusions)
    gpu = _generator(TINY).cuda()
    on_gpu = render_frames(gpu, portrait, flows, occlusions, output_device="cpu")
    torch.testing.assert_close(on_gpu.frames, on_cpu.frames, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not torch.backends.mps.is_available(), reason="no MPS device here")
def test_mps_render_matches_cpu(tiny, portrait):
    flows, occlusions = _flows(5, TINY.latent_size)
    on_cpu = render_frames(tiny, portrait, flows, occlusions)
    on_mps = render_frames(_generator(TINY).to("mps"), portrait, flows, occlusions, output_device="cpu")
    torch.testing.assert_close(on_mps.frames, on_cpu.frames, rtol=1e-4, atol=1e-4)
