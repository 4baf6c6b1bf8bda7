"""What to generate: a plain, validated description of one render, saved as a small JSON project.

A project file (``.dawn``) lets a creator save a setup and reopen it later, and lets scripts
describe batches. File paths are stored absolute and, when possible, also relative to the
project file, so a project folder that was moved still opens.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

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

    def __post_init__(self) -> None:
        if not str(self.portrait):
            raise JobError("Choose a portrait photo")
        if not str(self.audio):
            raise JobError("Choose a speech recording")
        if self.resolution not in RESOLUTIONS:
            raise JobError(f"Resolution must be 128 or 256, got {self.resolution}")
        if self.framing not in FRAMINGS:
            raise JobError(f"Framing must be one of {', '.join(FRAMINGS)}, got {self.framing!r}")
        if not isinstance(self.steps, int) or not 1 <= self.steps <= 1000:
            raise JobError(f"Diffusion steps must be a whole number from 1 to 1000, got {self.steps!r}")
        if not math.isfinite(self.guidance_scale) or not 0.0 <= self.guidance_scale <= 10.0:
            raise JobError(f"Guidance scale must be between 0 and 10, got {self.guidance_scale}")
        if self.precision not in PRECISIONS:
            raise JobError(f"Precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not isinstance(self.face_index, int) or self.face_index < 0:
            raise JobError(f"Face index must be 0 or more, got {self.face_index!r}")
        if self.trim_start < 0 or not math.isfinite(self.trim_start):
            raise JobError("The trim start must be 0 s or later")
        if self.trim_end is not None and not self.trim_end > self.trim_start:
            raise JobError("The trim end must come after the trim start")
        if self.preset not in PRESETS:
            raise JobError(f"Preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if self.face_loc_weights is not None and not str(self.face_loc_weights):
            raise JobError("The face-location weight file name is empty")
        if self.output.format not in FORMAT_SUFFIX:
            raise JobError(f"Output format must be one of {', '.join(FORMAT_SUFFIX)}, got {self.output.format!r}")

    def with_changes(self, **changes: Any) -> Job:
        return replace(self, **changes)

    # serialisation ---------------------------------------------------------------
    def to_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        data = asdict(self)
        data["motion"] = self.motion.to_dict()
        data["output"] = asdict(self.output)
        if relative_to is not None:
            data["relative_paths"] = {
                key: _relative(getattr(self, key), relative_to) for key in ("portrait", "audio")
            }
        return {"format": PROJECT_FORMAT, "version": PROJECT_VERSION, "job": data}

    @classmethod
    def from_dict(cls, document: dict[str, Any], base_dir: Path | None = None) -> Job:
        if not isinstance(document, dict) or document.get("format") != PROJECT_FORMAT:
            raise JobError("Not a DAWN Studio project file")
        version = document.get("version")
        if not isinstance(version, int) or version > PROJECT_VERSION:
            raise JobError(f"This project was saved by a newer DAWN Studio (format version {version})")
        data = dict(document.get("job") or {})
        relative = data.pop("relative_paths", {}) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise JobError(f"Unknown project setting(s): {', '.join(unknown)}")
        try:
            data["motion"] = MotionControls.from_dict(data.get("motion") or {})
            data["output"] = OutputSettings(**(data.get("output") or {}))
        except (MotionError, TypeError) as exc:
            raise JobError(f"Project settings are invalid: {exc}") from exc
        if base_dir is not None:
            for key in ("portrait", "audio"):
                data[key] = _resolve(data.get(key, ""), relative.get(key), base_dir)
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
            document = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise JobError(f"Project file not found: {source}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise JobError(f"{source.name} is not a readable project file ({exc})") from exc
        return cls.from_dict(document, base_dir=source.parent.resolve())


def _relative(path: str, base: Path) -> str | None:
    try:
        return os.path.relpath(Path(path).resolve(), base)
    except ValueError:  # other drive on Windows
        return None


def _resolve(absolute: str, relative: str | None, base: Path) -> str:
    """The stored absolute path if it exists, else the one relative to the project file."""
    if absolute and Path(absolute).exists():
        return absolute
    if relative:
        candidate = (base / relative).resolve()
        if candidate.exists():
            return str(candidate)
    return absolute
