"""A2V weight files: manifest keys, published-format round trip, clear errors for damaged files,
and the packaged face-location weights (SHA-256 of pipeline.md Appendix A)."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest
import torch
from support.conformance import assert_matches_manifest

from dawn_studio.loading import face_location as face_location_module
from dawn_studio.loading.a2v import (
    build_diffusion,
    build_flow_diffusion,
    load_diffusion_weights,
    save_diffusion_checkpoint,
)
from dawn_studio.loading.checkpoint import CheckpointError
from dawn_studio.loading.face_location import FACE_LOC_SHA256, load_face_location_weights, save_face_location_weights
from dawn_studio.networks.a2v import DAWN_128, DAWN_256, TINY, FaceLocationEncoder, FlowDiffusion, GaussianDiffusion

MANIFEST = "manifest.lfg_a2v.json"


@pytest.fixture(scope="module")
def published() -> GaussianDiffusion:
    return GaussianDiffusion(DAWN_128.unet, DAWN_128.diffusion)


def test_state_dict_matches_the_manifest(published):
    assert_matches_manifest(published, MANIFEST, "a2v.diffusion")
    assert_matches_manifest(FaceLocationEncoder(), MANIFEST, "a2v.face_loc")
    assert DAWN_256.unet == DAWN_128.unet  # one architecture, two image sizes


def test_parameter_counts_of_the_published_build(published):
    assert sum(p.numel() for p in published.denoise_fn.parameters()) == 49_857_555
    state = published.state_dict()
    assert len(state) == 912 and sum(v.numel() for v in state.values()) == 49_869_699


@pytest.fixture()
def tiny_file(tmp_path):
    torch.manual_seed(2)
    diffusion = GaussianDiffusion(TINY.unet, TINY.diffusion)
    path = tmp_path / "DAWN_tiny.pth"
    save_diffusion_checkpoint(diffusion, path)
    return diffusion, path


def test_published_format_round_trip(tiny_file):
    original, path = tiny_file
    raw = torch.load(path, weights_only=True)
    assert list(raw) == ["diffusion"]
    loaded = build_diffusion(path, TINY)
    for key, value in original.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_flow_diffusion_loads_a_published_format_file(tiny_file):
    original, path = tiny_file
    model = build_flow_diffusion(path, TINY)
    assert not model.training
    for key, value in original.state_dict().items():
        assert torch.equal(model.diffusion.state_dict()[key], value), key
    reference = load_face_location_weights(FaceLocationEncoder())
    assert torch.equal(model.face_loc_emb.conv2.weight, reference.conv2.weight)
    # the network itself reads no file: it starts at PyTorch's default init
    assert not torch.equal(FlowDiffusion(TINY).face_loc_emb.conv2.weight, reference.conv2.weight)


def _rewrite(path, change) -> None:
    checkpoint = torch.load(path, weights_only=True)
    change(checkpoint)
    torch.save(checkpoint, path)


@pytest.mark.parametrize(
    "damage, message, key",
    [
        (lambda c: c.pop("diffusion"), "no 'diffusion' section", None),
        (lambda c: c["diffusion"].pop("denoise_fn.init_conv.bias"), "missing", "denoise_fn.init_conv.bias"),
        (
            lambda c: c["diffusion"].__setitem__("denoise_fn.extra", torch.zeros(1)),
            "does not have",
            "denoise_fn.extra",
        ),
        (
            lambda c: c["diffusion"].__setitem__("denoise_fn.init_conv.bias", torch.zeros(3)),
            "shape",
            "denoise_fn.init_conv.bias",
        ),
        (lambda c: c.__setitem__("diffusion", [1, 2]), "not a state dict", None),
    ],
)
def test_damaged_checkpoints_fail_clearly(tiny_file, damage, message, key):
    _, path = tiny_file
    _rewrite(path, damage)
    with pytest.raises(CheckpointError, match=message) as info:
        load_diffusion_weights(GaussianDiffusion(TINY.unet, TINY.diffusion), path)
    assert str(path) in str(info.value)
    assert info.value.key == key


class _Foreign:
    """Stands for any object a weights-only load must refuse to rebuild."""


def test_truncated_and_foreign_files_fail_clearly(tiny_file, tmp_path):
    _, path = tiny_file
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        build_diffusion(path, TINY)
    foreign = tmp_path / "foreign.pth"
    torch.save({"diffusion": _Foreign()}, foreign)
    with pytest.raises(CheckpointError, match="refusing"):
        build_diffusion(foreign, TINY)


def test_published_architecture_rejects_a_tiny_file(tiny_file):
    _, path = tiny_file
    with pytest.raises(CheckpointError, match="missing") as info:
        load_diffusion_weights(GaussianDiffusion(DAWN_128.unet, DAWN_128.diffusion), path)
    assert info.value.section == "diffusion"


# ---- face-location weights ---------------------------------------------------------------
def test_packaged_face_location_weights_have_the_published_sha256():
    text = resources.files(face_location_module.__package__).joinpath("face_loc_seed1234.b64").read_text()
    import base64

    raw = base64.b64decode("".join(text.split()))
    assert len(raw) == 4992
    assert hashlib.sha256(raw).hexdigest() == FACE_LOC_SHA256
    encoder = load_face_location_weights(FaceLocationEncoder())
    # pipeline.md Appendix A and a2v_fdm.md §3.2 sanity values
    torch.testing.assert_close(
        encoder.conv1.weight[0, 0, 0, :3], torch.tensor([-0.1889, -0.1658, -0.1631]), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(
        encoder.conv2.bias[-3:], torch.tensor([0.0440, -0.0815, -0.1141]), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(encoder.conv1.bias[:3], torch.tensor([0.11377482, 0.33296368, -0.18156008]))


def test_face_location_weights_round_trip_and_damage(tmp_path):
    encoder = load_face_location_weights(FaceLocationEncoder())
    path = tmp_path / "face_loc.b64"
    save_face_location_weights(encoder, path)
    again = load_face_location_weights(FaceLocationEncoder(), path)
    for key, value in encoder.state_dict().items():
        assert torch.equal(again.state_dict()[key], value)
    packaged = resources.files(face_location_module.__package__).joinpath("face_loc_seed1234.b64").read_text()
    assert path.read_text() == packaged  # same file format as the shipped resource
    path.write_text(packaged[:-200])
    with pytest.raises(CheckpointError, match="base64|bytes"):
        load_face_location_weights(FaceLocationEncoder(), path)
    flipped = ("A" if packaged[0] != "A" else "B") + packaged[1:]
    with pytest.raises(CheckpointError, match="SHA-256"):
        face_location_module._decode(flipped, FaceLocationEncoder(), source="test", sha256=FACE_LOC_SHA256)
    with pytest.raises(CheckpointError, match="not found"):
        load_face_location_weights(FaceLocationEncoder(), tmp_path / "missing.b64")
