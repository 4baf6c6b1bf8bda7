"""Motion stage: the head-pose and blink sequences that drive the video, under creator controls.

PBNet proposes a pose sequence ``(F, 6)`` = yaw°, pitch°, roll°, 3DDFA scale, tx, ty (120-px
crop units) and a blink sequence ``(F, 2)`` = left/right eye-opening ratios, both starting
from the portrait's own state. Creators then shape them: scale the movement away from the
portrait's pose (rotation and translation/scale separately), scale or remove blinks, change
the variety (the latent noise scale) or the seed, or replace a curve with their own (CSV/NPY).
The result goes to the diffusion model in these raw units.

Plain functions over NumPy arrays; nothing here knows about Qt or files other than curves.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from ..frame_rate import FPS
from ..networks.pbnet import (
    FALLBACK_BLINK,
    FALLBACK_POSE,
    POSE_MAX,
    POSE_MIN,
    PBNet,
    generate_pose_blink,
    normalise_pose,
)
from ..progress import HandOverObserver

CurveKind = Literal["pose", "blink"]

POSE_COLUMNS = ("yaw", "pitch", "roll", "scale", "tx", "ty")
BLINK_COLUMNS = ("eye_left", "eye_right")
CURVE_COLUMNS: dict[str, tuple[str, ...]] = {"pose": POSE_COLUMNS, "blink": BLINK_COLUMNS}
#: Pose columns each strength acts on.
ROTATION_COLUMNS = slice(0, 3)
TRANSLATION_COLUMNS = slice(3, 6)

#: Strength and variety sliders run from 0 to this value (1 = as generated).
MAX_STRENGTH = 2.0
MAX_VARIETY = 2.0
#: Seed of the reference's seeded scripts; also ours by default.
DEFAULT_SEED = 1234

#: How far amplified motion may move from the portrait's state, per pose column: roughly the extent
#: of head motion in the HDTF talking-head clips PBNet and the diffusion model were trained on.
#: Amplified motion never exceeds this, or the model's own deviation where that is larger.
POSE_DELTA_LIMITS = (30.0, 20.0, 15.0, 1.0e-4, 12.0, 12.0)
#: The same for the eye ratios: from open (≈0.3) to closed.
BLINK_DELTA_LIMIT = 0.35
#: Values PBNet can represent at all: its pose normalisation range; eye ratios from closed to wide open.
POSE_VALUE_RANGE = (POSE_MIN, POSE_MAX)
BLINK_VALUE_RANGE = ((0.0, 0.0), (1.0, 1.0))
#: Accepted values of curves set by hand or imported, in the units above.
POSE_INPUT_RANGE = ((-90.0, -90.0, -90.0, 1e-6, -60.0, -60.0), (90.0, 90.0, 90.0, 0.01, 180.0, 180.0))
BLINK_INPUT_RANGE = ((0.0, 0.0), (1.0, 1.0))
_UNITS = {
    "yaw": "degrees",
    "pitch": "degrees",
    "roll": "degrees",
    "scale": "3DDFA scale (about 5e-4 for a face filling the crop)",
    "tx": "pixels of the 120-px face crop",
    "ty": "pixels of the 120-px face crop",
    "eye_left": "eye-opening ratio (about 0.3 open, 0 closed)",
    "eye_right": "eye-opening ratio (about 0.3 open, 0 closed)",
}


class MotionError(ValueError):
    """Controls, portrait state or a curve that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class MotionControls:
    """How the generated head motion and blinks are shaped. Defaults reproduce PBNet's output.

    * ``head_motion`` (0–2, default 1): overall head-movement strength; scales how far the head
      moves away from the portrait's own pose. 0 = still head, 1 = as generated.
    * ``rotation_strength`` (0–2, default 1): extra factor for yaw/pitch/roll.
    * ``translation_strength`` (0–2, default 1): extra factor for scale and tx/ty.
      The combined factors ``head_motion × rotation_strength`` etc. are capped at 2.
    * ``blink_strength`` (0–2, default 1): 0 = eyes keep the portrait's openness (no blinks).
    * ``variety`` (0–2, default 1): scale of PBNet's random latent; 0 = the deterministic mean
      motion for this audio, higher = livelier and less predictable.
    * ``seed`` (integer ≥ 0, default 1234): the same audio, seed and controls give the same motion.
    * ``still_head`` (default off): keep the portrait's pose on every frame, whatever the strengths.

    Amplified motion (factors above 1) is clamped to the range the models saw in training.
    """

    head_motion: float = 1.0
    rotation_strength: float = 1.0
    translation_strength: float = 1.0
    blink_strength: float = 1.0
    variety: float = 1.0
    seed: int = DEFAULT_SEED
    still_head: bool = False

    def __post_init__(self) -> None:
        limits = {
            "head_motion": MAX_STRENGTH,
            "rotation_strength": MAX_STRENGTH,
            "translation_strength": MAX_STRENGTH,
            "blink_strength": MAX_STRENGTH,
            "variety": MAX_VARIETY,
        }
        for name, high in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise MotionError(f"{_label(name)} must be a number, got {value!r}")
            if not 0.0 <= value <= high:
                raise MotionError(f"{_label(name)} must be between 0 and {high:g}, got {value:g}")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, (int, np.integer))
            or not 0 <= self.seed < 2**63
        ):
            raise MotionError(f"Seed must be a whole number from 0 to {2**63 - 1}, got {self.seed!r}")
        if not isinstance(self.still_head, (bool, np.bool_)):
            raise MotionError(f"Still head must be on or off, got {self.still_head!r}")

    @property
    def rotation_factor(self) -> float:
        """Factor applied to the rotation's deviation from the portrait's pose."""
        return 0.0 if self.still_head else min(MAX_STRENGTH, self.head_motion * self.rotation_strength)

    @property
    def translation_factor(self) -> float:
        """Factor applied to the scale/translation deviation from the portrait's pose."""
        return 0.0 if self.still_head else min(MAX_STRENGTH, self.head_motion * self.translation_strength)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MotionControls:
        """Controls from saved settings; unknown names are an error, missing ones take the defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise MotionError(
                f"Unknown motion control(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return cls(**dict(data))


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


@dataclass(frozen=True, eq=False)
class PortraitState:
    """The portrait's own pose ``(6,)`` (yaw°, pitch°, roll°, scale, tx, ty) and eye ratios ``(2,)``.

    Holds arrays, so instances compare (and hash) by identity.
    """

    pose: np.ndarray
    blink: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "pose", _state_vector(self.pose, 6, "Portrait pose"))
        object.__setattr__(self, "blink", _state_vector(self.blink, 2, "Portrait eye state"))

    @classmethod
    def from_preprocessing(cls, init_pose: Any, init_eye_bbox: Any) -> PortraitState:
        """From preprocessing's ``init_pose`` (1, 7) and ``init_eye_bbox`` (1, 8); tz and bbox unused."""
        return cls(
            np.asarray(init_pose, dtype=np.float64).reshape(-1)[:6],
            np.asarray(init_eye_bbox, dtype=np.float64).reshape(-1)[:2],
        )

    @classmethod
    def fallback(cls) -> PortraitState:
        """The reference's stand-in state for a portrait whose state is unknown."""
        return cls(np.array(FALLBACK_POSE), np.array(FALLBACK_BLINK))


