"""PBNet model files: ``opt.yaml`` plus ``checkpoint_*.pth.tar`` (a plain state dict) per model.

Published layout (the directory name's misspelling is the real one)::

    pbnet_seperate/pose/{opt.yaml, checkpoint_40000.pth.tar}
    pbnet_seperate/blink/{opt.yaml, checkpoint_95000.pth.tar}
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch
import yaml

from ..networks.pbnet import SIGNAL_DIMS, PBNet, SignalKind
from .checkpoint import CheckpointError, load_strict, read_checkpoint
from .pbnet_options import config_from_options, options_for_config, read_options

PBNET_DIR = "pbnet_seperate"
OPTIONS_FILE = "opt.yaml"
PUBLISHED_CHECKPOINTS: dict[str, str] = {
    "pose": "checkpoint_40000.pth.tar",
    "blink": "checkpoint_95000.pth.tar",
}


def model_dir(root: str | os.PathLike[str], kind: SignalKind) -> Path:
    """``<root>/pbnet_seperate/<kind>``: where the published files of one model live."""
    return Path(root) / PBNET_DIR / kind


def find_checkpoint(directory: str | os.PathLike[str], kind: SignalKind) -> Path:
    """The published checkpoint name if present, else the only ``checkpoint_*.pth.tar`` there."""
    folder = Path(directory)
    published = folder / PUBLISHED_CHECKPOINTS[kind]
    if published.is_file():
        return published
    found = sorted(folder.glob("checkpoint_*.pth.tar"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise CheckpointError(f"No PBNet {kind} checkpoint (checkpoint_*.pth.tar) in {folder}", path=folder)
    names = ", ".join(p.name for p in found)
    raise CheckpointError(f"Several PBNet {kind} checkpoints in {folder} ({names}); keep one", path=folder)


def _check_declared_sizes(state: dict, config_layers: int, path: Path, kind: str) -> None:
    """Say what is wrong for the likely mix-ups: pose and blink swapped, options of another model."""
    final = state.get("decoder.finallayer.weight")
    width = SIGNAL_DIMS[kind]
    if isinstance(final, torch.Tensor) and final.dim() == 2 and final.shape[0] != width:
        other = {v: k for k, v in SIGNAL_DIMS.items()}.get(final.shape[0], "unknown")
        raise CheckpointError(
            f"This checkpoint generates {final.shape[0]} values per frame ({other} model), "
            f"a {kind} model generates {width}; are the pose and blink files swapped?",
            path=path,
        )
    prefix = "decoder.seqTransDecoder.decoder_layers."
    indices = {int(k[len(prefix) :].split(".")[0]) for k in state if k.startswith(prefix)}
    if indices and len(indices) != config_layers:
        raise CheckpointError(
            f"PBNet {kind} checkpoint has {len(indices)} decoder layers but its opt.yaml says "
            f"num_layers = {config_layers}; the options file does not belong to these weights",
            path=path,
        )


def load_pbnet(
    directory: str | os.PathLike[str],
    kind: SignalKind,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    architecture: str | None = None,
    device: str | torch.device = "cpu",
) -> PBNet:
    """Build the model described by ``directory/opt.yaml`` and load its weights strictly, in eval mode.

    Raises :class:`PBNetOptionsError` for a bad/unsafe options file and :class:`CheckpointError`
    (naming file and key) for weights that do not match.
    """
    folder = Path(directory)
    options = read_options(folder / OPTIONS_FILE)
    config = config_from_options(options, kind, architecture=architecture)
    path = Path(checkpoint) if checkpoint is not None else find_checkpoint(folder, kind)
    state = read_checkpoint(path)
    _check_declared_sizes(state, config.num_layers, path, kind)
    model = PBNet(config)
    load_strict(model, state, path=path)
    return model.to(device).eval()


def save_pbnet(
    model: PBNet,
    directory: str | os.PathLike[str],
    kind: SignalKind,
    *,
    checkpoint_name: str | None = None,
) -> tuple[Path, Path]:
    """Write ``opt.yaml`` and the plain state-dict checkpoint in the published format; returns both paths."""
    if model.config.signal_dim != SIGNAL_DIMS[kind]:
        raise ValueError(
            f"A {kind} model must model {kind} signals, this one has width {model.config.signal_dim}"
        )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    options_path = folder / OPTIONS_FILE
    options_path.write_text(
        yaml.safe_dump(options_for_config(model.config), sort_keys=False), encoding="utf-8"
    )
    state = OrderedDict(
        (k, v.detach().to("cpu", copy=True).contiguous()) for k, v in model.state_dict().items()
    )
    checkpoint_path = folder / (checkpoint_name or PUBLISHED_CHECKPOINTS[kind])
    torch.save(state, checkpoint_path)
    return options_path, checkpoint_path


def load_pbnet_pair(
    root: str | os.PathLike[str], *, architecture: str | None = None, device: str | torch.device = "cpu",
) -> tuple[PBNet, PBNet]:
    """The pose and blink models from ``<root>/pbnet_seperate/{pose,blink}``, in that order."""
    return (
        load_pbnet(model_dir(root, "pose"), "pose", architecture=architecture, device=device),
        load_pbnet(model_dir(root, "blink"), "blink", architecture=architecture, device=device),
    )


def save_pbnet_pair(pose_model: PBNet, blink_model: PBNet, root: str | os.PathLike[str]) -> Path:
    """Write both models under ``<root>/pbnet_seperate`` exactly as published; returns that folder."""
    save_pbnet(pose_model, model_dir(root, "pose"), "pose")
    save_pbnet(blink_model, model_dir(root, "blink"), "blink")
    return Path(root) / PBNET_DIR
