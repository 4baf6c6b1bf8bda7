"""A2V-FDM against the reference's fixtures: kinds ``bbox_mask``, ``unet`` and ``flow_diffusion``.

Every fixture of these kinds in the conformance directory is run; all parameters (sizes, frame
counts, guidance scale, DDIM steps, widths) come from the fixture itself. The reference's
behaviour is selected where the port deviates by default (bbox axes).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest
import torch
from support.conformance import (
    assert_entry,
    assert_matches_manifest,
    constructed_names,
    fill_module,
    fixture_params,
    inputs_of,
    load_fixture,
)

from dawn_studio.loading.lfg import build_generator_for_fixture
from dawn_studio.networks.a2v import (
    A2VConfig,
    DiffusionConfig,
    FaceLocationEncoder,
    FlowDiffusion,
    GaussianDiffusion,
    NoiseSource,
    UnetConfig,
    bbox_mask,
    ddim_time_pairs,
)

MANIFEST = "manifest.lfg_a2v.json"


def unet_config(config: dict[str, Any]) -> UnetConfig:
    """The UnetConfig of a fixture's reference constructor settings."""
    u = config.get("unet", {})
    assert u.get("use_deconv", True), "only the published transposed-convolution upsampling exists"
    assert not u.get("learn_null_cond", False), "the published model has no learned null condition"
    face_loc = 16
    noise = u.get("out_grid_dim", 2) + u.get("out_conf_dim", 1)
    audio = u.get("cond_aud", 1024)
    pose = u.get("cond_pose", config.get("pose_dim", 6))
    eye = u.get("cond_eye", 2)
    if "cond_dim" in u:
        assert u["cond_dim"] == audio + pose + eye
    return UnetConfig(
        dim=u.get("dim", 64),
        dim_mults=tuple(u.get("dim_mults", (1, 2, 4, 8))),
        noise_channels=noise,
        feature_channels=u.get("channels", 275) - noise - face_loc,
        face_loc_channels=face_loc,
        audio_dim=audio,
        pose_dim=pose,
        eye_dim=eye,
        attn_heads=u.get("attn_heads", 8),
        attn_dim_head=u.get("attn_dim_head", 32),
        init_kernel_size=u.get("init_kernel_size", 7),
        resnet_groups=u.get("resnet_groups", 8),
        win_width=config.get("win_width", 40),
        out_grid_dim=u.get("out_grid_dim", 2),
        out_conf_dim=u.get("out_conf_dim", 1),
    )


def diffusion_config(config: dict[str, Any]) -> DiffusionConfig:
    return DiffusionConfig(
        timesteps=config.get("timesteps", 1000),
        sampling_timesteps=config.get("sampling_timesteps", 20),
        ddim_eta=config.get("ddim_sampling_eta", 1.0),
        dynamic_thres_percentile=config.get("dynamic_thres_percentile", 0.9),
    )


@functools.lru_cache(maxsize=1)
def _filled_diffusion(
    unet: UnetConfig, diffusion: DiffusionConfig, constructed: tuple[str, ...]
) -> GaussianDiffusion:
    module = GaussianDiffusion(unet, diffusion)
    fill_module(module, constructed)
    return module.eval()


def filled_diffusion(fixture: dict, unet: UnetConfig, diffusion: DiffusionConfig) -> GaussianDiffusion:
    """A GaussianDiffusion filled by the rule; reused by fixtures with the same construction."""
    constructed = tuple(constructed_names(fixture, "a2v.diffusion"))
    module = _filled_diffusion(unet, dataclasses.replace(diffusion, sampling_timesteps=1), constructed)
    module.config = diffusion
    return module


# ---- bbox_mask -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", fixture_params("bbox_mask"))
def test_bbox_mask_and_face_location_encoder(path):
    fixture = load_fixture(path)
    inputs = inputs_of(fixture)
    bbox = inputs["bbox"].clone()
    size = int(inputs["size"])
    mask = bbox_mask(bbox, size, axes="reference")
    assert torch.equal(bbox, inputs["bbox"]), "the port must not modify the caller's bbox"
    assert_entry(fixture, "bbox_mask", mask)
    encoder = FaceLocationEncoder()
    assert_matches_manifest(encoder, MANIFEST, "a2v.face_loc")
    fill_module(encoder, constructed_names(fixture, "a2v.face_loc"))
    with torch.no_grad():
        assert_entry(fixture, "face_loc_emb", encoder(mask))


