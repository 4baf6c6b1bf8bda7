"""Takes: every generated clip kept on disk with the settings and seed that made it (no Qt).

A creator iterates on seeds and strengths; each Generate becomes a *take* that survives a restart.
A take is a folder in the user data folder (``takes/<id>/``) holding:

- ``take.json``: its name, when it was made, and the job (settings, seed) as a project document;
- ``crop.mp4`` / ``full.mp4``: the preview clips the player shows (moved from the engine's temp folder);
- ``thumb.png``: the first frame, for the strip of takes;
- ``frames.npy`` and ``track.npy``: the generated face frames and the speech track, lossless, so an
  export from a take is as good as one made right after generating (memory-mapped when read back);
- ``motion.npz`` and ``face.json``: the head motion and the face the frames are pasted back onto.

The portrait's file is copied once per content into ``portraits/`` so a take still exports its full photo
when the original was moved or edited. The store has a size limit; :meth:`TakeStore.clean_up` removes the
oldest takes no project refers to until it fits.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np

from .engine.cache import file_digest
from .engine.engine import GenerationResult
from .engine.job import Job, JobError
from .frame_rate import FPS
from .stages.motion import MotionSequences
from .stages.portrait import FaceCrop, FaceResult, Portrait, load_portrait

log = logging.getLogger(__name__)

TAKE_FORMAT = "dawn-studio-take"
TAKE_VERSION = 1
#: Default size limit of the take store; beyond it the oldest takes no project refers to are removed.
DEFAULT_LIMIT_BYTES = 4 * 1024**3
PREVIEW_VIEWS = ("full", "crop", "full-before", "crop-before")  # the last two for enhanced clips
MAX_NAME_CHARS = 80


class TakeError(RuntimeError):
    """A take cannot be stored or read back; the message says why in plain words."""


@dataclass(frozen=True)
class Take:
    """One stored take: what the strip shows and what the studio needs to play or export it."""

    id: str
    name: str
    created: float
    job: Job
    num_frames: int
    folder: Path

    @property
    def seed(self) -> int:
        return self.job.motion.seed

    @property
    def duration_s(self) -> float:
        return self.num_frames / FPS

    @property
    def thumbnail(self) -> Path:
        return self.folder / "thumb.png"

    def preview_path(self, view: str) -> Path | None:
        path = self.folder / f"{view}.mp4"
        return path if path.is_file() else None

    def summary(self) -> str:
        """Settings in a line, for the strip's tooltip."""
        motion = self.job.motion
        return (f"{self.name} — seed {motion.seed}, head motion {motion.head_motion:.0%}, "
                f"blinks {motion.blink_strength:.0%}, {self.job.resolution} px, {self.job.steps} steps, "
                f"{self.duration_s:.1f} s")


def _folder_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            pass
    return total


def _face_to_dict(face: FaceResult) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    plain: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {"params": np.asarray(face.params)}
    for f in fields(face):
        value = getattr(face, f.name)
        if f.name == "crop":
            plain["crop"] = asdict(value)
        elif f.name == "params":
            continue
        elif f.name == "landmarks":
            if value is not None:
                arrays["landmarks"] = np.asarray(value)
        else:
            plain[f.name] = list(value) if isinstance(value, tuple) else value
    return plain, arrays


