"""Cheap format checks by file type, so that an HTML error page, a truncated zip or a text file saved
under a weight file's name is refused even when no checksum is published. Nothing is unpickled."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import yaml

_TORCH_SUFFIXES = (".pth", ".pth.tar", ".pt", ".bin", ".ckpt")
_HTML_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")
_MAX_TEXT = 16 << 20


class _AnyTagLoader(yaml.SafeLoader):
    """Safe YAML loading that reads any tag (``!!python/...`` in files dumped by PyYAML's full dumper)
    as the plain node under it: enough to check the structure, nothing is constructed or imported."""


def _plain_node(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_AnyTagLoader.add_multi_constructor("", _plain_node)


def format_problem(path: Path, name: str | None = None) -> str | None:
    """None if ``path`` looks like what a file called ``name`` (default: its own name) must be;
    otherwise a short reason ("an HTML page, not a model file")."""
    name = (name or path.name).lower()
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if not head:
        return "empty file"
    if head.lstrip().lower().startswith(_HTML_STARTS):
        return "an HTML page (probably an error page from the server), not a model file"
    if name.endswith(_TORCH_SUFFIXES):
        return _torch_problem(path, head)
    if name.endswith(".pkl"):
        return None if _is_pickle(head) else "not a Python pickle"
    if name.endswith((".yaml", ".yml")):
        return _text_problem(path, lambda text: yaml.load(text, Loader=_AnyTagLoader), "YAML")
    if name.endswith(".json"):
        return _text_problem(path, json.loads, "JSON")
    return None


def _is_pickle(head: bytes) -> bool:
    """Protocol 2+ starts with PROTO; protocols 0/1 start with a container or MARK opcode."""
    if len(head) >= 2 and head[0] == 0x80:
        return 2 <= head[1] <= 5
    return head[:1] in (b"(", b"}", b"]", b")")


def _torch_problem(path: Path, head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:  # reads only the central directory
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return "a damaged or truncated PyTorch archive"
        if any(n.endswith("data.pkl") for n in names):
            return None
        return "a zip file that is not a PyTorch checkpoint"
    if _is_pickle(head):
        return None  # legacy (pre-1.6) torch.save format
    return "not a PyTorch checkpoint"


def _text_problem(path: Path, parse, kind: str) -> str | None:
    if path.stat().st_size > _MAX_TEXT:
        return f"too large for a {kind} settings file"
    try:
        value = parse(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, yaml.YAMLError):
        return f"not valid {kind}"
    return None if isinstance(value, dict) else f"{kind} without the expected settings"


def structure_problem(path: Path, name: str | None = None) -> str | None:
    """None when the file's structure loads safely (weights-only for PyTorch files, numpy-only for
    pickles, plain values for option files); else why not. Run after :func:`format_problem`: only then
    is a file called verified, so a checkpoint carrying a pickle payload is never recorded as good."""
    from ..loading.checkpoint import CheckpointError, check_checkpoint_structure

    name = (name or path.name).lower()
    try:
        if name.endswith(_TORCH_SUFFIXES):
            check_checkpoint_structure(path)
        elif name.endswith(".pkl"):
            from ..stages.portrait.safe_pickle import UnsafePickleError, read_numpy_pickle

            try:
                read_numpy_pickle(path)
            except UnsafePickleError as exc:
                return f"not a plain numpy pickle ({exc})"
        elif name.endswith((".yaml", ".yml")):
            from ..loading.pbnet_options import PBNetOptionsError, parse_options

            try:
                parse_options(path.read_text(encoding="utf-8"), source=path.name)
            except PBNetOptionsError as exc:
                return str(exc)
    except CheckpointError as exc:
        return str(exc).split(" (file ")[0]
    except (OSError, UnicodeDecodeError, ValueError, MemoryError, RecursionError) as exc:
        return f"cannot be read safely ({type(exc).__name__})"
    return None
