"""Import model files from a folder or a zip someone copied (a ``pretrain_models/`` tree, a Hugging
Face cache, a flat folder...): files are recognised by name and the folders around them, checked like
downloads, and copied (or linked) into the store under a temp name, then renamed into place."""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..progress import CancelToken, check_cancel
from .catalog import Catalog, CatalogFile
from .download import check_free_space
from .errors import ModelImportError, StoreAccessError
from .events import ProgressCallback, StoreProgress
from .ledger import Verification
from .store import PART_SUFFIX, FileState, ModelStore, human_size
from .transfer import discard_partial

CHUNK = 1 << 20


#: No model file of the catalog comes near this; a larger "model" is a mistake or a trap (a link to
#: /dev/zero, a sparse file) and is refused before a byte is copied.
MAX_IMPORT_BYTES = 16 << 30


@dataclass(frozen=True)
class Candidate:
    file: CatalogFile
    where: str  # path inside the source (POSIX)
    size: int
    problem: str | None = None  # why it cannot be imported, found without reading it


@dataclass(frozen=True)
class ImportReport:
    installed: tuple[str, ...]  # file ids placed in the store
    already_present: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]  # (path inside the source, why)
    missing: tuple[str, ...]  # catalog file ids still not usable afterwards
    unrecognised: int  # files in the source that are not model files of the catalog

    def summary(self, catalog: Catalog) -> str:
        lines = [f"Imported {len(self.installed)} file(s); "
                 f"{len(self.already_present)} were already installed."]
        lines += [f"Refused {where}: {why}" for where, why in self.rejected]
        if self.missing:
            lines.append("Still missing: " + ", ".join(catalog.file(i).path for i in self.missing))
        else:
            lines.append("Every model file is installed.")
        return "\n".join(lines)


def recognise(catalog: Catalog, rel_path: str) -> CatalogFile | None:
    """The catalog file a path inside an import source stands for: the longest matching path-suffix
    pattern wins; a tie between different files (e.g. a bare ``opt.yaml``) is no match."""
    parts = PurePosixPath(rel_path).parts
    best: list[tuple[int, CatalogFile]] = []
    for file in catalog.files:
        for pattern in file.match:
            wanted = PurePosixPath(pattern).parts
            tail = parts[-len(wanted):]
            if len(wanted) <= len(parts) and all(
                fnmatch.fnmatchcase(have, want) for have, want in zip(tail, wanted, strict=True)
            ):
                best.append((len(wanted), file))
    if not best:
        return None
    longest = max(n for n, _ in best)
    winners = {f.id: f for n, f in best if n == longest}
    return next(iter(winners.values())) if len(winners) == 1 else None


def _folder_entries(root: Path) -> Iterator[tuple[str, int, str | None]]:
    """(path inside ``root``, size, problem) of every entry that could be a file. Nothing is opened:
    a named pipe would block, a device never ends. Links must stay inside ``root``."""
    inside = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames[:] = [d for d in dirnames if not d.startswith(".git")]
        for name in filenames:
            if name.endswith((PART_SUFFIX, PART_SUFFIX + ".json")):
                continue
            full = Path(dirpath) / name
            where = full.relative_to(root).as_posix()
            try:
                problem = None
                if full.is_symlink():
                    target = full.resolve()
                    if not target.is_relative_to(inside):
                        problem = f"a link to {target}, outside the imported folder; copy the file itself"
                info = full.stat()
            except (OSError, RuntimeError):
                continue
            yield where, info.st_size, problem or _entry_problem(info)


def _entry_problem(info: os.stat_result) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a named pipe, device or socket)"
    return _size_problem(info.st_size)


def _size_problem(size: int) -> str | None:
    if size > MAX_IMPORT_BYTES:
        return f"{human_size(size)}, far larger than any model file (at most {human_size(MAX_IMPORT_BYTES)})"
    return None


def find_candidates(catalog: Catalog, source: Path) -> tuple[list[Candidate], int, zipfile.ZipFile | None]:
    """(recognised files, number of unrecognised files, the open zip if the source is one)."""
    archive = None
    if source.is_dir():
        entries = list(_folder_entries(source))
    elif source.is_file() and zipfile.is_zipfile(source):
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelImportError(f"{source} is a damaged zip file: {exc}") from None
        entries = [(i.filename.replace("\\", "/"), i.file_size, _size_problem(i.file_size))
                   for i in archive.infolist() if not i.is_dir()]
    elif source.exists():
        raise ModelImportError(f"{source} is neither a folder nor a zip file.")
    else:
        raise ModelImportError(f"{source} does not exist.")
    found, unrecognised = [], 0
    for where, size, problem in entries:
        file = recognise(catalog, where)
        if file is None:
            unrecognised += 1
        else:
            found.append(Candidate(file, where, size, problem))
    return found, unrecognised, archive


