"""A tiny model set: every network of the pipeline with its real architecture at small widths and
random weights, written in the published file formats and layout into a model folder.

It lets the whole pipeline (loading code included) run end to end in seconds on a CPU, for tests
and for trying the app without the real weights. The videos it makes are meaningless noise-driven
motion. Face detection needs real weights to find faces, so the 3DDFA files are taken from a
folder of real ones (linked, or copied where links are not possible).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from ..loading.a2v import save_diffusion_checkpoint
from ..loading.enhancer import save_enhancer_checkpoint
from ..loading.lfg import save_lfg_checkpoint
from ..loading.model_folder import (
    DIFFUSION_FILES,
    ENHANCER_FILE,
    HUBERT_FOLDER,
    LFG_FILES,
    PORTRAIT_FOLDER,
    declare_tiny_set,
)
from ..loading.pbnet import save_pbnet_pair
from ..networks import a2v, gfpgan, lfg
from ..networks.pbnet import TINY_BLINK, TINY_POSE, PBNet
from ..stages.audio import TINY_HUBERT_CONFIG, build_hubert, save_hubert_folder
from .models import tiny_architecture

#: The 3DDFA files the portrait stage reads (either regressor width works).
PORTRAIT_FILES = ("FaceBoxesProd.pth", "param_mean_std_62d_120x120.pkl")
REGRESSOR_FILES = ("mb1_120x120.pth", "mb05_120x120.pth")


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(source.resolve(), target)
    except OSError:
        shutil.copy2(source, target)


def write_tiny_model_set(root: str | os.PathLike[str], face_models: str | os.PathLike[str], *,
                         resolutions: tuple[int, ...] = (128,), seed: int = 0) -> Path:
    """Fill ``root`` with a tiny model set for ``resolutions``; ``face_models`` holds real 3DDFA files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    source = Path(face_models)
    regressor = next((source / n for n in REGRESSOR_FILES if (source / n).is_file()), None)
    missing = [n for n in PORTRAIT_FILES if not (source / n).is_file()] + ([] if regressor else ["mb1/mb05"])
    if missing:
        raise FileNotFoundError(f"{source} lacks the 3DDFA file(s) {', '.join(missing)}")
    for name in PORTRAIT_FILES:
        _link_or_copy(source / name, root / PORTRAIT_FOLDER / name)
    _link_or_copy(regressor, root / PORTRAIT_FOLDER / regressor.name)

    torch.manual_seed(seed)
    hubert = build_hubert(TINY_HUBERT_CONFIG)
    save_hubert_folder(hubert, root / HUBERT_FOLDER)
    audio_dim = int(TINY_HUBERT_CONFIG["hidden_size"])
    save_pbnet_pair(PBNet(replace(TINY_POSE, audio_dim=audio_dim)).eval(),
                    PBNet(replace(TINY_BLINK, audio_dim=audio_dim)).eval(), root)
    for resolution in resolutions:
        architecture = tiny_architecture(resolution)
        if architecture.a2v.unet.audio_dim != audio_dim:
            raise ValueError("the tiny A2V and HuBERT widths disagree")
        save_lfg_checkpoint(lfg.LatentFlowGenerator(architecture.lfg).eval(), root / LFG_FILES[resolution])
        diffusion = a2v.GaussianDiffusion(architecture.a2v.unet, architecture.a2v.diffusion)
        save_diffusion_checkpoint(diffusion, root / DIFFUSION_FILES[resolution])
    # The face enhancer: reduced width, the published 512² input and file layout ("params_ema").
    save_enhancer_checkpoint(gfpgan.GFPGANv1Clean.from_config(gfpgan.TINY).eval(), root / ENHANCER_FILE)
    declare_tiny_set(root)
    return root
