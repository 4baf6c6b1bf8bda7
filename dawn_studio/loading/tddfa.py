"""Reading and writing TDDFA MobileNet weight files in the published 3DDFA_V2 format.

The published files (``mb1_120x120.pth``, ``mb05_120x120.pth``) are ``{"epoch", "state_dict"}``
with DataParallel ``module.`` prefixes, the regression head named ``fc_param`` and an extra,
unused 136-d landmark head ``fc_lm``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..networks.tddfa import LandmarkHead, MobileNetTDDFA, TDDFAConfig
from .checkpoint import CheckpointError, checkpoint_section, load_strict, read_checkpoint, strip_prefix

_STEM_KEY = "conv1.weight"
_LANDMARK_HEAD = "fc_lm."


def _section_name(widen_factor: float) -> str:
    return {1.0: "tddfa.mb1", 0.5: "tddfa.mb05"}.get(widen_factor, f"tddfa.mobilenet_x{widen_factor:g}")


def load_tddfa_file(path: str | os.PathLike[str]) -> tuple[MobileNetTDDFA, LandmarkHead | None]:
    """The regressor (strictly loaded, width from its stem) and the landmark head when the file has one."""
    checkpoint = read_checkpoint(path)
    state = checkpoint
    if "state_dict" in checkpoint:
        state = checkpoint_section(checkpoint, "state_dict", path=path)
    state = strip_prefix(state, "module.")
    landmark_state = {k[len(_LANDMARK_HEAD):]: v for k, v in state.items() if k.startswith(_LANDMARK_HEAD)}
    state = {("fc." + k[len("fc_param."):] if k.startswith("fc_param.") else k): v for k, v in state.items()
             if not k.startswith(_LANDMARK_HEAD)}
    stem = state.get(_STEM_KEY)
    head = state.get("fc.weight")
    if not isinstance(stem, torch.Tensor) or stem.ndim != 4 or not isinstance(head, torch.Tensor):
        raise CheckpointError("Not a TDDFA MobileNet weight file", path=path, key=_STEM_KEY)
    config = TDDFAConfig(widen_factor=stem.shape[0] / 32, num_params=head.shape[0])
    section = _section_name(config.widen_factor)
    net = MobileNetTDDFA(config)
    load_strict(net, state, path=path, section=section)
    landmark_head = None
    if landmark_state:
        landmark_head = LandmarkHead(config)
        load_strict(landmark_head, landmark_state, path=path, section=f"{section}.fc_lm")
        landmark_head.eval()
    return net.eval(), landmark_head


def load_tddfa(path: str | os.PathLike[str]) -> MobileNetTDDFA:
    """Build the MobileNet the file was made for (widen factor from its stem) and load it strictly."""
    return load_tddfa_file(path)[0]


def save_tddfa(
    net: MobileNetTDDFA, path: str | os.PathLike[str], *, landmark_head: LandmarkHead | None = None,
    epoch: int = 0,
) -> Path:
    """Write ``net`` like the published files, with its ``fc_lm`` landmark head (a fresh one if not given)."""
    state: dict[str, torch.Tensor] = {}
    for key, value in net.state_dict().items():
        name = "fc_param." + key[len("fc."):] if key.startswith("fc.") else key
        state["module." + name] = value.detach().cpu().clone()
    head = landmark_head if landmark_head is not None else LandmarkHead(net.config)
    for key, value in head.state_dict().items():
        state[f"module.{_LANDMARK_HEAD}{key}"] = value.detach().cpu().clone()
    target = Path(path)
    torch.save({"epoch": epoch, "state_dict": state}, target)
    return target