def import_models(store: ModelStore, source: Path, *, link: bool = False,
                  progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> ImportReport:
    """Bring every recognised, good file from ``source`` into the store. ``link``: hard-link (or
    symlink across disks) instead of copying; zips are always extracted."""
    source = Path(source).expanduser()
    candidates, unrecognised, archive = find_candidates(store.catalog, source)
    try:
        return _import(store, source, candidates, unrecognised, archive, link, progress, cancel)
    finally:
        if archive is not None:
            archive.close()


def _import(store: ModelStore, source: Path, candidates: list[Candidate], unrecognised: int,
            archive: zipfile.ZipFile | None, link: bool, progress: ProgressCallback | None,
            cancel: CancelToken | None) -> ImportReport:
    already, pending = [], []
    for file in store.catalog.files:
        mine = [c for c in candidates if c.file.id == file.id]
        if not mine:
            continue
        if store.file_status(file).state is FileState.VERIFIED:
            already.append(file.id)
        else:
            pending.append(mine)
    if pending:
        store.ensure_writable()
        copying = archive is not None or not link
        if copying:
            check_free_space(store, sum(max((c.size for c in group if c.problem is None), default=0)
                                        for group in pending))
    total = sum(group[0].size for group in pending)
    installed, rejected = [], []
    done = 0
    for index, group in enumerate(pending):
        file = group[0].file
        for candidate in group:
            check_cancel(cancel)

            def emit(phase: str, got: int, _c: Candidate = candidate, _i: int = index,
                     _base: int = done) -> None:
                if progress is not None:
                    progress(StoreProgress(phase, _c.file.id, _c.where, _i, len(pending), got, _c.size,
                                           _base + got, total))

            reason = _install_candidate(store, source, archive, candidate, link, emit, cancel)
            if reason is None:
                installed.append(file.id)
                emit("installed", candidate.size)
                break
            rejected.append((candidate.where, reason))
        done += group[0].size
    missing = tuple(s.file.id for s in store.status().files if not s.usable)
    return ImportReport(tuple(installed), tuple(already), tuple(rejected), missing, unrecognised)


def _install_candidate(store: ModelStore, source: Path, archive: zipfile.ZipFile | None, candidate: Candidate,
                       link: bool, emit, cancel: CancelToken | None) -> str | None:
    """Place one candidate; None when installed, else why it was refused."""
    file = candidate.file
    target = store.path_of(file.id)
    part = store.part_path(file)
    if candidate.problem is not None:
        return candidate.problem
    if file.size is not None and candidate.size != file.size:
        return f"{candidate.size} bytes instead of {file.size}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        discard_partial(part)
        if archive is not None:
            _extract(archive, candidate, part, emit, cancel)
            checked = part
        else:
            origin = source / candidate.where
            if origin.resolve() == target.resolve():
                checked = target  # importing the store into itself: just check in place
            elif link:
                checked = origin
            else:
                _copy(origin, part, candidate.size, emit, cancel)
                checked = part
        emit("verifying", 0)
        verification = store.check_candidate(file, checked, cancel=cancel)
        if not verification.ok:
            discard_partial(part)
            return verification.reason
        if checked is part:
            os.replace(part, target)
        elif checked is not target:
            _link(checked, target, part)
    except BaseException as exc:
        discard_partial(part)
        if isinstance(exc, ModelImportError):
            return str(exc)
        if isinstance(exc, OSError):
            raise StoreAccessError(
                f"Cannot import {candidate.where} into {target}: {exc.strerror or exc}"
            ) from None
        raise
    store.accept(file, Verification(True, verification.sha256, verification.reason),
                 f"first import (from {source})")
    return None


def _copy(origin: Path, part: Path, expected: int, emit, cancel: CancelToken | None) -> None:
    """Copy a regular file, never more than the size it had when it was looked at (it may be swapped
    for a pipe or grow meanwhile: opened without blocking, checked again on the open handle)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(origin, flags)
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ModelImportError("not a regular file (a named pipe, device or socket)")
        with open(part, "wb") as out:
            _stream(src, out, expected, emit, cancel)
    shutil.copystat(origin, part, follow_symlinks=True)


def _extract(archive: zipfile.ZipFile, candidate: Candidate, part: Path, emit,
             cancel: CancelToken | None) -> None:
    info = next(i for i in archive.infolist() if i.filename.replace("\\", "/") == candidate.where)
    try:
        with archive.open(info) as src, open(part, "wb") as out:
            _stream(src, out, info.file_size, emit, cancel)
    except (zipfile.BadZipFile, RuntimeError, EOFError, zipfile.LargeZipFile) as exc:
        raise ModelImportError(f"{candidate.where} cannot be extracted from the zip: {exc}") from None


def _stream(src, out, limit: int | None, emit, cancel: CancelToken | None) -> None:
    done = 0
    while chunk := src.read(CHUNK):
        check_cancel(cancel)
        out.write(chunk)
        done += len(chunk)
        if limit is not None and done > limit:
            raise ModelImportError("larger than it was announced (a damaged or malicious zip, or a file that "
                                   "grows while it is copied)")
        emit("copying", done)
    out.flush()
    os.fsync(out.fileno())


def _link(origin: Path, target: Path, part: Path) -> None:
    """Hard link when on the same disk, else a symbolic link; made under the temp name, then renamed."""
    try:
        os.link(origin, part)
    except OSError:
        os.symlink(origin.resolve(), part)
    os.replace(part, target)
