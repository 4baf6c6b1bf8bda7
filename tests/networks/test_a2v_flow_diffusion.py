"""FlowDiffusion API at tiny width: condition assembly, flow sampling, errors a caller can act on."""

from __future__ import annotations

import pytest
import torch

from dawn_studio.networks import lfg
from dawn_studio.networks.a2v import TINY, FlowDiffusion, NoiseSource


@pytest.fixture(scope="module")
def model() -> FlowDiffusion:
    torch.manual_seed(0)
    return FlowDiffusion(TINY).eval()


def _sequences(frames: int, audio_dim: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    audio = torch.randn(1, frames, audio_dim, generator=g)
    pose = torch.randn(1, 6, frames, generator=g) * 10
    eye = torch.rand(1, 2, frames, generator=g)
    return audio, pose, eye


def test_condition_is_audio_then_pose_and_eye_deltas(model):
    audio, pose, eye = _sequences(5, TINY.unet.audio_dim)
    init_pose = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -66.7]])  # 3DDFA pose: tz is dropped
    init_eye = torch.tensor([[0.3, 0.4]])
    cond = model.condition(audio, pose, eye, init_pose, init_eye)
    a = TINY.unet.audio_dim
    assert cond.shape == (1, 5, a + 8)
    torch.testing.assert_close(cond[..., :a], audio)
    torch.testing.assert_close(cond[..., a : a + 6], pose.permute(0, 2, 1) - init_pose[:, None, :6])
    torch.testing.assert_close(cond[..., a + 6 :], eye.permute(0, 2, 1) - init_eye[:, None])


def test_missing_initial_state_uses_frame_zero(model):
    audio, pose, eye = _sequences(4, TINY.unet.audio_dim)
    cond = model.condition(audio, pose, eye)
    a = TINY.unet.audio_dim
    assert torch.all(cond[0, 0, a:] == 0)
    torch.testing.assert_close(cond[0, 2, a : a + 6], pose[0, :, 2] - pose[0, :, 0])


@pytest.mark.parametrize(
    "change, message",
    [("audio", "audio features"), ("pose", "pose must be"), ("eye", "eye must be"), ("init_eye", "init_eye")],
)
def test_mismatched_sequences_are_explained(model, change, message):
    audio, pose, eye = _sequences(4, TINY.unet.audio_dim)
    init_eye = None
    if change == "audio":
        audio = audio[..., :-1]
    elif change == "pose":
        pose = pose[..., :3]
    elif change == "eye":
        eye = eye[:, :1]
    else:
        init_eye = torch.zeros(1, 3)
    with pytest.raises(ValueError, match=message):
        model.condition(audio, pose, eye, None, init_eye)


def test_sample_flows_returns_grid_and_occlusion_in_range(model):
    frames, latent = 7, TINY.latent_size
    audio, pose, eye = _sequences(frames, TINY.unet.audio_dim)
    cond = model.condition(audio, pose, eye)
    bbox = torch.tensor([[10.0, 50.0, 12.0, 52.0, 64.0, 64.0]])
    location = model.face_location(bbox, TINY.image_size)
    features = torch.rand(1, TINY.unet.feature_channels, latent, latent)
    image_cond = torch.cat((features, location), dim=1)
    flows = model.sample_flows(image_cond, cond, noise=NoiseSource.seeded(3))
    assert flows.grid.shape == (1, 2, frames, latent, latent)
    assert flows.occlusion.shape == (1, 1, frames, latent, latent)
    assert flows.grid.abs().max() <= 1 and 0 <= flows.occlusion.min() and flows.occlusion.max() <= 1
    again = model.sample_flows(image_cond, cond, noise=NoiseSource.seeded(3))
    assert torch.equal(flows.grid, again.grid)


def test_rendering_without_a_generator_is_refused(model):
    with pytest.raises(RuntimeError, match="no LFG generator"):
        model.image_condition(torch.rand(1, 3, 64, 64), torch.tensor([[1.0, 2, 3, 4, 64, 64]]))


def test_sample_video_renders_every_frame_with_the_lfg():
    torch.manual_seed(1)
    model = FlowDiffusion(TINY, generator=lfg.Generator(lfg.TINY)).eval()
    frames = 6
    audio, pose, eye = _sequences(frames, TINY.unet.audio_dim)
    image = torch.rand(2, 3, TINY.image_size, TINY.image_size)
    bbox = torch.tensor([[10.0, 50.0, 12.0, 52.0, 64.0, 64.0], [5.0, 30.0, 8.0, 40.0, 48.0, 64.0]])
    batch = [torch.cat((t, t)) for t in (audio, pose, eye)]
    result = model.sample_video(image, *batch, bbox, seed=11, frames_per_chunk=4)
    size = TINY.image_size
    assert result.video.shape == result.warped.shape == (2, 3, frames, size, size)
    assert result.flows.grid.shape == (2, 2, frames, TINY.latent_size, TINY.latent_size)
    assert 0 <= result.video.min() and result.video.max() <= 1
    # each portrait's frames are the LFG decoding of its own flows
    single = model.render(image[1:], type(result.flows)(result.flows.grid[1:], result.flows.occlusion[1:]), 6)
    torch.testing.assert_close(single[0], result.video[1:], rtol=1e-5, atol=1e-6)
    again = model.sample_video(image, *batch, bbox, seed=11)
    assert torch.equal(again.flows.grid, result.flows.grid)
