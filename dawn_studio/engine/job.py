"""What to generate: a plain, validated description of one render, saved as a small JSON project.

A project file (``.dawn``) lets a creator save a setup and reopen it later, and lets scripts
describe batches. File paths are stored absolute and, when possible, also relative to the
project file, so a project folder that was moved still opens.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..stages.export import FORMAT_SUFFIX, ExportSettings
from ..stages.motion import MotionControls, MotionError
from .presets import PRESETS, Preset

PROJECT_FORMAT = "dawn-studio-project"
PROJECT_VERSION = 1
RESOLUTIONS = (128, 256)
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
FRAMINGS = ("face", "reference")
#: Diffusion steps of the quality presets (20 is the reference's setting).
QUALITY_STEPS = {"draft": 8, "standard": 20}
Framing = Literal["face", "reference"]
#: Longest file path accepted (PATH_MAX on Linux); longer ones are typing or file mistakes.
MAX_PATH_CHARS = 4096
#: Trim points beyond a day are mistakes (and would overflow sample arithmetic).
MAX_TRIM_S = 86_400.0
#: The CRF range each encoder accepts (x264 8-bit: 0–51, VP9: 0–63; GIF and PNG ignore it).
MAX_PROJECT_BYTES = 1 << 20
CRF_RANGE = {"mp4": (0, 51), "webm": (0, 63), "gif": (0, 63), "png": (0, 63)}


class JobError(ValueError):
    """A setting of the job cannot be used; the message names it and what is allowed."""


@dataclass(frozen=True)
class OutputSettings:
    """Where and how the result is written (``path`` None: the GUI asks at export time)."""

    path: str | None = None
    format: str = "mp4"
    quality: int = 18
    full_frame: bool = True
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.path is not None:
            object.__setattr__(self, "path", _path_text(self.path, "output"))
        if not isinstance(self.format, str) or self.format not in FORMAT_SUFFIX:
            raise JobError(f"Output format must be one of {', '.join(FORMAT_SUFFIX)}, got {self.format!r}")
        low, high = CRF_RANGE[self.format]
        if not _is_int(self.quality) or not low <= self.quality <= high:
            raise JobError(f"The quality (CRF) must be a whole number from {low} to {high} for "
                           f"{self.format.upper()}, got {self.quality!r}")
        for name in ("full_frame", "overwrite"):
            if not isinstance(getattr(self, name), bool):
                raise JobError(f"The output setting '{name}' must be true or false, got {getattr(self, name)!r}")

    def export_settings(self) -> ExportSettings:
        return ExportSettings(format=self.format, quality=self.quality, overwrite=self.overwrite)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Job:
    """One generation: inputs, model choice, motion controls, sampler settings, output.

    ``framing``: 'face' crops a square around the chosen face (recommended); 'reference'
    squashes the whole photo to a square like the reference implementation.
    ``trim_end`` None means the end of the audio. ``precision`` 'auto' picks per device.
    ``preset``: 'studio' (default) keeps the studio's fixes of the reference's behaviours;
    'reference' switches every one of them back to reproduce the published pipeline
    (see :mod:`dawn_studio.engine.presets`; it implies the 'reference' framing).
    ``face_loc_weights``: a face-location weight file (.pth state dict or the packaged base64
    format) instead of the shipped seed-1234 weights; None for those.
    """

    portrait: str
    audio: str
    face_index: int = 0
    trim_start: float = 0.0
    trim_end: float | None = None
    resolution: int = 128
    framing: Framing = "face"
    motion: MotionControls = field(default_factory=MotionControls)
    steps: int = QUALITY_STEPS["standard"]
    guidance_scale: float = 1.0
    device: str = "auto"
    precision: str = "auto"
    output: OutputSettings = field(default_factory=OutputSettings)
    preset: Preset = "studio"
    face_loc_weights: str | None = None
    enhance: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "portrait", _path_text(self.portrait, "portrait"))
        object.__setattr__(self, "audio", _path_text(self.audio, "speech"))
        if not self.portrait:
            raise JobError("Choose a portrait photo")
        if not self.audio:
            raise JobError("Choose a speech recording")
        if not _is_int(self.resolution) or self.resolution not in RESOLUTIONS:
            raise JobError(f"Resolution must be 128 or 256, got {self.resolution!r}")
        if not isinstance(self.framing, str) or self.framing not in FRAMINGS:
            raise JobError(f"Framing must be one of {', '.join(FRAMINGS)}, got {self.framing!r}")
        if not _is_int(self.steps) or not 1 <= self.steps <= 1000:
            raise JobError(f"Diffusion steps must be a whole number from 1 to 1000, got {self.steps!r}")
        if not _is_number(self.guidance_scale) or not 0.0 <= self.guidance_scale <= 10.0:
            raise JobError(f"Guidance scale must be a number between 0 and 10, got {self.guidance_scale!r}")
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise JobError(f"Precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not isinstance(self.device, str) or not self.device:
            raise JobError(f"The device must be a name such as auto, cpu or cuda:0, got {self.device!r}")
        if not _is_int(self.face_index) or self.face_index < 0:
            raise JobError(f"Face index must be a whole number, 0 or more, got {self.face_index!r}")
        if not _is_number(self.trim_start) or not 0 <= self.trim_start <= MAX_TRIM_S:
            raise JobError(f"The trim start must be a number of seconds from 0 to {MAX_TRIM_S:g}, "
                           f"got {self.trim_start!r}")
        if self.trim_end is not None:
            if not _is_number(self.trim_end) or not 0 < self.trim_end <= MAX_TRIM_S:
                raise JobError(f"The trim end must be a number of seconds up to {MAX_TRIM_S:g}, "
                               f"got {self.trim_end!r}")
            if not self.trim_end > self.trim_start:
                raise JobError("The trim end must come after the trim start")
        if not isinstance(self.motion, MotionControls):
            raise JobError("The motion settings are not valid")
        if not isinstance(self.output, OutputSettings):
            raise JobError("The output settings are not valid")
        if not isinstance(self.preset, str) or self.preset not in PRESETS:
            raise JobError(f"Preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if self.face_loc_weights is not None:
            object.__setattr__(self, "face_loc_weights", _path_text(self.face_loc_weights, "face-location weights"))
            if not self.face_loc_weights:
                raise JobError("The face-location weight file name is empty")
        if self.enhance is not None:
            if not _is_number(self.enhance) or not 0.0 <= self.enhance <= 1.0:
                raise JobError(f"Face enhancement strength must be a number from 0 to 1 (or off), "
                               f"got {self.enhance!r}")
            object.__setattr__(self, "enhance", float(self.enhance))

    def with_changes(self, **changes: Any) -> Job:
        return replace(self, **changes)

    # serialisation ---------------------------------------------------------------
    def to_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        data = asdict(self)
        data["motion"] = self.motion.to_dict()
        data["output"] = asdict(self.output)
        del data["output"]["overwrite"]  # a permission of one run, never stored (see from_dict)
        if relative_to is not None:
            data["relative_paths"] = {
                key: _relative(getattr(self, key), relative_to) for key in ("portrait", "audio")
            }
        return {"format": PROJECT_FORMAT, "version": PROJECT_VERSION, "job": data}

    @classmethod
    def from_dict(cls, document: dict[str, Any], base_dir: Path | None = None) -> Job:
        """The job a project document describes. An ``overwrite`` stored in it is ignored: only the
        person (the command line's --overwrite, the app's own question) may allow replacing a file."""
        if not isinstance(document, dict) or document.get("format") != PROJECT_FORMAT:
            raise JobError("Not a DAWN Studio project file")
        version = document.get("version")
        if not _is_int(version) or version > PROJECT_VERSION:
            raise JobError(f"This project was saved by a newer DAWN Studio (format version {version!r})")
        data = document.get("job") or {}
        if not isinstance(data, dict):
            raise JobError("The project's settings ('job') must be an object of named settings")
        data = dict(data)
        relative = data.pop("relative_paths", None) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise JobError(f"Unknown project setting(s): {', '.join(map(str, unknown))[:200]}")
        for key in ("motion", "output"):
            if not isinstance(data.get(key) or {}, dict):
                raise JobError(f"The project's '{key}' settings must be an object of named settings")
        if not isinstance(relative, dict):
            raise JobError("The project's 'relative_paths' must be an object")
        output = dict(data.get("output") or {})
        output.pop("overwrite", None)
        try:
            data["motion"] = MotionControls.from_dict(data.get("motion") or {})
            data["output"] = OutputSettings(**output)
        except (MotionError, TypeError) as exc:
            raise JobError(f"Project settings are invalid: {exc}") from exc
        if base_dir is not None:
            for key in ("portrait", "audio"):
                stored, rel = data.get(key, ""), relative.get(key)
                if isinstance(stored, str) and (rel is None or isinstance(rel, str)):
                    data[key] = _resolve(stored, rel, base_dir)
        try:
            return cls(**data)
        except TypeError as exc:
            raise JobError(f"Project settings are incomplete: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the project atomically (temp file, then rename)."""
        target = Path(path)
        text = json.dumps(self.to_dict(relative_to=target.parent.resolve()), indent=2)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Job:
        source = Path(path)
        try:
            if source.stat().st_size > MAX_PROJECT_BYTES:
                raise JobError(f"{source.name} is too large to be a project file")
            document = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise JobError(f"Project file not found: {source}") from None
        except IsADirectoryError:
            raise JobError(f"{source} is a folder, not a project file") from None
        except OSError as exc:
            raise JobError(f"Cannot read the project file {source.name}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise JobError(f"{source.name} is not a readable project file ({exc})") from None
        except RecursionError:
            raise JobError(f"{source.name} is not a project file (nested too deeply)") from None
        return cls.from_dict(document, base_dir=source.parent.resolve())


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)


def _path_text(value: Any, what: str) -> str:
    """A path setting as text, or JobError for numbers, lists, absurd lengths and NUL bytes."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise JobError(f"The {what} path must be text, got {type(value).__name__} {str(value)[:40]!r}")
    if len(value) > MAX_PATH_CHARS:
        raise JobError(f"The {what} path is too long ({len(value)} characters; at most {MAX_PATH_CHARS})")
    if "\0" in value:
        raise JobError(f"The {what} path contains a NUL character")
    return value


def _relative(path: str, base: Path) -> str | None:
    try:
        return os.path.relpath(Path(path).resolve(), base)
    except ValueError:  # other drive on Windows
        return None


def _resolve(absolute: str, relative: str | None, base: Path) -> str:
    """The stored absolute path if it exists, else the one relative to the project file."""
    try:
        if absolute and Path(absolute).exists():
            return absolute
        if relative:
            candidate = (base / relative).resolve()
            if candidate.exists():
                return str(candidate)
    except (OSError, ValueError):  # a name too long or with a NUL byte: the job's checks say so
        pass
    return absolute
