"""Loading the networks a job needs from the model store, once, and keeping them while they fit.

Each group (portrait analysis, speech encoder, PBNet pair, video model per resolution) is
keyed by what it depends on (device, dtype, resolution), so switching the resolution
reloads only the video model and switching the device reloads what moved.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..loading.a2v import build_flow_diffusion
from ..loading.checkpoint import CheckpointError
from ..loading.lfg import load_generator
from ..loading.model_folder import (
    HUBERT_FOLDER,
    PORTRAIT_FOLDER,
    ModelFolderError,
    architecture_preset,
    video_files,
)
from ..loading.pbnet import load_pbnet_pair
from ..networks import a2v, lfg
from ..networks.gfpgan import GFPGANv1Clean
from ..networks.pbnet import PBNet
from ..stages.audio import HubertEncoder, load_hubert
from ..stages.portrait import PortraitModels, load_portrait_models

log = logging.getLogger(__name__)



#: Numeric precision of the diffusion and rendering passes, by the job's ``precision`` setting.
PRECISION_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
#: What "auto" means per device kind. float32 everywhere: bfloat16 on a CPU was measured slower
#: and further from float32 (docs/performance.md); GPU half precision is not measured yet.
AUTO_PRECISION = {"cpu": "float32", "cuda": "float32", "mps": "float32"}
#: The face enhancer's compute precision per device kind: float16 autocast on GPUs (weights stay float32,
#: reductions such as the decoder's demodulation stay float32), float32 on CPUs (no fast half kernels).
ENHANCER_DTYPES = {"cpu": torch.float32, "cuda": torch.float16, "mps": torch.float16}


def resolve_precision(precision: str, device_kind: str) -> torch.dtype:
    """The dtype a job's ``precision`` ('auto', 'float32', 'bfloat16', 'float16') means on a device."""
    name = AUTO_PRECISION.get(device_kind, "float32") if precision == "auto" else precision
    if name not in PRECISION_DTYPES:
        choices = ", ".join(["auto", *PRECISION_DTYPES])
        raise ValueError(f"Precision must be one of {choices}, got {precision!r}")
    return PRECISION_DTYPES[name]


def precision_name(dtype: torch.dtype) -> str:
    return next(name for name, value in PRECISION_DTYPES.items() if value == dtype)


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Mixed precision for the networks' heavy ops (weights stay float32; normalisations and
    softmax stay float32 under autocast); a no-op for float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    if not torch.amp.is_autocast_available(device.type):
        raise ValueError(f"{precision_name(dtype)} is not available on {device.type}; choose float32")
    return torch.autocast(device.type, dtype=dtype)


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message names the file and what to do."""


@dataclass(frozen=True)
class VideoArchitecture:
    """Which network configurations the video model files of one resolution were built with."""

    a2v: a2v.A2VConfig
    lfg: lfg.LFGConfig


def published_architecture(resolution: int) -> VideoArchitecture:
    if resolution == 128:
        return VideoArchitecture(a2v.DAWN_128, lfg.LFG_128)
    if resolution == 256:
        return VideoArchitecture(a2v.DAWN_256, lfg.LFG_256)
    raise ModelLoadError(f"There is no DAWN model for {resolution}×{resolution}; choose 128 or 256")


def tiny_architecture(resolution: int) -> VideoArchitecture:
    """The reduced-width networks of the tiny test model set, at the real image size."""
    from dataclasses import replace

    return VideoArchitecture(
        replace(a2v.TINY, image_size=resolution),
        replace(lfg.TINY, image_size=resolution),
    )


def store_architecture(root: Path, resolution: int) -> VideoArchitecture:
    """Published configurations, unless the folder holds the tiny set (see ``loading.model_folder``)."""
    try:
        preset = architecture_preset(root)
    except ModelFolderError as exc:
        raise ModelLoadError(str(exc)) from exc
    return tiny_architecture(resolution) if preset == "tiny" else published_architecture(resolution)


class ModelCache:
    """Lazily loaded, reused models. Thread-safe; ``release()`` frees them (and GPU memory)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._items: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.RLock()
        self.loads: dict[str, int] = {}

    def _get(self, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._items:
                group = key[0]
                # Only one video model is kept: switching resolution replaces it.
                for other in [k for k in self._items if k[0] == group and k != key]:
                    del self._items[other]
                log.info("loading %s models (%s)", group, ", ".join(map(str, key[1:])))
                self._items[key] = load()
                self.loads[group] = self.loads.get(group, 0) + 1
            return self._items[key]

    def portrait(self, device: torch.device) -> PortraitModels:
        def load() -> PortraitModels:
            return load_portrait_models(self.root / PORTRAIT_FOLDER, device=device)
        return self._get(("portrait", str(device)), load)

    def speech(self, device: torch.device, dtype: torch.dtype) -> HubertEncoder:
        def load() -> HubertEncoder:
            return load_hubert(self.root / HUBERT_FOLDER, device=device, dtype=dtype)
        return self._get(("speech", str(device), str(dtype)), load)

    def motion(self, device: torch.device) -> tuple[PBNet, PBNet]:
        def load() -> tuple[PBNet, PBNet]:
            pose, blink = load_pbnet_pair(self.root)
            return pose.to(device), blink.to(device)
        return self._get(("motion", str(device)), load)

    def video(self, resolution: int, device: torch.device,
              face_loc_weights: str | Path | None = None) -> a2v.FlowDiffusion:
        """The video model; ``face_loc_weights`` names a face-location weight file to use instead of
        the shipped seed-1234 weights."""
        def load() -> a2v.FlowDiffusion:
            architecture = store_architecture(self.root, resolution)
            diffusion_file, lfg_file = video_files(self.root, resolution)
            generator = load_generator(lfg_file, architecture.lfg)
            model = build_flow_diffusion(
                diffusion_file, architecture.a2v, generator=generator,
                face_loc_weights=True if face_loc_weights is None else face_loc_weights,
            )
            return model.to(device).eval()
        source = None if face_loc_weights is None else str(face_loc_weights)
        return self._get(("video", resolution, str(device), source), load)

    def enhancer(self, device: torch.device, dtype: torch.dtype) -> GFPGANv1Clean:
        """The face enhancer (GFPGAN v1.4) in ``dtype``; ModelLoadError naming what to install when
        its weight file is not in the folder or is not usable."""
        def load() -> GFPGANv1Clean:
            from ..loading.enhancer import load_folder_enhancer
            from ..loading.model_folder import enhancer_file

            path = enhancer_file(self.root)
            if not path.is_file():
                raise ModelLoadError(f"Face enhancement needs the GFPGAN v1.4 weights ({path.name}), which are not "
                                     f"installed in {self.root}: get them with Models ▸ Manage Models… or "
                                     "`dawn-studio models`, or switch face enhancement off")
            try:
                net = load_folder_enhancer(self.root)
            except CheckpointError as exc:
                raise ModelLoadError(f"The face enhancer's weights cannot be used: {exc}") from exc
            return net.to(device=device, dtype=dtype).eval()
        return self._get(("enhancer", str(device), str(dtype)), load)

    def loaded(self) -> list[str]:
        """The groups in memory now ('portrait', 'speech', 'motion', 'video', 'enhancer')."""
        with self._lock:
            return sorted({key[0] for key in self._items})

    def release(self) -> None:
        """Forget every model and give cached GPU memory back to the driver."""
        with self._lock:
            self._items.clear()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        mps = getattr(torch, "mps", None)
        if mps is not None and torch.backends.mps.is_available():
            mps.empty_cache()
