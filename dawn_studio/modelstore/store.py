"""The model store: a folder laid out like the reference's ``pretrain_models/`` (plus ``3ddfa/``),
the catalog that describes it, and fast status / checks over it. This is what the engine asks for
file locations (``path_of``) and readiness (``require``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..progress import CancelToken, check_cancel
from .catalog import Catalog, CatalogFile, Feature, load_catalog
from .checksums import file_digests
from .errors import IntegrityError, ModelsMissingError, StoreAccessError
from .formats import format_problem, structure_problem
from .ledger import Ledger, Verification
from .location import locate_store

PART_SUFFIX = ".part"
DOWNLOAD_HINT = "dawn-studio models download"
IMPORT_HINT = "dawn-studio models import FOLDER_OR_ZIP"


class FileState(Enum):
    MISSING = "missing"
    PARTIAL = "partial"  # an interrupted download waits to be resumed
    PRESENT = "present"  # in place, not (re)checked since it last changed
    VERIFIED = "verified"
    CORRUPT = "corrupt"

    @property
    def usable(self) -> bool:
        return self in (FileState.PRESENT, FileState.VERIFIED)


@dataclass(frozen=True)
class FileStatus:
    file: CatalogFile
    state: FileState
    path: Path
    size_on_disk: int | None
    detail: str

    @property
    def usable(self) -> bool:
        return self.state.usable


@dataclass(frozen=True)
class FeatureStatus:
    feature: Feature
    files: tuple[FileStatus, ...]

    @property
    def needs_models(self) -> bool:
        return bool(self.files)

    @property
    def missing(self) -> tuple[FileStatus, ...]:
        return tuple(s for s in self.files if not s.usable)

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def summary(self) -> str:
        title = self.feature.title
        if not self.needs_models:
            return f"{title} does not need models"
        if self.ready:
            return f"{title} ready"
        count = len(self.missing)
        return f"{title} missing {count} file{'s' if count != 1 else ''}"


@dataclass(frozen=True)
class StoreStatus:
    root: Path
    files: tuple[FileStatus, ...]
    features: tuple[FeatureStatus, ...]

    def file(self, file_id: str) -> FileStatus:
        return next(s for s in self.files if s.file.id == file_id)

    def feature(self, feature_id: str) -> FeatureStatus:
        return next(s for s in self.features if s.feature.id == feature_id)

    @property
    def missing(self) -> tuple[FileStatus, ...]:
        return tuple(s for s in self.files if not s.usable)

    @property
    def nothing_installed(self) -> bool:
        return not any(s.usable for s in self.files)


def expected_size_text(file: CatalogFile) -> str:
    return human_size(file.size) if file.size is not None else "size known when the download starts"


def human_size(n: int | float) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


class ModelStore:
    """One store folder plus the catalog; cheap to create, all state is on disk."""

    def __init__(self, root: Path, catalog: Catalog | None = None, reason: str = "given") -> None:
        self.root = Path(root).expanduser()
        self.catalog = catalog or load_catalog()
        self.reason = reason
        self.ledger = Ledger(self.root)

    @classmethod
    def locate(cls, catalog: Catalog | None = None) -> ModelStore:
        """The store the user set up (see ``location.locate_store``)."""
        where = locate_store()
        return cls(where.path, catalog, where.reason)

    # locations --------------------------------------------------------------------------
    def path_of(self, file_id: str) -> Path:
        """Where the file is (or will be) in the store; it may not exist yet, see ``require``."""
        return self.root.joinpath(*self.catalog.file(file_id).path.split("/"))

    def part_path(self, file: CatalogFile) -> Path:
        target = self.path_of(file.id)
        return target.with_name(target.name + PART_SUFFIX)

    def ensure_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreAccessError(
                f"Cannot write to the model folder {self.root}: {exc.strerror or exc}. Choose another folder "
                "(Models ▸ Use this folder…, or set $DAWN_STUDIO_MODELS)."
            ) from None
        self.ledger.reload()

    # status -----------------------------------------------------------------------------
    def file_status(self, file: CatalogFile) -> FileStatus:
        """From file metadata and the ledger only: never reads file contents."""
        path = self.path_of(file.id)
        try:
            stat = path.stat()
        except OSError:
            part = self.part_path(file)
            if part.is_file():
                got = part.stat().st_size
                of = f" of {human_size(file.size)}" if file.size else ""
                detail = f"download interrupted after {human_size(got)}{of}; download again to resume"
                return FileStatus(file, FileState.PARTIAL, path, None, detail)
            detail = "link points to a file that is gone" if path.is_symlink() else "not installed"
            return FileStatus(file, FileState.MISSING, path, None, detail)
        if not path.is_file():
            what = "a folder is in the way of this file" if path.is_dir() else \
                "not a regular file (a named pipe, device or socket)"
            return FileStatus(file, FileState.CORRUPT, path, None, what)
        if file.size is not None and stat.st_size != file.size:
            return FileStatus(file, FileState.CORRUPT, path, stat.st_size,
                              f"{human_size(stat.st_size)} instead of {human_size(file.size)}")
        known = self.ledger.verification(file.path, stat)
        if known is not None:
            state = FileState.VERIFIED if known.ok else FileState.CORRUPT
            return FileStatus(file, state, path, stat.st_size, known.reason)
        recorded = self.ledger.recorded(file.path)
        if recorded is not None and recorded.size >= 0 and recorded.size != stat.st_size:
            return FileStatus(file, FileState.CORRUPT, path, stat.st_size,
                              "changed since it was verified (size differs)")
        return FileStatus(file, FileState.PRESENT, path, stat.st_size,
                          "installed, not checked since it changed")

    def status(self) -> StoreStatus:
        self.ledger.refresh()
        files = tuple(self.file_status(f) for f in self.catalog.files)
        by_id = {s.file.id: s for s in files}
        features = tuple(
            FeatureStatus(feature, tuple(by_id[f.id] for f in self.catalog.files_of_feature(feature.id)))
            for feature in self.catalog.features
        )
        return StoreStatus(self.root, files, features)

    def require(self, feature_id: str) -> dict[str, Path]:
        """The paths of every file ``feature_id`` needs, or ``ModelsMissingError`` saying which are
        missing and how to get them."""
        files = self.catalog.files_of_feature(feature_id)
        statuses = [self.file_status(f) for f in files]
        missing = [s for s in statuses if not s.usable]
        if missing:
            feature = self.catalog.feature(feature_id)
            listed = "; ".join(f"{s.file.path} ({s.file.title}: {s.detail})" for s in missing)
            count = len(missing)
            raise ModelsMissingError(
                f"{feature.title} needs {count} model file{'s' if count != 1 else ''} that "
                f"{'are' if count != 1 else 'is'} not ready in {self.root}: {listed}. "
                f"Get them with `{DOWNLOAD_HINT} {feature_id}` (or Models ▸ Manage models… in the app); "
                f"without internet, copy them from another machine and run `{IMPORT_HINT}`.",
                feature_id, tuple(s.file.id for s in missing),
            )
        return {s.file.id: s.path for s in statuses}

    # checking -----------------------------------------------------------------------------
    def expected_sha256(self, file: CatalogFile) -> tuple[str | None, str]:
        """The SHA-256 a good copy has, and where that value comes from."""
        if file.sha256:
            return file.sha256, "the catalog"
        recorded = self.ledger.recorded(file.path)
        if recorded is not None:
            return recorded.sha256, f"the value recorded on {recorded.recorded_at[:10]} ({recorded.how})"
        return None, ""

    def check_candidate(self, file: CatalogFile, path: Path, *, hub_sha256: str | None = None,
                        hub_git_blob: str | None = None, progress: Callable[[int], None] | None = None,
                        cancel: CancelToken | None = None) -> Verification:
        """Check a file (installed, downloaded to a temp name, or found in an import) against everything
        known about it: size, format, catalog or recorded SHA-256, the hub's checksum."""
        size = path.stat().st_size
        if file.size is not None and size != file.size:
            return Verification(False, None, f"{human_size(size)} instead of {human_size(file.size)}")
        problem = format_problem(path, file.name) or structure_problem(path, file.name)
        if problem:
            return Verification(False, None, problem)
        sha256, git_blob = file_digests(path, git_blob=hub_git_blob is not None, progress=progress,
                                        cancel=cancel)
        check_cancel(cancel)
        expected, origin = self.expected_sha256(file)
        if expected and sha256 != expected:
            return Verification(False, sha256, f"SHA-256 differs from {origin}")
        if hub_sha256 and sha256 != hub_sha256.lower():
            return Verification(False, sha256, "SHA-256 differs from the one the server publishes")
        if hub_git_blob and git_blob != hub_git_blob.lower():
            return Verification(False, sha256, "content differs from the server's git blob id")
        if expected:
            how = f"SHA-256 matches {origin}"
        elif hub_sha256:
            how = "SHA-256 matches the server's"
        elif hub_git_blob:
            how = "content matches the server's git blob id"
        else:
            how = "no published checksum: size and format checked"
        return Verification(True, sha256, how)

    def accept(self, file: CatalogFile, verification: Verification, how_recorded: str) -> None:
        """Remember a good installed file: its check result, and its SHA-256 when none was known."""
        target = self.path_of(file.id)
        stat = target.stat()
        if verification.ok and verification.sha256 and self.expected_sha256(file)[0] is None:
            self.ledger.record(file.path, verification.sha256, stat.st_size, how_recorded)
        self.ledger.remember(file.path, stat, verification)

    def verify(self, file_ids: list[str] | tuple[str, ...] | None = None, *, force: bool = False,
               progress: Callable[[str, int, int], None] | None = None,
               cancel: CancelToken | None = None) -> list[FileStatus]:
        """Hash the installed files (``force``: also those already verified and unchanged) and record
        the results. ``progress(file_id, bytes_done, bytes_total)``. Returns the new statuses."""
        files = self.catalog.expand(list(file_ids)) if file_ids else self.catalog.files
        results = []
        for file in files:
            check_cancel(cancel)
            current = self.file_status(file)
            if current.state in (FileState.MISSING, FileState.PARTIAL) or (
                current.state is FileState.VERIFIED and not force
            ) or current.size_on_disk is None:
                results.append(current)
                continue
            total = current.size_on_disk

            def report(done: int, _id: str = file.id, _total: int = total) -> None:
                if progress is not None:
                    progress(_id, done, _total)

            try:
                verification = self.check_candidate(file, current.path, progress=report, cancel=cancel)
            except OSError as exc:
                raise StoreAccessError(f"Cannot read {current.path}: {exc.strerror or exc}") from None
            self.accept(file, verification, "first verification of an installed copy (no published checksum)")
            results.append(self.file_status(file))
        return results

    def refuse(self, file: CatalogFile, verification: Verification) -> IntegrityError:
        return IntegrityError(f"{file.path} was refused: {verification.reason}.")
