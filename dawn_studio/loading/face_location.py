"""Face-location encoder weights: the packaged seed-1234 values, or a saved file.

The encoder's weights are in no published checkpoint: the reference re-initialises them randomly
at every start. The network was trained with the weights PyTorch draws after ``manual_seed(1234)``;
those 1,248 values ship with this package (``face_loc_seed1234.b64``, pipeline.md Appendix A) and
are checked against their SHA-256 when loaded. Other weights can be given as a file in the same
base64 format or as a PyTorch state dict (``.pt``/``.pth``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ..networks.a2v import FaceLocationEncoder
from .checkpoint import CheckpointError, load_strict, read_checkpoint

FACE_LOC_RESOURCE = "face_loc_seed1234.b64"
FACE_LOC_SHA256 = "f672b953bf08013967d7d75e4a5e1f40801fdc195b8ce2ace68fa395aa9c56de"
FACE_LOC_SECTION = "a2v.face_loc"
STATE_DICT_SUFFIXES = (".pt", ".pth")


def _decode(
    text: str, module: FaceLocationEncoder, *, source: str, sha256: str | None
) -> dict[str, torch.Tensor]:
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(
            "Face-location weights are not valid base64",
            path=source,
            section=FACE_LOC_SECTION,
        ) from exc
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise CheckpointError(
            "Face-location weights do not match their SHA-256 (damaged file?)",
            path=source,
            section=FACE_LOC_SECTION,
        )
    shapes = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    needed = sum(int(np.prod(s)) for s in shapes.values()) * 4
    if len(raw) != needed:
        raise CheckpointError(
            f"Face-location weights hold {len(raw)} bytes, this encoder needs {needed}",
            path=source,
            section=FACE_LOC_SECTION,
        )
    values = torch.from_numpy(np.frombuffer(raw, dtype="<f4").astype(np.float32))
    state, start = {}, 0
    for name, shape in shapes.items():
        count = int(np.prod(shape))
        state[name] = values[start : start + count].reshape(shape).clone()
        start += count
    return state


def encode_face_location_weights(module: FaceLocationEncoder) -> str:
    """The packaged format: tensors in state-dict order, float32 little-endian, base64, 96-char lines."""
    raw = b"".join(
        t.detach().cpu().to(torch.float32).numpy().astype("<f4").tobytes()
        for t in module.state_dict().values()
    )
    text = base64.b64encode(raw).decode("ascii")
    return "\n".join(text[i : i + 96] for i in range(0, len(text), 96)) + "\n"


def save_face_location_weights(module: FaceLocationEncoder, path: str | os.PathLike[str]) -> None:
    Path(path).write_text(encode_face_location_weights(module), encoding="ascii")


def load_face_location_weights(
    module: FaceLocationEncoder,
    path: str | os.PathLike[str] | None = None,
) -> FaceLocationEncoder:
    """Fill ``module`` with the shipped seed-1234 weights (SHA-256 checked), or with a saved file:
    the packaged base64 format, or a PyTorch state dict (``.pt``/``.pth``, read tensors-only)."""
    if path is not None and Path(path).suffix.lower() in STATE_DICT_SUFFIXES:
        return load_strict(module, read_checkpoint(path), path=path, section=FACE_LOC_SECTION)
    if path is None:
        text = resources.files(__package__).joinpath(FACE_LOC_RESOURCE).read_text(encoding="ascii")
        source, sha = f"<package {__package__}>/{FACE_LOC_RESOURCE}", FACE_LOC_SHA256
    else:
        p = Path(path)
        if not p.is_file():
            raise CheckpointError("Face-location weight file not found", path=p, section=FACE_LOC_SECTION)
        try:
            text = p.read_text(encoding="ascii")
        except (UnicodeDecodeError, OSError) as exc:
            raise CheckpointError("Face-location weight file is not base64 text", path=p) from exc
        source, sha = str(p), None
    state = _decode(text, module, source=source, sha256=sha)
    return load_strict(module, state, path=source, section=FACE_LOC_SECTION)
