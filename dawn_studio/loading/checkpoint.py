"""Safe, strict loading of published weight files, with errors a person can act on.

Weight files are untrusted input: they are read with ``torch.load(weights_only=True)``
only, and every mismatch with the module that should receive them is reported
with the file, the section and the key, instead of torch's generic messages.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn


class CheckpointError(ValueError):
    """A weight file cannot be used: missing, unreadable, or not matching the network."""

    def __init__(
        self, message: str, *, path: str | os.PathLike[str] | None = None,
        section: str | None = None, key: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.section = section
        self.key = key
        where = []
        if self.path is not None:
            where.append(f"file {self.path}")
        if section is not None:
            where.append(f"section '{section}'")
        if key is not None:
            where.append(f"key '{key}'")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


def read_checkpoint(path: str | os.PathLike[str]) -> dict:
    """Read a PyTorch weight file safely onto the CPU; a dict comes back or CheckpointError."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError("Model file not found", path=p)
    if not p.is_file():
        raise CheckpointError("Model path is not a file", path=p)
    if p.stat().st_size == 0:
        raise CheckpointError("Model file is empty (an interrupted download?)", path=p)
    obj = _safe_load(p, "cpu")
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"Unexpected checkpoint content: a {type(obj).__name__}, not a dictionary", path=p,
        )
    return obj


#: What the weights-only unpickler raises on damaged or foreign bytes (e.g. a text file).
_DAMAGED = (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, IndexError, KeyError, TypeError,
            AttributeError, struct.error, MemoryError, OverflowError, RecursionError)
_REFUSED_GLOBAL = re.compile(r"(Unsupported global: [^\n]+|unsupported GLOBAL [^\n]+?)(?: whose|\.?$|\n)",
                             re.MULTILINE)


def _safe_load(path: Path, map_location: str) -> object:
    """``torch.load(weights_only=True)`` with errors a person can act on. The refusal never repeats
    torch's advice to load with ``weights_only=False``: that would run the file's code."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _REFUSED_GLOBAL.search(str(exc))
        what = f"; it asks for {found.group(1).strip().rstrip('.')}" if found else ""
        raise CheckpointError(
            "Model file holds objects other than tensors and plain containers (code that would run "
            f"when loaded){what}; refusing to load it", path=path,
        ) from None
    except _DAMAGED as exc:
        raise CheckpointError(
            "Not a readable PyTorch checkpoint (wrong format or truncated file)", path=path,
        ) from exc


def check_checkpoint_structure(path: str | os.PathLike[str]) -> None:
    """Read a weight file's structure safely without its tensor data (tensors land on the 'meta'
    device): CheckpointError when it is damaged or holds anything but tensors and plain containers."""
    _safe_load(Path(path), "meta")


def checkpoint_section(
    checkpoint: Mapping, section: str, *, path: str | os.PathLike[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Return ``checkpoint[section]`` as a state dict, or explain which section is missing."""
    if section not in checkpoint:
        present = ", ".join(sorted(map(str, checkpoint.keys()))[:12]) or "nothing"
        raise CheckpointError(
            f"Checkpoint has no '{section}' section (it holds: {present})", path=path, section=section,
        )
    value = checkpoint[section]
    if not isinstance(value, Mapping):
        raise CheckpointError(
            f"Section is a {type(value).__name__}, not a state dict", path=path, section=section,
        )
    return dict(value)


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Remove ``prefix`` from every key that has it (e.g. ``module.`` of DataParallel saves)."""
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in state.items()}


def load_strict(
    module: nn.Module, state: Mapping[str, torch.Tensor], *,
    path: str | os.PathLike[str] | None = None, section: str | None = None,
) -> nn.Module:
    """Load ``state`` into ``module`` with strict key and shape checks and clear errors."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise CheckpointError(
            f"Weight missing from the checkpoint{more}", path=path, section=section, key=missing[0],
        )
    if unexpected:
        more = f" and {len(unexpected) - 1} more" if len(unexpected) > 1 else ""
        raise CheckpointError(
            f"Checkpoint has a weight this network does not have{more}",
            path=path, section=section, key=unexpected[0],
        )
    for key, target in own.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"Weight is a {type(value).__name__}, not a tensor", path=path, section=section, key=key,
            )
        if tuple(value.shape) != tuple(target.shape):
            raise CheckpointError(
                f"Weight has shape {tuple(value.shape)}, the network expects {tuple(target.shape)}",
                path=path, section=section, key=key,
            )
    module.load_state_dict(dict(state), strict=True)
    return module


def read_safetensors(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` weight file (tensors only by design) onto the CPU, or CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    if not p.is_file():
        raise CheckpointError("Model file not found", path=p)
    if p.stat().st_size == 0:
        raise CheckpointError("Model file is empty (an interrupted download?)", path=p)
    try:
        return load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError("Not a readable safetensors file (wrong format or truncated file)", path=p) from exc
