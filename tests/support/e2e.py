"""End-to-end fixtures (kind ``e2e_pipeline``): the model store they describe, their inputs as files,
their recorded draws, and their comparison rule (``../shared/conformance/index.e2e.json``).

Everything is read from the fixture and the manifests (resolution, DDIM steps, widths, weights), so
fixtures of other portraits, sizes or audio run unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch
from PIL import Image
from torch import nn
from transformers import Wav2Vec2FeatureExtractor

from dawn_studio.loading.a2v import save_diffusion_checkpoint
from dawn_studio.loading.lfg import SECTIONS, save_lfg_checkpoint
from dawn_studio.loading.model_folder import DIFFUSION_FILES, HUBERT_FOLDER, LFG_FILES, PORTRAIT_FOLDER
from dawn_studio.loading.pbnet import save_pbnet_pair
from dawn_studio.loading.pbnet_options import config_from_options
from dawn_studio.networks import a2v, lfg
from dawn_studio.networks.pbnet import PBNet
from dawn_studio.stages.audio import build_hubert, save_hubert_folder

from .conformance import fill_module
from .paths import conformance_dir, shared_path

#: The real 3DDFA files the store links (the fixture's BFM replaces the one that is not available).
REAL_3DDFA_FILES = ("FaceBoxesProd.pth", "mb05_120x120.pth", "param_mean_std_62d_120x120.pkl")
BFM_FILE = "bfm_noneck_v3.pkl"
FACE_LOC_FILE = "face_loc_fill_rule.pth"
LFG_MANIFEST = "manifest.lfg_a2v.json"
PBNET_MANIFEST = "manifest.pbnet_face.json"
#: The manifest's PBNet options that the reference script sets itself (not part of opt.yaml).
SCRIPT_SET_OPTIONS = ("device",)


def _manifest(name: str) -> dict:
    return json.loads((conformance_dir() / name).read_text(encoding="utf-8"))


def _constructed(manifest: Mapping, section: str) -> list[str]:
    return list(manifest.get("constructed", {}).get(section, []))


def state_digest(module: nn.Module, order: Iterable[str] | None = None) -> str:
    """SHA-256 over the state dict (key as UTF-8, then the tensor's little-endian bytes), as the
    fixtures' ``state_digests`` are computed; ``order`` is the manifest's key order."""
    state = module.state_dict()
    digest = hashlib.sha256()
    for key in (order if order is not None else state):
        array = state[key].detach().cpu().numpy()
        digest.update(key.encode("utf-8"))
        digest.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class E2EStore:
    """A model folder built by the fill rule, and what was checked while building it."""

    root: Path
    face_loc_weights: Path
    digests: dict[str, str]  # section -> SHA-256 of the tensors written


def _real_3ddfa_folder() -> Path:
    """``models/3ddfa`` beside the conformance directory in use, else the one of ``../shared``."""
    beside = conformance_dir().parent / "models" / "3ddfa"
    return beside if all((beside / name).is_file() for name in REAL_3DDFA_FILES) else shared_path("models", "3ddfa")


def build_store(fixture: Mapping, root: Path) -> E2EStore:
    """Write the model store of ``common.model_store`` for ``fixture`` into ``root``."""
    config = fixture["config"]
    size = int(config["resolution"])
    lfg_manifest, pbnet_manifest = _manifest(LFG_MANIFEST), _manifest(PBNET_MANIFEST)
    digests: dict[str, str] = {}

    faces = root / PORTRAIT_FOLDER
    faces.mkdir(parents=True, exist_ok=True)
    real = _real_3ddfa_folder()
    for name in REAL_3DDFA_FILES:
        target = faces / name
        try:
            os.symlink(real / name, target)
        except OSError:
            shutil.copy2(real / name, target)
    bfm = {key: value.numpy() for key, value in fixture["weights"]["bfm"].items()}
    (faces / BFM_FILE).write_bytes(pickle.dumps(bfm, protocol=2))

    with torch.no_grad():
        model = lfg.LatentFlowGenerator(lfg.LFG_128 if size == 128 else lfg.LFG_256).eval()
        for section in SECTIONS:
            module = getattr(model, section)
            fill_module(module, _constructed(lfg_manifest, f"lfg.{section}"))
            digests[f"lfg.{section}"] = state_digest(module, lfg_manifest["sections"][f"lfg.{section}"])
        save_lfg_checkpoint(model, root / LFG_FILES[size])
        del model

        architecture = a2v.DAWN_128 if size == 128 else a2v.DAWN_256
        diffusion = a2v.GaussianDiffusion(architecture.unet, architecture.diffusion)
        fill_module(diffusion, _constructed(lfg_manifest, "a2v.diffusion"))
        digests["a2v.diffusion"] = state_digest(diffusion, lfg_manifest["sections"]["a2v.diffusion"])
        save_diffusion_checkpoint(diffusion, root / DIFFUSION_FILES[size])
        del diffusion

        pbnets = []
        for kind in ("pose", "blink"):
            options = {k: v for k, v in pbnet_manifest["pbnet_options"][kind].items() if k not in SCRIPT_SET_OPTIONS}
            net = PBNet(config_from_options(options, kind)).eval()
            fill_module(net, _constructed(pbnet_manifest, f"pbnet.{kind}"))
            digests[f"pbnet.{kind}"] = state_digest(net, pbnet_manifest["sections"][f"pbnet.{kind}"])
            pbnets.append(net)
        save_pbnet_pair(pbnets[0], pbnets[1], root)

        hubert = build_hubert(config["hubert_config_ctor"])
        fill_module(hubert)
        digests["hubert"] = state_digest(hubert)
        save_hubert_folder(hubert, root / HUBERT_FOLDER,
                           feature_extractor=Wav2Vec2FeatureExtractor(**config["feature_extractor"]))

    face_loc = root / FACE_LOC_FILE
    torch.save({k: v.clone() for k, v in fixture["weights"]["face_loc"].items()}, face_loc)
    return E2EStore(root, face_loc, digests)


def write_inputs(fixture: Mapping, folder: Path) -> tuple[Path, Path]:
    """The portrait as a lossless PNG and the speech as a 16-bit PCM WAV, as the reference read them."""
    inputs = fixture["inputs"]
    folder.mkdir(parents=True, exist_ok=True)
    portrait = folder / "portrait.png"
    Image.fromarray(inputs["portrait_rgb"].numpy()).save(portrait)
    audio = folder / "speech.wav"
    rate = int(inputs["sample_rate"])
    soundfile.write(audio, inputs["waveform_int16"].numpy(), rate, subtype="PCM_16")
    return portrait, audio


def recorded_draws(fixture: Mapping) -> list[torch.Tensor]:
    """The noise entries in draw order (their names sort in the order the reference drew them)."""
    return [fixture["noise"][name] for name in sorted(fixture["noise"])]




# ---- the comparison rule (index.e2e.json kinds.e2e_pipeline.compare) ------------------------
#: Float frames are reported for every frame; a fixture may hold every k-th one only.
FRAME_SUBSET_ENTRY = "a2v.sample_out_vid"
FRAME_INDEX_ENTRY = "a2v.sample_out_vid_frames"
UINT8_MAX_LSB = 1
UINT8_MAX_SHARE = 0.001


def as_tensor(value: Any) -> torch.Tensor:
    """An observed hand-over as a CPU tensor (NumPy arrays and tensors alike), detached and copied."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    return torch.from_numpy(np.array(value))


def _exact_entries(fixture: Mapping) -> set[str]:
    return set(fixture.get("compare", {}).get("exact", []))


def _rtol(fixture: Mapping, name: str) -> float:
    per_entry = fixture.get("tolerance_per_entry", {}) or {}
    return float(per_entry.get(name, fixture["tolerance"])["rtol"])


def compare_entry(fixture: Mapping, name: str, actual: torch.Tensor) -> str | None:
    """Why ``actual`` does not match the fixture's entry ``name``, or None when it does."""
    expected = fixture["expected"][name]
    if tuple(actual.shape) != tuple(expected.shape):
        return f"{name}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
    integer = not expected.is_floating_point() and expected.dtype != torch.uint8
    if name in _exact_entries(fixture) or integer:
        if not torch.equal(actual.to(expected.dtype), expected):
            differ = int((actual.to(expected.dtype) != expected).sum())
            return f"{name}: must be exact, {differ} of {expected.numel()} values differ"
        return None
    if expected.dtype == torch.uint8:
        diff = (actual.to(torch.int16) - expected.to(torch.int16)).abs()
        share = float((diff > 0).float().mean())
        if int(diff.max()) > UINT8_MAX_LSB or share > UINT8_MAX_SHARE:
            return (f"{name}: uint8 values differ by up to {int(diff.max())} (allowed {UINT8_MAX_LSB}) on "
                    f"{share:.4%} of them (allowed {UINT8_MAX_SHARE:.1%})")
        return None
    expected64, actual64 = expected.double(), actual.double()
    if not torch.isfinite(actual64).all():
        return f"{name}: has non-finite values"
    error = float((actual64 - expected64).abs().max()) if expected.numel() else 0.0
    bound = _rtol(fixture, name) * max(1.0, float(expected64.abs().max()) if expected.numel() else 0.0)
    if error > bound:
        return f"{name}: max |actual - expected| = {error:.3g} > {bound:.3g}"
    return None


def compare_run(fixture: Mapping, observed: Mapping[str, torch.Tensor]) -> list[str]:
    """Every mismatch between the hand-overs a run reported and the fixture's expected entries."""
    failures = []
    for name in fixture["expected"]:
        if name not in observed:
            failures.append(f"{name}: the engine did not report it")
            continue
        actual = observed[name]
        if name in (FRAME_SUBSET_ENTRY, FRAME_INDEX_ENTRY) and FRAME_INDEX_ENTRY in fixture["expected"]:
            actual = actual.index_select(2 if name == FRAME_SUBSET_ENTRY else 0,
                                         fixture["expected"][FRAME_INDEX_ENTRY])
        problem = compare_entry(fixture, name, actual)
        if problem is not None:
            failures.append(problem)
    return failures
