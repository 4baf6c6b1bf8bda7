"""GFPGANv1Clean and its weight file: batches, stored noise, strict safe loading, half precision."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import pytest
import torch
from support.conformance import fill_module, fixture_params, inputs_of, load_fixture

from dawn_studio.loading.checkpoint import CheckpointError
from dawn_studio.loading.enhancer import (
    enhancer_config,
    load_enhancer,
    load_folder_enhancer,
    save_enhancer_checkpoint,
)
from dawn_studio.loading.model_folder import ENHANCER_FILE
from dawn_studio.networks.gfpgan import TINY, GFPGANConfig, GFPGANConfigError, GFPGANv1Clean


@pytest.fixture(scope="module")
def tiny_net() -> GFPGANv1Clean:
    torch.manual_seed(3)
    return GFPGANv1Clean.from_config(TINY).eval()


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    """Two different smooth 512² inputs in [-1, 1]."""
    gen = torch.Generator().manual_seed(5)
    coarse = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=512, mode="bicubic", align_corners=False).clamp(-1, 1)


@pytest.fixture(scope="module")
def first_face_restored(tiny_net, faces) -> torch.Tensor:
    """The tiny network's output for the first face (computed once: 512² passes are not free on 2 cores)."""
    return _outputs(tiny_net, faces[:1])


@pytest.fixture
def tiny_file(tmp_path, tiny_net) -> Path:
    path = tmp_path / "GFPGANv1.4.pth"
    save_enhancer_checkpoint(tiny_net, path)
    return path


