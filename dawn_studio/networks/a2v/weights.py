"""Reading and writing the published A2V weight file format (``DAWN_128.pth`` / ``DAWN_256.pth``).

The file is a dict whose ``"diffusion"`` entry is the state dict of :class:`GaussianDiffusion`
(12 schedule buffers + ``denoise_fn.*``). It is read with ``weights_only=True`` and loaded strictly.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..checkpoint import checkpoint_section, load_strict, read_checkpoint
from ..lfg import Generator
from .config import DAWN_128, A2VConfig
from .diffusion import GaussianDiffusion
from .flow_diffusion import FlowDiffusion

DIFFUSION_SECTION = "diffusion"


def load_diffusion_weights(diffusion: GaussianDiffusion, path: str | os.PathLike[str]) -> GaussianDiffusion:
    """Strictly load ``checkpoint["diffusion"]`` of a published file; CheckpointError if unusable."""
    checkpoint = read_checkpoint(path)
    state = checkpoint_section(checkpoint, DIFFUSION_SECTION, path=path)
    return load_strict(diffusion, state, path=path, section=DIFFUSION_SECTION)


def build_diffusion(path: str | os.PathLike[str], config: A2VConfig = DAWN_128) -> GaussianDiffusion:
    """A :class:`GaussianDiffusion` of ``config`` with the weights of ``path``, in eval mode, on the CPU."""
    diffusion = GaussianDiffusion(config.unet, config.diffusion)
    return load_diffusion_weights(diffusion, path).eval()


def build_flow_diffusion(
    path: str | os.PathLike[str],
    config: A2VConfig = DAWN_128,
    generator: Generator | None = None,
    face_loc_weights: str | os.PathLike[str] | bool = True,
) -> FlowDiffusion:
    """A :class:`FlowDiffusion` with ``checkpoint["diffusion"]`` of ``path`` and the face-location
    weights (the packaged seed-1234 values unless told otherwise), in eval mode, on the CPU."""
    model = FlowDiffusion(config, generator=generator, face_loc_weights=face_loc_weights)
    load_diffusion_weights(model.diffusion, path)
    return model.eval()


def save_diffusion_checkpoint(diffusion: GaussianDiffusion, path: str | os.PathLike[str]) -> None:
    """Write ``{"diffusion": state_dict}`` exactly as the published files hold it (CPU tensors)."""
    state = {k: v.detach().cpu() for k, v in diffusion.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save({DIFFUSION_SECTION: state}, path)