def _state_vector(values: Any, width: int, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size != width:
        raise MotionError(f"{name} needs {width} values, got {array.size}")
    if not np.isfinite(array).all():
        raise MotionError(f"{name} contains missing or infinite values")
    return array.astype(np.float32)


@dataclass(frozen=True, eq=False)
class MotionSequences:
    """Per-frame pose ``(F, 6)`` and eye ratios ``(F, 2)`` in raw units, float32, at 25 fps.

    Holds arrays, so instances compare (and hash) by identity.
    """

    pose: np.ndarray
    blink: np.ndarray

    def __post_init__(self) -> None:
        pose = np.ascontiguousarray(self.pose, dtype=np.float32)
        blink = np.ascontiguousarray(self.blink, dtype=np.float32)
        if pose.ndim != 2 or pose.shape[1] != 6 or blink.ndim != 2 or blink.shape[1] != 2:
            raise MotionError(
                f"Motion needs pose (frames, 6) and blink (frames, 2), got {pose.shape} and {blink.shape}"
            )
        if pose.shape[0] != blink.shape[0]:
            raise MotionError(f"Pose has {pose.shape[0]} frames but blink has {blink.shape[0]}")
        object.__setattr__(self, "pose", pose)
        object.__setattr__(self, "blink", blink)

    @property
    def frames(self) -> int:
        return int(self.pose.shape[0])


# ---- generation -------------------------------------------------------------------------
def generate_raw_motion(
    pose_model: PBNet,
    blink_model: PBNet,
    audio_features: Any,
    portrait: PortraitState,
    *,
    seed: int = DEFAULT_SEED,
    variety: float = 1.0,
    latents: tuple[torch.Tensor, torch.Tensor] | None = None,
    observe: HandOverObserver | None = None,
) -> MotionSequences:
    """PBNet's pose and blink for every frame of ``audio_features`` ``(F, dim)`` at 25 fps.

    The latents come from a CPU generator seeded with ``seed`` (pose first, then blink), so
    the result is the same on every run and device, or are the given ``latents`` (pose, blink),
    each ``(F, 1, latent)``, e.g. a recorded run's draws; ``variety`` scales them. ``observe``
    receives the models' inputs and outputs (``pbnet.*``) and the sequences (``dri_pose``,
    ``dri_blink``).
    """
    MotionControls(seed=seed, variety=variety)  # validates both
    try:
        audio = torch.from_numpy(np.array(audio_features, dtype=np.float32))
    except (TypeError, ValueError):
        raise MotionError("Audio features must be a table of numbers (frames, dim)") from None
    if audio.dim() != 2 or audio.shape[0] < 1:
        raise MotionError(
            f"Audio features must be an array (frames, dim) with frames ≥ 1, got {tuple(audio.shape)}"
        )
    if not torch.isfinite(audio).all():
        raise MotionError("Audio features contain missing or infinite values")
    generator = torch.Generator().manual_seed(int(seed))
    pose_noise, blink_noise = latents if latents is not None else (None, None)
    result = generate_pose_blink(
        pose_model,
        blink_model,
        torch.from_numpy(portrait.pose),
        torch.from_numpy(portrait.blink),
        audio,
        pose_noise=pose_noise,
        blink_noise=blink_noise,
        generator=generator,
        fact=float(variety),
    )
    if observe is not None:
        observe("pbnet.pose_in", normalise_pose(torch.from_numpy(portrait.pose)).reshape(1, 1, 6))
        observe("pbnet.blink_in", torch.from_numpy(portrait.blink).reshape(1, 1, 2))
        observe("pbnet.output_pose", result.output_pose)
        observe("pbnet.output_blink", result.output_blink)
        observe("dri_pose", result.dri_pose)
        observe("dri_blink", result.dri_blink)
    return MotionSequences(result.dri_pose.cpu().numpy(), result.dri_blink.cpu().numpy())


def _shape_deviation(
    raw: np.ndarray,
    initial: np.ndarray,
    factor: float,
    delta_limit: np.ndarray,
    value_range: tuple,
) -> np.ndarray:
    """``initial + factor · (raw − initial)``; amplification clamped, factors 0 and 1 exact."""
    if factor == 1.0:
        return raw.copy()
    if factor == 0.0:
        return np.broadcast_to(initial, raw.shape).copy()
    raw64, initial64 = raw.astype(np.float64), initial.astype(np.float64)
    deviation = raw64 - initial64
    bound = np.maximum(delta_limit, np.abs(deviation))
    shaped = initial64 + np.clip(factor * deviation, -bound, bound)
    low = np.minimum(np.minimum(np.asarray(value_range[0]), raw64), initial64)
    high = np.maximum(np.maximum(np.asarray(value_range[1]), raw64), initial64)
    return np.clip(shaped, low, high).astype(np.float32)


def apply_controls(
    raw: MotionSequences, portrait: PortraitState, controls: MotionControls
) -> MotionSequences:
    """Shape raw (generated or imported) sequences with the strength controls.

    Each strength scales the deviation from the portrait's own state: 0 gives the portrait's
    state on every frame, 1 gives ``raw`` unchanged, above 1 exaggerates, clamped to the
    training range (:data:`POSE_DELTA_LIMITS`, :data:`BLINK_DELTA_LIMIT`) or to the raw
    deviation where that is larger, and to values the models can represent.
    """
    pose = np.empty_like(raw.pose)
    limits = np.asarray(POSE_DELTA_LIMITS)
    low, high = np.asarray(POSE_VALUE_RANGE[0]), np.asarray(POSE_VALUE_RANGE[1])
    for columns, factor in (
        (ROTATION_COLUMNS, controls.rotation_factor),
        (TRANSLATION_COLUMNS, controls.translation_factor),
    ):
        pose[:, columns] = _shape_deviation(
            raw.pose[:, columns],
            portrait.pose[columns],
            factor,
            limits[columns],
            (low[columns], high[columns]),
        )
    blink = _shape_deviation(
        raw.blink, portrait.blink, controls.blink_strength, np.full(2, BLINK_DELTA_LIMIT), BLINK_VALUE_RANGE
    )
    return MotionSequences(pose, blink)


def generate_motion(
    pose_model: PBNet,
    blink_model: PBNet,
    audio_features: Any,
    portrait: PortraitState,
    controls: MotionControls,
) -> MotionSequences:
    """Generate with the controls' seed and variety, then apply their strengths."""
    raw = generate_raw_motion(
        pose_model, blink_model, audio_features, portrait, seed=controls.seed, variety=controls.variety
    )
    return apply_controls(raw, portrait, controls)


# ---- sequences set by hand -----------------------------------------------------------------
def validate_curve(values: Any, kind: CurveKind, frames: int) -> np.ndarray:
    """Check a pose ``(frames, 6)`` or blink ``(frames, 2)`` curve given by a creator; float32 copy back."""
    columns = _columns(kind)
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionError(f"The {kind} curve must be a table of numbers") from None
    width = len(columns)
    if array.ndim != 2 or array.shape[1] != width:
        hint = (
            " (it looks transposed: one row per frame is expected)"
            if array.ndim == 2 and array.shape[0] == width
            else ""
        )
        raise MotionError(
            f"The {kind} curve must have one row per frame and {width} columns ({', '.join(columns)}), "
            f"got shape {array.shape}{hint}"
        )
    if array.shape[0] != frames:
        raise MotionError(
            f"The {kind} curve has {array.shape[0]} frames but the speech has {frames} frames at {FPS} fps "
            f"({frames / FPS:.2f} s); give one row per frame"
        )
    bad_rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if bad_rows.size:
        raise MotionError(
            f"The {kind} curve has missing or non-numeric values (first at frame {bad_rows[0]})"
        )
    low, high = (np.asarray(v) for v in (POSE_INPUT_RANGE if kind == "pose" else BLINK_INPUT_RANGE))
    for index, name in enumerate(columns):
        column = array[:, index]
        outside = np.flatnonzero((column < low[index]) | (column > high[index]))
        if outside.size:
            frame = int(outside[0])
            raise MotionError(
                f"The {kind} curve's '{name}' value {column[frame]:g} at frame {frame} is outside "
                f"[{low[index]:g}, {high[index]:g}]; expected units: {_UNITS[name]}"
            )
    return array.astype(np.float32)


def _columns(kind: str) -> tuple[str, ...]:
    if kind not in CURVE_COLUMNS:
        raise MotionError(f"Unknown curve kind {kind!r} (expected 'pose' or 'blink')")
    return CURVE_COLUMNS[kind]


def with_curve(sequences: MotionSequences, kind: CurveKind, values: Any) -> MotionSequences:
    """``sequences`` with the pose or blink curve replaced by a validated creator curve."""
    curve = validate_curve(values, kind, sequences.frames)
    if kind == "pose":
        return MotionSequences(curve, sequences.blink)
    return MotionSequences(sequences.pose, curve)


def read_curve(path: str | os.PathLike[str], kind: CurveKind, frames: int) -> np.ndarray:
    """Read a pose or blink curve from ``.npy`` (array frames × columns) or ``.csv``.

    A CSV may have a header naming the columns (``yaw, pitch, roll, scale, tx, ty`` or
    ``eye_left, eye_right``; other columns such as a frame number are ignored) or no header
    and exactly the expected number of columns.
    """
    columns = _columns(kind)
    p = Path(path)
    if not p.is_file():
        raise MotionError(f"Curve file not found: {p}")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        values = _read_npy(p)
    elif suffix in (".csv", ".txt"):
        values = _read_csv(p, columns)
    else:
        raise MotionError(f"Unsupported curve file type '{p.suffix}' (use .csv or .npy)")
    try:
        return validate_curve(values, kind, frames)
    except MotionError as exc:
        raise MotionError(f"{p.name}: {exc}") from None


def _read_npy(path: Path) -> np.ndarray:
    """A ``.npy`` array, after checking that its header describes the bytes the file really holds (a
    header may claim terabytes), with no pickled objects."""
    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"unknown format version {version}")
            if dtype.hasobject:
                raise ValueError("it holds Python objects")
            needed = math.prod(shape) * dtype.itemsize
            available = path.stat().st_size - handle.tell()
            if needed > available:
                raise ValueError(f"its header announces {needed} bytes of data but the file holds {available}")
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
    except (ValueError, OSError, EOFError, OverflowError, SyntaxError) as exc:
        raise MotionError(f"{path.name} is not a readable NumPy array file ({exc})") from None


