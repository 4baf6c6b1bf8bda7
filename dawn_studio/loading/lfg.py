"""Reading and writing the published LFG weight files (``LFG_128_1000ep.pth`` / ``LFG_256_400ep.pth``).

A file is a dict with one state dict per network under ``"generator"``, ``"region_predictor"`` and
``"bg_predictor"`` (training files may hold more entries, e.g. optimiser state, which are ignored).
It is read with ``weights_only=True`` and every section is loaded strictly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..networks.lfg import LFG_128, Generator, LatentFlowGenerator, LFGConfig, config_from_model_params
from .checkpoint import checkpoint_section, load_strict, read_checkpoint, strip_prefix

GENERATOR_SECTION = "generator"
REGION_PREDICTOR_SECTION = "region_predictor"
BG_PREDICTOR_SECTION = "bg_predictor"
SECTIONS = (GENERATOR_SECTION, REGION_PREDICTOR_SECTION, BG_PREDICTOR_SECTION)


def _load_section(module: nn.Module, checkpoint: Mapping, section: str, path: str | os.PathLike[str]) -> None:
    # Weights saved from a DataParallel wrapper carry a "module." prefix on every key.
    state = strip_prefix(checkpoint_section(checkpoint, section, path=path), "module.")
    load_strict(module, state, path=path, section=section)


def load_lfg(path: str | os.PathLike[str], config: LFGConfig = LFG_128) -> LatentFlowGenerator:
    """The three networks with the weights of a published LFG file, in eval mode, on the CPU.

    Raises :class:`~dawn_studio.loading.checkpoint.CheckpointError` naming the file, the section
    and the key when the file is unreadable or does not match ``config``'s networks.
    """
    checkpoint = read_checkpoint(path)
    model = LatentFlowGenerator(config)
    for section in SECTIONS:
        _load_section(getattr(model, section), checkpoint, section, path)
    return model.eval()


def load_generator(path: str | os.PathLike[str], config: LFGConfig = LFG_128) -> Generator:
    """Only ``checkpoint["generator"]`` (all DAWN inference needs), in eval mode, on the CPU."""
    checkpoint = read_checkpoint(path)
    generator = Generator(config)
    _load_section(generator, checkpoint, GENERATOR_SECTION, path)
    return generator.eval()


def save_lfg_checkpoint(model: LatentFlowGenerator, path: str | os.PathLike[str]) -> None:
    """Write ``{"generator": …, "region_predictor": …, "bg_predictor": …}`` as the published files do."""
    content = {
        section: {k: v.detach().cpu() for k, v in getattr(model, section).state_dict().items()}
        for section in SECTIONS
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(content, path)


def config_for_reference(settings: Mapping[str, Any], image_size: int) -> LFGConfig:
    """The config of a reference run: its ``model_params`` when given, else the published settings."""
    if "model_params" in settings:
        return config_from_model_params(settings["model_params"], image_size)
    return LFG_128.with_image_size(int(image_size))


def build_generator_for_fixture(settings: Mapping[str, Any], image_size: int) -> Generator:
    """A randomly initialised generator for a reference run's settings (see :func:`config_for_reference`)."""
    return Generator(config_for_reference(settings, image_size))
