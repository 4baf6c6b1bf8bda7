"""Reading and writing the published A2V weight file format (``DAWN_128.pth`` / ``DAWN_256.pth``).

The file is a dict whose ``"diffusion"`` entry is the state dict of :class:`GaussianDiffusion`
(12 schedule buffers + ``denoise_fn.*``). It is read with ``weights_only=True`` and loaded strictly.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..networks.a2v import DAWN_128, A2VConfig, FlowDiffusion, GaussianDiffusion
from ..networks.lfg import Generator
from .checkpoint import checkpoint_section, load_strict, read_checkpoint
from .face_location import load_face_location_weights

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
    model = FlowDiffusion(config, generator=generator)
    if face_loc_weights is not False:
        load_face_location_weights(model.face_loc_emb, None if face_loc_weights is True else face_loc_weights)
    load_diffusion_weights(model.diffusion, path)
    return model.eval()


def save_diffusion_checkpoint(diffusion: GaussianDiffusion, path: str | os.PathLike[str]) -> None:
    """Write ``{"diffusion": state_dict}`` exactly as the published files hold it (CPU tensors)."""
    state = {k: v.detach().cpu() for k, v in diffusion.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save({DIFFUSION_SECTION: state}, path)