def _outputs(net: GFPGANv1Clean, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return net(x)


def test_a_batch_restores_each_face_as_if_alone(tiny_net, faces, first_face_restored):
    together = _outputs(tiny_net, faces)
    alone = torch.cat([first_face_restored, _outputs(tiny_net, faces[1:2])])
    assert together.shape == (2, 3, 512, 512)
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(together[0], together[1], atol=1e-2)  # the faces were different


def test_rgb_previews_come_one_per_level_and_the_stored_noise_repeats(tiny_net, faces, first_face_restored):
    with torch.inference_mode():
        image, previews = tiny_net.forward_with_rgb(faces[:1])
    assert [p.shape[-1] for p in previews] == [8, 16, 32, 64, 128, 256, 512]
    # Video frames must not flicker: no fresh noise per call, so a second run is bit-identical.
    assert torch.equal(image, first_face_restored)


@pytest.mark.parametrize("changes", [
    {"sft_half": False}, {"different_w": False}, {"input_is_latent": False}, {"out_size": 256},
])
def test_other_reference_settings_build_and_run(changes):
    settings = {"num_style_feat": 16, "num_mlp": 2, "narrow": 0.0625, **changes}
    net = GFPGANv1Clean(**settings).eval()
    size = net.config.out_size
    out = _outputs(net, torch.zeros(1, 3, size, size))
    assert out.shape == (1, 3, size, size) and torch.isfinite(out).all()


def test_wrong_input_and_settings_are_explained(tiny_net):
    with pytest.raises(ValueError, match=r"\(B, 3, 512, 512\)"):
        tiny_net(torch.zeros(1, 3, 256, 256))
    with pytest.raises(GFPGANConfigError, match="power of two"):
        GFPGANConfig(out_size=500)
    with pytest.raises(GFPGANConfigError, match="stored noise"):
        GFPGANConfig.from_reference({"out_size": 512, "randomize_noise": True})


# ---- the weight file ------------------------------------------------------------------
def test_published_layout_round_trip(tiny_file, faces, first_face_restored):
    raw = torch.load(tiny_file, map_location="cpu", weights_only=True)
    assert list(raw) == ["params_ema"] and "stylegan_decoder.noises.noise14" in raw["params_ema"]
    loaded = load_enhancer(tiny_file, TINY)
    assert not loaded.training
    assert torch.equal(_outputs(loaded, faces[:1]), first_face_restored)


@pytest.mark.parametrize("layout", ["plain", "params", "both"])
def test_other_layouts_of_the_weights_load(tmp_path, tiny_net, faces, first_face_restored, layout):
    state = tiny_net.state_dict()
    other = {k: torch.zeros_like(v) for k, v in state.items()}
    content = {"plain": state, "params": {"params": state}, "both": {"params_ema": state, "params": other}}[layout]
    path = tmp_path / "weights.pth"
    torch.save(content, path)
    # "both": the averaged weights (params_ema) win over the raw training weights.
    assert torch.equal(_outputs(load_enhancer(path, TINY), faces[:1]), first_face_restored)


def _save_modified(tmp_path: Path, tiny_net: GFPGANv1Clean, change) -> Path:
    state = dict(tiny_net.state_dict())
    change(state)
    path = tmp_path / "GFPGANv1.4.pth"
    torch.save({"params_ema": state}, path)
    return path


def test_a_missing_weight_is_named_with_the_file(tmp_path, tiny_net):
    path = _save_modified(tmp_path, tiny_net, lambda s: s.pop("final_linear.weight"))
    with pytest.raises(CheckpointError) as info:
        load_enhancer(path, TINY)
    text = str(info.value)
    assert "missing" in text and "final_linear.weight" in text and str(path) in text and "params_ema" in text


def test_an_extra_weight_is_named_with_the_file(tmp_path, tiny_net):
    path = _save_modified(tmp_path, tiny_net, lambda s: s.update({"stylegan_decoder.noises.noise15": torch.zeros(1)}))
    with pytest.raises(CheckpointError, match=r"does not have.*noise15") as info:
        load_enhancer(path, TINY)
    assert str(path) in str(info.value)


def test_weights_of_another_network_are_refused_with_what_differs(tiny_file):
    wider = GFPGANConfig(num_style_feat=TINY.num_style_feat, num_mlp=TINY.num_mlp, narrow=2 * TINY.narrow)
    with pytest.raises(CheckpointError, match=r"shape .* expects .*conv_body_first.weight.*GFPGAN v1.3 or v1.4"):
        load_enhancer(tiny_file, wider)
    with pytest.raises(CheckpointError, match=r"missing .*and \d+ more.*GFPGAN v1.3 or v1.4"):
        load_enhancer(tiny_file)  # the tiny file read as the published network (8 style-MLP layers, not 2)


def test_not_a_weight_file_is_explained(tmp_path, tiny_file):
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(tiny_file.read_bytes()[: tiny_file.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="Not a readable PyTorch checkpoint.*truncated.pth"):
        load_enhancer(truncated, TINY)
    other = tmp_path / "other.pth"
    torch.save({"epoch": 3, "state": {"x": 1}}, other)
    with pytest.raises(CheckpointError, match="Not a GFPGAN weight file.*epoch"):
        load_enhancer(other, TINY)
    with pytest.raises(CheckpointError, match="not found"):
        load_enhancer(tmp_path / "absent.pth", TINY)


class _Planted:
    """Unpickling this would create ``marker``: code in a weight file running at load time."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickled_object_is_refused_without_running_it(tmp_path, tiny_net):
    marker = tmp_path / "code-ran"
    path = tmp_path / "GFPGANv1.4.pth"
    torch.save({"params_ema": tiny_net.state_dict(), "extra": _Planted(marker)}, path, pickle_protocol=2)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refusing to load") as info:
        load_enhancer(path, TINY)
    assert not marker.exists() and "weights_only=False" not in str(info.value)
    with pytest.raises(pickle.UnpicklingError):  # the same bytes, read by torch directly, are refused too
        torch.load(path, weights_only=True)


def test_the_tiny_model_set_holds_a_loadable_enhancer(tiny_store, faces):
    assert (tiny_store / ENHANCER_FILE).is_file()
    assert enhancer_config(tiny_store) == TINY
    net = load_folder_enhancer(tiny_store)
    out = _outputs(net, faces[:1])
    assert out.shape == (1, 3, 512, 512) and torch.isfinite(out).all()


# ---- half precision ---------------------------------------------------------------------
def psnr_db(actual: torch.Tensor, reference: torch.Tensor, peak_to_peak: float) -> float:
    mse = (actual.float() - reference.float()).pow(2).mean().item()
    return 10 * math.log10(peak_to_peak**2 / mse)


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params("gfpgan_restore"))
def test_bfloat16_stays_close_to_float32(path, record_property):
    """bfloat16 (what a CPU can run fast) against the reference's float32 output of the same input.

    The filled weights make outputs far wider than [-1, 1], so PSNR is taken both over the raw
    output's own range and over the [-1, 1] image the pipeline keeps after clamping.
    """
    fixture = load_fixture(path)
    config = GFPGANConfig.from_reference(fixture["config"])
    with torch.device("meta"):
        net = GFPGANv1Clean.from_config(config)
    net = net.to_empty(device="cpu")
    fill_module(net)
    net = net.eval().to(torch.bfloat16)
    reference = fixture["expected"]["image"]
    with torch.inference_mode():
        restored = net(inputs_of(fixture)["x"].to(torch.bfloat16)).float()
    raw = psnr_db(restored, reference, (reference.max() - reference.min()).item())
    clamped = psnr_db(restored.clamp(-1, 1), reference.clamp(-1, 1), 2.0)
    record_property("bfloat16_psnr_db", {"raw": round(raw, 1), "clamped": round(clamped, 1)})
    print(f"bfloat16 vs float32 on {path.name}: {raw:.1f} dB (raw range), {clamped:.1f} dB (clamped)")
    assert raw > 40.0 and clamped > 40.0
