"""LFG weight files: manifest keys, published-format round trip, clear errors for damaged files."""

from __future__ import annotations

import pytest
import torch
from support.conformance import assert_matches_manifest

from dawn_studio.loading.checkpoint import CheckpointError
from dawn_studio.loading.lfg import SECTIONS, load_generator, load_lfg, save_lfg_checkpoint
from dawn_studio.networks.lfg import LFG_128, LFG_256, TINY, LatentFlowGenerator

MANIFEST = "manifest.lfg_a2v.json"


@pytest.fixture(scope="module")
def published() -> LatentFlowGenerator:
    return LatentFlowGenerator(LFG_128)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> tuple[LatentFlowGenerator, str]:
    model = LatentFlowGenerator(TINY)
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.add_(0.05 * torch.randn_like(value))
    path = tmp_path_factory.mktemp("lfg") / "LFG_tiny.pth"
    save_lfg_checkpoint(model, path)
    return model, str(path)


def test_state_dicts_match_the_manifest(published):
    for section in SECTIONS:
        assert_matches_manifest(getattr(published, section), MANIFEST, f"lfg.{section}")


def test_256_build_has_the_same_state_dicts(published):
    other = LatentFlowGenerator(LFG_256)
    for section in SECTIONS:
        mine, theirs = getattr(published, section).state_dict(), getattr(other, section).state_dict()
        assert {k: v.shape for k, v in mine.items()} == {k: v.shape for k, v in theirs.items()}


def test_published_parameter_counts(published):
    counts = {s: sum(p.numel() for p in getattr(published, s).parameters()) for s in SECTIONS}
    assert counts == {"generator": 45_575_391, "region_predictor": 14_146_728, "bg_predictor": 6_282_438}


def test_published_format_round_trip(published, tmp_path):
    path = tmp_path / "LFG_128_1000ep.pth"
    save_lfg_checkpoint(published, path)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert sorted(raw) == sorted(SECTIONS)
    loaded = load_lfg(path, LFG_128)
    assert not loaded.training
    for section in SECTIONS:
        expected = getattr(published, section).state_dict()
        actual = getattr(loaded, section).state_dict()
        assert all(torch.equal(actual[k], expected[k]) for k in expected), section


def test_tiny_round_trip_computes_the_same(tiny_file):
    model, path = tiny_file
    loaded = load_lfg(path, TINY)
    generator = load_generator(path, TINY)
    image = torch.rand(2, 3, TINY.image_size, TINY.image_size)
    driving = torch.rand_like(image)
    with torch.no_grad():
        expected = model.eval()(image, driving).prediction
        assert torch.equal(loaded(image, driving).prediction, expected)
        assert torch.equal(generator.compute_fea(image), model.generator.compute_fea(image))


def _write_variant(tmp_path, path: str, change) -> str:
    content = torch.load(path, map_location="cpu", weights_only=True)
    change(content)
    target = tmp_path / "variant.pth"
    torch.save(content, target)
    return str(target)


@pytest.mark.parametrize(
    ("change", "message", "section", "key"),
    [
        (lambda c: c["generator"].pop("first.conv.weight"), "missing", "generator", "first.conv.weight"),
        (
            lambda c: c["region_predictor"].__setitem__("regions.extra", torch.zeros(1)),
            "does not have",
            "region_predictor",
            "regions.extra",
        ),
        (
            lambda c: c["bg_predictor"].__setitem__("fc.weight", torch.zeros(6, 3)),
            "shape",
            "bg_predictor",
            "fc.weight",
        ),
        (lambda c: c.pop("bg_predictor"), "no 'bg_predictor' section", "bg_predictor", None),
        (lambda c: c.__setitem__("generator", [1, 2]), "not a state dict", "generator", None),
    ],
    ids=["missing-key", "extra-key", "wrong-shape", "missing-section", "section-not-a-dict"],
)
def test_mismatched_files_name_file_section_and_key(tiny_file, tmp_path, change, message, section, key):
    _, path = tiny_file
    variant = _write_variant(tmp_path, path, change)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_lfg(variant, TINY)
    assert caught.value.path == variant
    assert caught.value.section == section
    assert caught.value.key == key
    assert variant in str(caught.value)


def test_published_file_refuses_a_different_build(tiny_file):
    _, path = tiny_file
    with pytest.raises(CheckpointError, match="missing|shape") as caught:
        load_lfg(path, LFG_128)
    assert caught.value.section == "generator"


@pytest.mark.parametrize(
    "content",
    [b"these are not weights\n", b"hello world\n", b"PK\x03\x04 not a zip", bytes(range(256)) * 4],
    ids=["text", "short-text", "fake-zip", "binary"],
)
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "notes.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="Not a readable PyTorch checkpoint|refusing to load") as caught:
        load_lfg(path)
    assert caught.value.path == str(path)


def test_truncated_file(tiny_file, tmp_path):
    _, path = tiny_file
    data = open(path, "rb").read()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="wrong format or truncated"):
        load_lfg(cut, TINY)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_lfg(empty)
    with pytest.raises(CheckpointError, match="not found"):
        load_generator(tmp_path / "absent.pth")


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_arbitrary_objects_are_not_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"generator": _Payload()}, path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_lfg(path)


def test_non_dict_checkpoint(tmp_path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(CheckpointError, match="not a dictionary"):
        load_lfg(path)
