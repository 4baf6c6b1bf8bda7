"""What a model folder holds: its layout, and whether it is the published set or the tiny test set.

This is the one place that knows the folder's file names and reads its architecture marker: the
engine builds networks from it, the model store and the UI and CLI ask it whether a resolution can
generate. A folder with ``architecture.json`` saying ``{"preset": "tiny"}`` holds the reduced-width
networks of the tiny test set (written by :mod:`dawn_studio.engine.tiny_models`); any other folder
holds the published networks, whose files the model catalog describes and verifies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

#: Where each group's files live under the folder (the layout of models/catalog.json).
PORTRAIT_FOLDER = "3ddfa"
HUBERT_FOLDER = "hubert-large-ls960-ft"
DIFFUSION_FILES = {128: "DAWN_128.pth", 256: "DAWN_256.pth"}
LFG_FILES = {128: "LFG_128_1000ep.pth", 256: "LFG_256_400ep.pth"}
#: The optional face enhancer (GFPGAN v1.4; the tiny set holds a reduced-width file of the same layout).
ENHANCER_FILE = "gfpgan/GFPGANv1.4.pth"
#: Optional file in the folder's root that selects reduced-width architectures (the tiny test set).
ARCHITECTURE_FILE = "architecture.json"
ArchitecturePreset = Literal["published", "tiny"]


class ModelFolderError(ValueError):
    """The folder's architecture marker cannot be used; the message names the file."""


def architecture_preset(root: str | Path) -> ArchitecturePreset:
    """'tiny' when the folder declares the tiny test set, else 'published'."""
    marker = Path(root) / ARCHITECTURE_FILE
    if not marker.is_file():
        return "published"
    try:
        document = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ModelFolderError(f"{marker} is not readable JSON ({type(exc).__name__}); remove it to use "
                               "the published models") from None
    if not isinstance(document, dict):
        raise ModelFolderError(f"{marker} is not a JSON object naming an architecture preset; remove it to use "
                               "the published models")
    preset = document.get("preset")
    if preset != "tiny":
        raise ModelFolderError(f"{marker} names no known architecture preset ({str(preset)[:40]!r}; known: "
                               "'tiny'); remove it to use the published models")
    return "tiny"


def declare_tiny_set(root: str | Path) -> Path:
    """Mark ``root`` as holding the tiny test set."""
    marker = Path(root) / ARCHITECTURE_FILE
    marker.write_text(json.dumps({"preset": "tiny"}) + "\n", encoding="utf-8")
    return marker


def video_files(root: str | Path, resolution: int) -> tuple[Path, Path]:
    """The diffusion and LFG files of the video model of ``resolution``."""
    if resolution not in DIFFUSION_FILES:
        raise ModelFolderError(f"There is no DAWN model for {resolution}×{resolution}; choose 128 or 256")
    return Path(root) / DIFFUSION_FILES[resolution], Path(root) / LFG_FILES[resolution]


def enhancer_file(root: str | Path) -> Path:
    """Where the face enhancer's weight file lives in the folder."""
    return Path(root) / ENHANCER_FILE
