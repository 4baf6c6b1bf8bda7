"""LFG building blocks, networks and settings: the reference's conventions and every config switch."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from dawn_studio.loading.lfg import config_for_reference
from dawn_studio.networks.lfg import (
    LFG_128,
    LFG_256,
    PRESETS,
    TINY,
    BackgroundMotionPredictor,
    BackgroundPredictorConfig,
    FlowPredictorConfig,
    LatentFlowGenerator,
    LFGConfig,
    LFGConfigError,
    RegionParams,
    RegionPredictor,
    config_from_model_params,
)
from dawn_studio.networks.lfg.blocks import AntiAliasInterpolation2d
from dawn_studio.networks.lfg.flow_predictor import PixelwiseFlowPredictor
from dawn_studio.networks.lfg.geometry import coordinate_grid

# The released config/hdtf128.yaml (= hdtf256.yaml) model_params, as lfg.md lists them.
RELEASED_MODEL_PARAMS = {
    "num_regions": 10,
    "num_channels": 3,
    "estimate_affine": True,
    "revert_axis_swap": True,
    "bg_predictor_params": {
        "block_expansion": 32,
        "max_features": 1024,
        "num_blocks": 5,
        "bg_type": "affine",
    },
    "region_predictor_params": {
        "temperature": 0.1,
        "block_expansion": 32,
        "max_features": 1024,
        "scale_factor": 0.25,
        "num_blocks": 5,
        "pca_based": True,
        "fast_svd": False,
    },
    "generator_params": {
        "block_expansion": 64,
        "max_features": 512,
        "num_down_blocks": 2,
        "num_bottleneck_blocks": 6,
        "skips": True,
        "pixelwise_flow_predictor_params": {
            "block_expansion": 64,
            "max_features": 1024,
            "num_blocks": 5,
            "scale_factor": 0.25,
            "use_deformed_source": True,
            "use_covar_heatmap": True,
            "estimate_occlusion_map": True,
        },
    },
    "avd_network_params": {"id_bottle_size": 64, "pose_bottle_size": 64},
}


def _images(config: LFGConfig, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (batch, config.num_channels, config.image_size, config.image_size)
    return torch.rand(shape, generator=g), torch.rand(shape, generator=g)


# ---- settings ------------------------------------------------------------------------------
def test_released_model_params_are_the_presets():
    assert config_from_model_params(RELEASED_MODEL_PARAMS, 128) == LFG_128
    assert config_from_model_params(RELEASED_MODEL_PARAMS, 256) == LFG_256
    assert config_for_reference({"lfg_config": "config/hdtf256.yaml"}, 256) == LFG_256
    assert LFG_128.latent_size == 32 and LFG_256.latent_size == 64
    assert LFG_128.generator.feature_channels == 256
    assert set(PRESETS) == {"LFG_128", "LFG_256", "TINY"}


def test_tiny_features_fit_the_tiny_a2v_build():
    from dawn_studio.networks.a2v import TINY as A2V_TINY

    assert TINY.image_size == A2V_TINY.image_size
    assert TINY.generator.feature_channels == A2V_TINY.unet.feature_channels


def test_unknown_settings_are_named():
    params = {**RELEASED_MODEL_PARAMS, "bg_predictor_params": {"block_expansion": 32, "colour": "red"}}
    with pytest.raises(LFGConfigError, match="bg_predictor_params.*colour"):
        config_from_model_params(params, 128)


def test_regression_affine_head_is_refused():
    region = {**RELEASED_MODEL_PARAMS["region_predictor_params"], "pca_based": False}
    with pytest.raises(LFGConfigError, match="pca_based"):
        config_from_model_params({**RELEASED_MODEL_PARAMS, "region_predictor_params": region}, 128)


@pytest.mark.parametrize("image_size", [96, 130])
def test_image_sizes_the_hourglasses_cannot_take(image_size):
    with pytest.raises(LFGConfigError, match="is not a multiple of"):
        LFG_128.with_image_size(image_size)


def test_bad_values_are_named():
    with pytest.raises(LFGConfigError, match="bg_type"):
        BackgroundPredictorConfig(bg_type="sideways")
    with pytest.raises(LFGConfigError, match="scale_factor"):
        FlowPredictorConfig(scale_factor=0.3)


# ---- blocks and geometry -------------------------------------------------------------------
def test_anti_alias_kernel_and_decimation():
    down = AntiAliasInterpolation2d(3, 0.25)
    assert down.weight.shape == (3, 1, 13, 13)
    profile = down.weight[0, 0, 6]  # the middle row of the normalised 13×13 kernel
    expected = torch.tensor(
        [2.3730e-05, 2.7346e-04, 2.0206e-03, 9.5732e-03, 2.9081e-02, 5.6642e-02, 7.0737e-02]
    )
    torch.testing.assert_close(profile[:7], expected, rtol=1e-3, atol=0)
    torch.testing.assert_close(profile, profile.flip(0))
    torch.testing.assert_close(down.weight.sum(dim=(1, 2, 3)), torch.ones(3))
    out = down(torch.ones(1, 3, 32, 32))
    assert out.shape == (1, 3, 8, 8)
    # Zero padding and top-left aligned decimation: the first sample sits on the border, the rest inside.
    assert out[0, 0, 0, 0] < 0.5 < 0.9 < out[0, 0, -1, -1]
    torch.testing.assert_close(out[0, :, 2:7, 2:7], torch.ones(3, 5, 5))


def test_coordinate_grid_is_x_then_y_with_ends_at_one():
    grid = coordinate_grid(3, 5)
    assert grid.shape == (3, 5, 2)
    assert grid[0, 0].tolist() == [-1.0, -1.0] and grid[-1, -1].tolist() == [1.0, 1.0]
    assert grid[0, :, 0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert torch.all(grid[:, 2, 0] == 0)


# ---- networks ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny() -> LatentFlowGenerator:
    model = LatentFlowGenerator(TINY)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.is_floating_point() and not name.endswith("down.weight"):
                value.add_(0.05 * torch.randn_like(value))
    return model.eval()


def test_region_statistics(tiny):
    image, _ = _images(TINY)
    with torch.no_grad():
        regions = tiny.region_predictor(image)
    k, h = TINY.num_regions, TINY.image_size // 4
    assert regions.heatmap.shape == (2, k, h, h)
    torch.testing.assert_close(regions.heatmap.sum(dim=(2, 3)), torch.ones(2, k))
    assert regions.shift.abs().max() <= 1
    # The PCA affine is a square root of the covariance: A·Aᵀ = Σ.
    torch.testing.assert_close(
        regions.affine @ regions.affine.transpose(-1, -2), regions.covar, rtol=1e-4, atol=1e-6
    )
    assert regions.u.shape == regions.d.shape == (2 * k, 2, 2)


def test_background_starts_as_the_identity():
    predictor = BackgroundMotionPredictor(TINY).eval()
    source, driving = _images(TINY)
    with torch.no_grad():
        assert torch.equal(predictor(source, driving), torch.eye(3).expand(2, 3, 3))


@pytest.mark.parametrize(("bg_type", "outputs"), [("shift", 2), ("affine", 6), ("perspective", 8)])
def test_background_types(bg_type, outputs):
    config = replace(TINY, bg_predictor=replace(TINY.bg_predictor, bg_type=bg_type))
    predictor = BackgroundMotionPredictor(config).eval()
    assert predictor.fc.out_features == outputs
    with torch.no_grad():
        predictor.fc.bias.add_(torch.arange(outputs, dtype=torch.float32) + 1)
        out = predictor(*_images(config))
    assert out.shape == (2, 3, 3) and out[0, 2, 2] == 1
    if bg_type != "perspective":
        assert out[0, 2, :2].tolist() == [0.0, 0.0]


def test_zero_background_has_no_weights():
    config = replace(TINY, bg_predictor=replace(TINY.bg_predictor, bg_type="zero"))
    predictor = BackgroundMotionPredictor(config)
    assert not predictor.state_dict()
    assert torch.equal(predictor(*_images(config)), torch.eye(3).expand(2, 3, 3))


def test_unmoved_regions_give_identity_sparse_motions(tiny):
    image, _ = _images(TINY)
    with torch.no_grad():
        regions = tiny.region_predictor(image)
        motions = tiny.generator.pixelwise_flow_predictor.sparse_motions(
            regions, regions, torch.eye(3)[None], 16, 16
        )
    assert motions.shape == (2, TINY.num_regions + 1, 16, 16, 2)
    torch.testing.assert_close(motions, coordinate_grid(16, 16).expand_as(motions), rtol=0, atol=1e-5)


def test_revert_axis_swap_flips_the_whole_matrix():
    predictor = PixelwiseFlowPredictor(replace(TINY, num_regions=1))
    reflect = torch.tensor([[[[-1.0, 0.0], [0.0, 1.0]]]])
    source = RegionParams(
        torch.zeros(1, 1, 2), torch.eye(2)[None, None], torch.zeros(1, 1, 4, 4), affine=reflect
    )
    driving = replace(source, affine=torch.eye(2)[None, None])
    motions = predictor.sparse_motions(driving, source, None, 4, 4)
    # A_s·A_d⁻¹ = diag(−1, 1); its (0,0) sign is −1, so the applied matrix is diag(1, −1): y mirrored.
    grid = coordinate_grid(4, 4)
    torch.testing.assert_close(motions[0, 1], torch.stack([grid[..., 0], -grid[..., 1]], dim=-1))
    predictor.revert_axis_swap = False
    motions = predictor.sparse_motions(driving, source, None, 4, 4)
    torch.testing.assert_close(motions[0, 1], torch.stack([-grid[..., 0], grid[..., 1]], dim=-1))


def test_reconstruction_outputs(tiny):
    source, driving = _images(TINY)
    with torch.no_grad():
        result = tiny(source, driving)
    s, h = TINY.image_size, TINY.latent_size
    shapes = {k: tuple(v.shape) for k, v in result.generated.items()}
    assert shapes == {
        "bottle_neck_feat": (2, 32, h, h),
        "optical_flow": (2, h, h, 2),
        "occlusion_map": (2, 1, h, h),
        "deformed": (2, 3, s, s),
        "prediction": (2, 3, s, s),
    }
    assert torch.equal(result.generated["bottle_neck_feat"], tiny.generator.compute_fea(source))
    with torch.no_grad():
        again = tiny.generator.forward_with_flow(
            source, result.generated["optical_flow"], result.generated["occlusion_map"]
        )
    assert torch.equal(again["prediction"], result.prediction)


VARIANTS = {
    "no-deformed-source": lambda c: replace(
        c,
        generator=replace(
            c.generator, flow_predictor=replace(c.generator.flow_predictor, use_deformed_source=False)
        ),
    ),
    "isotropic-heatmaps": lambda c: replace(
        c,
        generator=replace(
            c.generator, flow_predictor=replace(c.generator.flow_predictor, use_covar_heatmap=False)
        ),
    ),
    "no-occlusion": lambda c: replace(
        c,
        generator=replace(
            c.generator, flow_predictor=replace(c.generator.flow_predictor, estimate_occlusion_map=False)
        ),
    ),
    "no-skips": lambda c: replace(c, generator=replace(c.generator, skips=False)),
    "no-affine": lambda c: replace(c, estimate_affine=False),
    "no-scaling": lambda c: replace(
        c,
        image_size=32,
        region_predictor=replace(c.region_predictor, scale_factor=1.0),
        generator=replace(c.generator, flow_predictor=replace(c.generator.flow_predictor, scale_factor=1.0)),
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_switches_build_and_run(variant):
    config = VARIANTS[variant](TINY)
    model = LatentFlowGenerator(config).eval()
    with torch.no_grad():
        result = model(*_images(config))
    assert result.prediction.shape == (2, 3, config.image_size, config.image_size)
    assert torch.isfinite(result.prediction).all()
    assert ("occlusion_map" in result.generated) == config.generator.flow_predictor.estimate_occlusion_map
    assert (result.source_regions.affine is None) == (not config.estimate_affine)
    if variant == "no-scaling":
        assert "down.weight" not in model.region_predictor.state_dict()


def test_mismatched_images_are_refused(tiny):
    source, _ = _images(TINY)
    with pytest.raises(ValueError, match="differ in shape"):
        tiny(source, source[:1])
    with pytest.raises(ValueError, match="portrait must be"):
        tiny.generator.compute_fea(source[:, :2])
    with pytest.raises(ValueError, match="multiples of 4"):
        tiny.generator.compute_fea(source[..., :30, :30])


def test_region_predictor_runs_on_its_own():
    predictor = RegionPredictor(TINY).eval()
    with torch.no_grad():
        regions = predictor(_images(TINY, batch=1)[0])
    assert regions.covar.shape == (1, TINY.num_regions, 2, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_reconstruction_matches_cpu(tiny):
    source, driving = _images(TINY)
    with torch.no_grad():
        on_cpu = tiny(source, driving).prediction
        gpu = LatentFlowGenerator(TINY)
        gpu.load_state_dict(tiny.state_dict())
        on_gpu = gpu.cuda().eval()(source.cuda(), driving.cuda()).prediction.cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)
