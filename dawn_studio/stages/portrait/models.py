"""The 3DDFA_V2 model files the portrait analysis needs, found in a folder or given one by one.

Folder layout (the reference names): ``FaceBoxesProd.pth``, ``mb1_120x120.pth`` (or
``mb05_120x120.pth``), ``param_mean_std_62d_120x120.pkl`` and, optionally, ``bfm_noneck_v3.pkl``.
Without the BFM the eye ratios and face box are estimated (see ``landmarks.py``).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...loading.checkpoint import CheckpointError
from ...loading.faceboxes import load_faceboxes
from ...loading.tddfa import load_tddfa_file
from ...networks.faceboxes import FaceBoxesNet
from ...networks.tddfa import LandmarkHead, MobileNetTDDFA, MorphableModel
from .errors import PortraitModelError
from .safe_pickle import UnsafePickleError, read_numpy_pickle

DETECTOR_FILE = "FaceBoxesProd.pth"
REGRESSOR_FILES = ("mb1_120x120.pth", "mb05_120x120.pth")
PARAM_STATS_FILE = "param_mean_std_62d_120x120.pkl"
BFM_FILE = "bfm_noneck_v3.pkl"

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ParamStats:
    """Mean and standard deviation of the 62 parameters: ``param = output * std + mean``."""

    mean: torch.Tensor
    std: torch.Tensor

    def denormalise(self, raw: torch.Tensor) -> torch.Tensor:
        return raw * self.std.to(raw.device) + self.mean.to(raw.device)


@dataclass
class PortraitModels:
    """Detector, parameter regressor and its statistics; optionally the BFM and the 2-D landmark head.

    Landmarks come from the BFM when it is there (exact), else from the regressor file's 2-D
    landmark head (estimated), else they are not available (see ``analysis.py``).
    """

    detector: FaceBoxesNet
    regressor: MobileNetTDDFA
    stats: ParamStats
    morphable: MorphableModel | None = None
    landmark_head: LandmarkHead | None = None
    device: torch.device = torch.device("cpu")

    def to(self, device: str | torch.device) -> PortraitModels:
        self.device = torch.device(device)
        for module in (self.detector, self.regressor, self.landmark_head):
            if module is not None:
                module.to(self.device)
        return self


def _array(store: dict, key: str, path: Path) -> np.ndarray:
    value = store.get(key) if isinstance(store, dict) else None
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
        raise PortraitModelError(f"{path.name} has no numeric '{key}' array; it is not the expected 3DDFA file.")
    return value


def read_param_stats(path: PathLike) -> ParamStats:
    """``param_mean_std_62d_120x120.pkl``: ``{"mean": float32[62], "std": float32[62]}``."""
    p = Path(path)
    try:
        store = read_numpy_pickle(p)
    except UnsafePickleError as exc:
        raise PortraitModelError(f"Cannot use the parameter statistics file: {exc}") from exc
    mean, std = (
        torch.from_numpy(_array(store, key, p).astype(np.float32).reshape(-1)) for key in ("mean", "std")
    )
    if mean.shape != std.shape:
        raise PortraitModelError(f"{p.name}: 'mean' and 'std' differ in length")
    return ParamStats(mean=mean, std=std)


def save_param_stats(stats: ParamStats, path: PathLike) -> Path:
    """Write statistics like ``param_mean_std_62d_120x120.pkl`` (a pickle of two float32 arrays)."""
    target = Path(path)
    store = {name: getattr(stats, name).cpu().numpy().astype(np.float32) for name in ("mean", "std")}
    target.write_bytes(pickle.dumps(store, protocol=3))
    return target


def read_morphable_model(path: PathLike) -> MorphableModel:
    """``bfm_noneck_v3.pkl`` (arrays ``u``, ``w_shp``, ``w_exp``, ``keypoints``) -> the 68-landmark model."""
    p = Path(path)
    try:
        store = read_numpy_pickle(p)
    except UnsafePickleError as exc:
        raise PortraitModelError(f"Cannot use the face model (BFM) file: {exc}") from exc
    arrays = {k: torch.from_numpy(np.ascontiguousarray(_array(store, k, p))) for k in ("u", "w_shp", "w_exp")}
    keypoints = torch.from_numpy(_array(store, "keypoints", p).astype(np.int64))
    try:
        return MorphableModel.from_bfm_arrays(arrays["u"], arrays["w_shp"], arrays["w_exp"], keypoints)
    except ValueError as exc:
        raise PortraitModelError(f"{p.name}: {exc}") from exc


def load_portrait_models(
    folder: PathLike | None = None, *, detector: PathLike | None = None, regressor: PathLike | None = None,
    param_stats: PathLike | None = None, bfm: PathLike | None = None, device: str | torch.device = "cpu",
) -> PortraitModels:
    """Load the models from ``folder`` (reference file names) and/or explicit paths (which win).

    The regressor may be the MobileNet 1.0 or 0.5 file; its width is read from the weights.
    The BFM is optional: when neither given nor in the folder, landmark values are estimated.
    """
    base = Path(folder) if folder is not None else None
    if base is not None and not base.is_dir():
        raise PortraitModelError(f"The face-analysis model folder {base} does not exist.")

    def pick(
        explicit: PathLike | None, names: tuple[str, ...], what: str, required: bool = True,
    ) -> Path | None:
        if explicit is not None:
            return Path(explicit)
        for name in names:
            if base is not None and (base / name).is_file():
                return base / name
        if required:
            where = f" in {base}" if base is not None else ""
            raise PortraitModelError(f"The {what} ({' or '.join(names)}) was not found{where}.")
        return None

    detector_path = pick(detector, (DETECTOR_FILE,), "face detector")
    regressor_path = pick(regressor, REGRESSOR_FILES, "3D face regressor")
    stats_path = pick(param_stats, (PARAM_STATS_FILE,), "parameter statistics file")
    bfm_path = pick(bfm, (BFM_FILE,), "face model", required=False)
    try:
        regressor_net, landmark_head = load_tddfa_file(regressor_path)
        models = PortraitModels(
            detector=load_faceboxes(detector_path),
            regressor=regressor_net,
            stats=read_param_stats(stats_path),
            morphable=read_morphable_model(bfm_path) if bfm_path is not None else None,
            landmark_head=landmark_head,
        )
    except CheckpointError as exc:
        raise PortraitModelError(f"A face-analysis model file cannot be used: {exc}") from exc
    if models.stats.mean.numel() != models.regressor.config.num_params:
        raise PortraitModelError(
            f"{stats_path.name} holds {models.stats.mean.numel()} values but the regressor predicts "
            f"{models.regressor.config.num_params}."
        )
    return models.to(device)