def _face_from_dict(plain: dict[str, Any], arrays: dict[str, np.ndarray]) -> FaceResult:
    values: dict[str, Any] = {}
    for f in fields(FaceResult):
        if f.name == "crop":
            values["crop"] = FaceCrop(**plain["crop"])
        elif f.name == "params":
            values["params"] = arrays["params"]
        elif f.name == "landmarks":
            values["landmarks"] = arrays.get("landmarks")
        else:
            value = plain[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return FaceResult(**values)


class StoredPortrait:
    """A take's photo, decoded when first needed (by an export, on its worker thread) rather than when the
    take is selected: selecting a take stays instant however large the photo."""

    def __init__(self, path: Path) -> None:
        self.source = str(path)
        self._portrait: Portrait | None = None
        self._lock = threading.Lock()

    def _load(self) -> Portrait:
        with self._lock:
            if self._portrait is None:
                self._portrait = load_portrait(self.source)
            return self._portrait

    @property
    def rgb(self) -> np.ndarray:
        return self._load().rgb

    @property
    def height(self) -> int:
        return self._load().height

    @property
    def width(self) -> int:
        return self._load().width


class TakeStore:
    """The folder of takes. Methods raise ``TakeError`` for what cannot be written or read."""

    def __init__(self, root: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.root = Path(root)
        self.limit_bytes = int(limit_bytes)

    @property
    def portraits(self) -> Path:
        return self.root / "portraits"

    # writing ---------------------------------------------------------------------------
    def add(self, result: GenerationResult, name: str = "") -> Take:
        """Keep ``result`` as a new take. Its preview files move into the take (the result no longer
        owns a temp folder afterwards), so playing a take never depends on a temp folder."""
        take_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        folder = self.root / take_id
        partial = self.root / f".{take_id}.partial"
        try:
            partial.mkdir(parents=True)
            np.save(partial / "frames.npy", np.ascontiguousarray(result.frames, dtype=np.uint8))
            np.save(partial / "track.npy", np.ascontiguousarray(result.track, dtype=np.float32))
            np.savez(partial / "motion.npz", pose=result.motion.pose, blink=result.motion.blink)
            plain_face, face_arrays = _face_to_dict(result.face)
            np.savez(partial / "face_arrays.npz", **face_arrays)
            portrait_copy = self._keep_portrait(result.job.portrait)
            first = np.ascontiguousarray(result.frames[0][..., ::-1])
            if not cv2.imwrite(str(partial / "thumb.png"), first):
                raise OSError("the thumbnail could not be written")
            for view in PREVIEW_VIEWS:
                source = result.preview_path(view)
                if source is not None:
                    shutil.copyfile(source, partial / f"{view}.mp4")
            document = {
                "format": TAKE_FORMAT, "version": TAKE_VERSION,
                "name": name or self.next_name(), "created": time.time(),
                "num_frames": result.num_frames, "track_rate": int(result.track_rate),
                "portrait_copy": portrait_copy, "face": plain_face,
                "warnings": list(result.warnings), "project": result.job.to_dict(),
            }
            (partial / "take.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            os.replace(partial, folder)
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise TakeError(f"The take could not be kept in {self.root}: {exc.strerror or exc}") from exc
        result.discard_previews()
        take = self.get(take_id)
        if take is None:
            raise TakeError(f"The take just written to {folder} cannot be read back")
        return take

    def _keep_portrait(self, path: str) -> str | None:
        """A copy of the portrait by content (shared by the takes of one photo); None if unreadable."""
        try:
            source = Path(path)
            target = self.portraits / (file_digest(source) + source.suffix.lower())
            if not target.is_file():
                self.portraits.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.tmp")
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)
            return target.name
        except OSError as exc:
            log.warning("the portrait %s could not be kept with the take: %s", path, exc)
            return None

    def next_name(self) -> str:
        numbers = [int(t.name.split()[-1]) for t in self.list() if t.name.startswith("Take ")
                   and t.name.split()[-1].isdigit()]
        return f"Take {max(numbers, default=0) + 1}"

    def rename(self, take_id: str, name: str) -> Take:
        name = " ".join(name.split())[:MAX_NAME_CHARS]
        if not name:
            raise TakeError("A take needs a name")
        document = self._document(take_id)
        if document is None:
            raise TakeError("This take is no longer stored")
        document["name"] = name
        path = self.root / take_id / "take.json"
        try:
            tmp = path.with_name(".take.json.tmp")
            tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise TakeError(f"The take could not be renamed: {exc.strerror or exc}") from exc
        take = self.get(take_id)
        assert take is not None
        return take

    def delete(self, take_id: str) -> None:
        folder = self.root / take_id
        if folder.parent == self.root and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        self._drop_unused_portraits()

    # reading ---------------------------------------------------------------------------
    def _document(self, take_id: str) -> dict[str, Any] | None:
        if not take_id or "/" in take_id or "\\" in take_id or take_id.startswith("."):
            return None
        try:
            document = json.loads((self.root / take_id / "take.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("format") != TAKE_FORMAT:
            return None
        return document

    def get(self, take_id: str) -> Take | None:
        """The take, or None when it was removed or is damaged (logged)."""
        document = self._document(take_id)
        if document is None:
            return None
        try:
            job = Job.from_dict(document["project"])
            return Take(take_id, str(document["name"]), float(document["created"]), job,
                        int(document["num_frames"]), self.root / take_id)
        except (KeyError, TypeError, ValueError, JobError) as exc:
            log.warning("ignoring the damaged take %s: %s", take_id, exc)
            return None

    def list(self) -> list[Take]:
        """Every stored take, oldest first."""
        if not self.root.is_dir():
            return []
        takes = [self.get(p.name) for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
                 and p.name != "portraits"]
        return sorted((t for t in takes if t is not None), key=lambda t: t.created)

    def load_result(self, take: Take) -> GenerationResult:
        """The take as the engine's result, for the preview's motion plot and for export. The frames are
        memory-mapped, so this is quick however long the clip."""
        document = self._document(take.id)
        if document is None:
            raise TakeError(f"{take.name} is no longer stored")
        folder = take.folder
        try:
            frames = np.load(folder / "frames.npy", mmap_mode="r", allow_pickle=False)
            track = np.load(folder / "track.npy", allow_pickle=False)
            with np.load(folder / "motion.npz", allow_pickle=False) as motion_file:
                motion = MotionSequences(motion_file["pose"], motion_file["blink"])
            with np.load(folder / "face_arrays.npz", allow_pickle=False) as face_file:
                face = _face_from_dict(document["face"], {k: face_file[k] for k in face_file.files})
            copy = document.get("portrait_copy")
            source = self.portraits / copy if copy else Path(take.job.portrait)
            if not source.is_file():
                source = Path(take.job.portrait)
            if not source.is_file():
                raise TakeError(f"The photo of {take.name} is gone ({Path(take.job.portrait).name}); the take "
                                "can no longer be exported")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TakeError(f"{take.name} cannot be read back: {exc}") from exc
        portrait = cast(Portrait, StoredPortrait(source))
        return GenerationResult(take.job, frames, portrait, face, motion, track, int(document["track_rate"]),
                                warnings=tuple(document.get("warnings") or ()))

    # size limit ----------------------------------------------------------------------------
    def size_bytes(self) -> int:
        return _folder_size(self.root) if self.root.is_dir() else 0

    def clean_up(self, referenced: Iterable[str]) -> list[str]:
        """Remove the oldest takes no project refers to until the store fits its limit; the ids removed.
        Half-written takes (left by a crash) go first."""
        if not self.root.is_dir():
            return []
        for partial in self.root.glob(".*.partial"):
            shutil.rmtree(partial, ignore_errors=True)
        keep = set(referenced)
        sizes = {t.id: _folder_size(t.folder) for t in self.list()}
        total = self.size_bytes()
        removed: list[str] = []
        for take in self.list():
            if total <= self.limit_bytes:
                break
            if take.id in keep:
                continue
            self.delete(take.id)
            total -= sizes.get(take.id, 0)
            removed.append(take.id)
        if removed:
            log.info("removed %d old take(s) to keep the take store under %d MB", len(removed),
                     self.limit_bytes // 1024**2)
        self._drop_unused_portraits()
        return removed

    def _drop_unused_portraits(self) -> None:
        if not self.portraits.is_dir():
            return
        used = {(self._document(t.id) or {}).get("portrait_copy") for t in self.list()}
        for path in self.portraits.iterdir():
            if path.is_file() and path.name not in used and not path.name.startswith("."):
                path.unlink(missing_ok=True)