def _read_csv(path: Path, columns: Sequence[str]) -> list[list[float]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MotionError(f"Cannot read {path.name}: {exc}") from None
    if not rows:
        raise MotionError(f"{path.name} is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    picks: list[int] | None = None
    if not _is_number_row(header):
        missing = [name for name in columns if name not in header]
        if missing:
            raise MotionError(
                f"{path.name} has no column(s) named {', '.join(missing)} (it has: {', '.join(header)})"
            )
        picks = [header.index(name) for name in columns]
        rows = rows[1:]
    table = []
    for line, row in enumerate(rows, start=2 if picks is not None else 1):
        cells = [row[i] if i < len(row) else "" for i in picks] if picks is not None else row
        try:
            table.append([float(cell) for cell in cells])
        except ValueError:
            raise MotionError(f"{path.name}, line {line}: not a number in {cells}") from None
    return table


def _is_number_row(cells: Sequence[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def write_curve(path: str | os.PathLike[str], values: Any, kind: CurveKind) -> Path:
    """Write a curve as ``.csv`` (header of column names) or ``.npy``; :func:`read_curve` reads it back."""
    columns = _columns(kind)
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != len(columns):
        raise MotionError(f"A {kind} curve has shape (frames, {len(columns)}), got {array.shape}")
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        np.save(p, array, allow_pickle=False)
    elif suffix == ".csv":
        with p.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows([[repr(float(v)) for v in row] for row in array])
    else:
        raise MotionError(f"Unsupported curve file type '{p.suffix}' (use .csv or .npy)")
    return p
