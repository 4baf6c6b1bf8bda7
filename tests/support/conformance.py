"""Conformance fixtures of the reference implementation: discovery, weight fill, comparison.

Fixtures are found by iterating the conformance directory and dispatching on their
``kind``, so new fixture files of a known kind are picked up without code changes.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.torch_version import TorchVersion

from .paths import conformance_dir

# Fixtures record the torch version that wrote them; it is a harmless str subclass.
torch.serialization.add_safe_globals([TorchVersion])

_KIND_CACHE: dict[Path, str] = {}


def _kind_of(path: Path) -> str:
    if path not in _KIND_CACHE:
        _KIND_CACHE[path] = str(load_fixture(path).get("kind", ""))
    return _KIND_CACHE[path]


def fixture_params(kind: str) -> list[Any]:
    """``pytest.param`` per fixture file of ``kind``; one skipping param when there are none."""
    root = conformance_dir()
    if not root.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no conformance directory at {root}"))]
    params = [
        pytest.param(path, id=path.stem)
        for path in sorted(root.glob("*.pt"))
        if _kind_of(path) == kind
    ]
    if not params:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no '{kind}' fixtures in {root}"))]
    return params


def load_fixture(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def as_float32(value: Any) -> Any:
    """Fixtures store large inputs as float16; every floating input is used as float32."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.float()
    return value


def inputs_of(fixture: Mapping) -> dict[str, Any]:
    return {k: as_float32(v) for k, v in fixture["inputs"].items()}


# ---- the weight-fill rule (described in the conformance README) --------------------
_UNIT_1D = {"weight", "g", "gamma", "scale"}


def fill_value(name: str, shape: Iterable[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Deterministic value of one state-dict entry under the fixtures' fill rule."""
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    shape = tuple(shape)
    last = name.rsplit(".", 1)[-1]
    if name.endswith("running_var"):
        value = 1 + 0.1 * torch.rand(shape, generator=gen)
    elif name.endswith("running_mean"):
        value = 0.1 * torch.randn(shape, generator=gen)
    elif len(shape) >= 2:
        value = torch.randn(shape, generator=gen) / math.sqrt(math.prod(shape) // shape[0])
    elif len(shape) == 1 and (last in _UNIT_1D or last.endswith("_scale")):
        value = 1 + 0.1 * torch.randn(shape, generator=gen)
    else:
        value = 0.1 * torch.randn(shape, generator=gen)
    return value.to(dtype)


@torch.no_grad()
def fill_module(module: nn.Module, constructed: Iterable[str] = ()) -> list[str]:
    """Apply the fill rule in place to every floating entry not in ``constructed``."""
    skip = set(constructed)
    filled = []
    for name, tensor in module.state_dict(keep_vars=True).items():
        if name in skip or not tensor.is_floating_point():
            continue
        tensor.data.copy_(fill_value(name, tensor.shape, tensor.dtype))
        filled.append(name)
    return filled


def constructed_names(fixture: Mapping, section: str) -> list[str]:
    return list(fixture.get("constructed", {}).get(section, []))


# ---- comparison --------------------------------------------------------------------
def tolerance_for(fixture: Mapping, entry: str) -> dict[str, float]:
    per_entry = fixture.get("tolerance_per_entry", {}) or {}
    tol = per_entry.get(entry, fixture["tolerance"])
    return {"rtol": float(tol["rtol"]), "atol": float(tol["atol"])}


def assert_entry(fixture: Mapping, entry: str, actual: Any) -> None:
    """Compare one expected entry with the fixture's tolerance (per-entry override honoured)."""
    expected = fixture["expected"][entry]
    if isinstance(expected, torch.Tensor):
        actual_t = torch.as_tensor(actual)
        if expected.is_floating_point():
            actual_t = actual_t.to(expected.dtype)
        torch.testing.assert_close(
            actual_t.cpu(), expected, **tolerance_for(fixture, entry), msg=lambda m: f"{entry}: {m}",
        )
    else:
        assert actual == expected, f"{entry}: {actual!r} != {expected!r}"


def manifest(name: str) -> dict:
    """A key manifest (``manifest.lfg_a2v.json`` / ``manifest.pbnet_face.json``), or skip."""
    import json

    path = conformance_dir() / name
    if not path.exists():
        pytest.skip(f"manifest not available: {path}")
    return json.loads(path.read_text())


def assert_matches_manifest(module: nn.Module, manifest_name: str, section: str) -> None:
    """The module's state-dict keys, shapes and dtypes equal the manifest section exactly."""
    entries = manifest(manifest_name)["sections"][section]
    state = module.state_dict()
    assert sorted(state) == sorted(entries), (
        f"{section}: missing {sorted(set(entries) - set(state))[:5]}, "
        f"extra {sorted(set(state) - set(entries))[:5]}"
    )
    for key, meta in entries.items():
        assert list(state[key].shape) == list(meta["shape"]), f"{section}.{key} shape"
        assert str(state[key].dtype).removeprefix("torch.") == meta["dtype"], f"{section}.{key} dtype"
