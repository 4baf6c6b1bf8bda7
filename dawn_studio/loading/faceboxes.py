"""Reading and writing FaceBoxes weight files in the published format (a plain state dict)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..networks.faceboxes import FaceBoxesConfig, FaceBoxesNet
from .checkpoint import CheckpointError, load_strict, read_checkpoint, strip_prefix

SECTION = "faceboxes"
_STEM_KEY = "conv1.conv.weight"


def load_faceboxes(path: str | os.PathLike[str]) -> FaceBoxesNet:
    """Build the detector the file was made for (width from its first layer) and load it strictly."""
    state = strip_prefix(read_checkpoint(path), "module.")
    stem = state.get(_STEM_KEY)
    if not isinstance(stem, torch.Tensor) or stem.ndim != 4:
        raise CheckpointError("Not a FaceBoxes weight file", path=path, section=SECTION, key=_STEM_KEY)
    net = FaceBoxesNet(FaceBoxesConfig(width=stem.shape[0] / 24))
    load_strict(net, state, path=path, section=SECTION)
    return net.eval()


def save_faceboxes(net: FaceBoxesNet, path: str | os.PathLike[str]) -> Path:
    """Write ``net`` exactly like ``FaceBoxesProd.pth``: ``torch.save`` of the bare state dict."""
    target = Path(path)
    torch.save({k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, target)
    return target
