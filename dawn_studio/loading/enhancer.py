"""Reading and writing the face enhancer's weight file (GFPGAN v1.4, ``GFPGANv1.4.pth``).

The published file is a dict whose ``params_ema`` entry is the state dict of GFPGANv1Clean (training
saves also carry ``params``, the non-averaged weights). A plain state dict and a file with only
``params`` are accepted too. The file is read with ``weights_only=True`` and loaded strictly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch

from ..networks.gfpgan import GFPGAN_V1_4, TINY, GFPGANConfig, GFPGANv1Clean
from .checkpoint import CheckpointError, checkpoint_section, load_strict, read_checkpoint, strip_prefix
from .model_folder import architecture_preset, enhancer_file

#: Sections holding the network's weights, in order of preference (exponential moving average first).
WEIGHT_SECTIONS = ("params_ema", "params")
NOT_THIS_NETWORK = ("Expected the weights of GFPGAN v1.3 or v1.4 (GFPGANv1Clean); GFPGAN v1 / v1.2 and other "
                    "restorers (CodeFormer, RestoreFormer) are different networks")


def enhancer_config(root: str | os.PathLike[str]) -> GFPGANConfig:
    """The architecture of the enhancer file in model folder ``root``: reduced width for the tiny set."""
    return TINY if architecture_preset(root) == "tiny" else GFPGAN_V1_4


def enhancer_state(checkpoint: Mapping, path: str | os.PathLike[str] | None = None) -> dict[str, torch.Tensor]:
    """The network's state dict inside a checkpoint: ``params_ema``, else ``params``, else the whole
    dict when it is one (every value a tensor)."""
    for section in WEIGHT_SECTIONS:
        if section in checkpoint:
            return strip_prefix(checkpoint_section(checkpoint, section, path=path), "module.")
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return strip_prefix(dict(checkpoint), "module.")
    present = ", ".join(sorted(map(str, checkpoint))[:12]) or "nothing"
    raise CheckpointError(
        f"Not a GFPGAN weight file: it has no 'params_ema' or 'params' section (it holds: {present})", path=path,
    )


def load_enhancer(path: str | os.PathLike[str], config: GFPGANConfig = GFPGAN_V1_4) -> GFPGANv1Clean:
    """GFPGANv1Clean with the weights of ``path``, in eval mode, on the CPU.

    Raises :class:`~dawn_studio.loading.checkpoint.CheckpointError` naming the file and the first
    missing, extra or misshapen key when the file is unreadable or is not this network's weights.
    """
    checkpoint = read_checkpoint(path)
    state = enhancer_state(checkpoint, path)
    section = next((s for s in WEIGHT_SECTIONS if s in checkpoint), None)
    # Built without random initialisation (the load overwrites all ~80 M values; it would take seconds).
    with torch.device("meta"):
        net = GFPGANv1Clean.from_config(config)
    net = net.to_empty(device="cpu")
    try:
        load_strict(net, state, path=path, section=section)
    except CheckpointError as exc:
        exc.args = (f"{exc.args[0]}. {NOT_THIS_NETWORK}",)
        raise
    return net.eval()


def load_folder_enhancer(root: str | os.PathLike[str]) -> GFPGANv1Clean:
    """The enhancer of model folder ``root`` (its architecture as the folder declares)."""
    return load_enhancer(enhancer_file(root), enhancer_config(root))


def save_enhancer_checkpoint(net: GFPGANv1Clean, path: str | os.PathLike[str]) -> None:
    """Write ``{"params_ema": state dict}``, the layout of the published file."""
    state = {k: v.detach().cpu().float() for k, v in net.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params_ema": state}, path)