# ---- unet ----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params("unet"))
def test_unet_denoiser(path):
    fixture = load_fixture(path)
    config = fixture["config"]
    inputs = inputs_of(fixture)
    diffusion = filled_diffusion(fixture, unet_config(config), diffusion_config(config))
    assert_matches_manifest(diffusion, MANIFEST, "a2v.diffusion")
    x_noisy, fea, cond = inputs["x_noisy"], inputs["fea"], inputs["cond"]
    frames = int(inputs.get("num_frames", x_noisy.shape[2]))
    assert x_noisy.shape[2] == frames and cond.shape[1] == frames
    time = torch.as_tensor(inputs["time"]).long().reshape(-1).expand(x_noisy.shape[0])
    with torch.no_grad():
        out = diffusion.denoise_fn.forward_with_cond_scale(
            x_noisy,
            fea,
            time,
            cond,
            float(inputs.get("cond_scale", 1.0)),
        )
    assert_entry(fixture, "out", out)


# ---- flow_diffusion ------------------------------------------------------------------------
def _lfg_generator(fixture: dict, image_size: int) -> torch.nn.Module:
    """The LFG generator for the fixture's settings, filled by the rule for section lfg.generator."""
    generator = build_generator_for_fixture(fixture["config"], image_size)
    fill_module(generator, constructed_names(fixture, "lfg.generator"))
    return generator.eval()


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params("flow_diffusion"))
def test_flow_diffusion_sample_one_video(path):
    fixture = load_fixture(path)
    config = fixture["config"]
    inputs = inputs_of(fixture)
    image = inputs["sample_img"]
    image_size = int(config.get("image_size", image.shape[-1]))
    unet, diffusion = unet_config(config), diffusion_config(config)
    a2v = A2VConfig(image_size=image_size, unet=unet, diffusion=diffusion, bbox_axes="reference")
    model = FlowDiffusion(a2v, generator=_lfg_generator(fixture, image_size))
    model.diffusion = filled_diffusion(fixture, unet, diffusion)
    fill_module(model.face_loc_emb, constructed_names(fixture, "a2v.face_loc"))
    model.eval()
    if "ddim_time_pairs" in config:
        pairs = ddim_time_pairs(diffusion.timesteps, diffusion.sampling_timesteps)
        assert [list(p) for p in pairs] == [list(p) for p in config["ddim_time_pairs"]]

    steps: list = []
    noise = NoiseSource.replay([fixture["noise"][k].float() for k in sorted(fixture["noise"])])
    bbox = inputs["sample_bbox"].clone()
    result = model.sample_video(
        image,
        inputs["sample_audio_hubert"],
        inputs["sample_pose"],
        inputs["sample_eye"],
        bbox,
        inputs.get("init_pose"),
        inputs.get("init_eye"),
        cond_scale=float(inputs.get("cond_scale", 1.0)),
        noise=noise,
        on_step=steps.append,
    )
    assert noise.drawn == len(fixture["noise"]), "the sampler must use every recorded draw, in order"
    assert torch.equal(bbox, inputs["sample_bbox"])
    expected = fixture["expected"]
    if "ddim.x_t" in expected:
        assert_entry(fixture, "ddim.x_t", torch.stack([s.x_t for s in steps]))
    if "ddim.pred_noise" in expected:
        assert_entry(fixture, "ddim.pred_noise", torch.stack([s.pred_noise for s in steps]))
    assert_entry(fixture, "sample_vid_grid", result.flows.grid)
    assert_entry(fixture, "sample_vid_conf", result.flows.occlusion)
    assert_entry(fixture, "sample_out_vid", result.video)
    assert_entry(fixture, "sample_warped_vid", result.warped)
