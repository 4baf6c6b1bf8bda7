"""Download missing model files: resolve every source first (fails fast when offline), check free
space, fetch each file into a temp name, verify it, then rename it into place atomically."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

from ..progress import CancelToken, check_cancel
from .catalog import CatalogFile
from .errors import DiskSpaceError, StoreAccessError
from .events import ProgressCallback, StoreProgress
from .sources import RemoteFile, apply_overrides, load_overrides, resolve
from .store import ModelStore, human_size
from .transfer import discard_partial, fetch, resumable_bytes

SPACE_MARGIN = 64 << 20  # keep this much free beyond the files themselves


@dataclass(frozen=True)
class DownloadResult:
    installed: tuple[str, ...]
    already_present: tuple[str, ...]


def files_to_download(store: ModelStore, names: list[str] | tuple[str, ...] | None
                      ) -> tuple[list[CatalogFile], list[CatalogFile]]:
    """(files to fetch, files already usable) for file/feature names; no names: the whole catalog."""
    files = store.catalog.expand(list(names)) if names else store.catalog.files
    todo, present = [], []
    for file in files:
        (present if store.file_status(file).usable else todo).append(file)
    return todo, present


def download(store: ModelStore, names: list[str] | tuple[str, ...] | None = None, *,
             progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
             overrides: dict[str, Any] | None = None, timeout: float = 10.0) -> DownloadResult:
    todo, present = files_to_download(store, names)
    if not todo:
        return DownloadResult((), tuple(f.id for f in present))
    store.ensure_writable()
    catalog = apply_overrides(store.catalog, load_overrides(store.root) if overrides is None else overrides)
    count = len(todo)

    def emit(phase: str, index: int, file: CatalogFile, file_done: int, file_total: int | None,
             done: int, total: int | None) -> None:
        if progress is not None:
            progress(StoreProgress(phase, file.id, file.path, index, count, file_done, file_total, done,
                                   total))

    remotes: list[RemoteFile] = []
    for index, file in enumerate(todo):
        check_cancel(cancel)
        emit("resolving", index, file, 0, file.size, 0, None)
        remotes.append(resolve(catalog, catalog.file(file.id), timeout=timeout))
    pairs = list(zip(todo, remotes, strict=True))
    sizes = [remote.size if remote.size is not None else file.size for file, remote in pairs]
    total = sum(sizes) if all(s is not None for s in sizes) else None
    kept = [resumable_bytes(store.part_path(file), remote) for file, remote in pairs]
    check_free_space(store, sum((s or 0) - k for s, k in zip(sizes, kept, strict=True)))

    installed = []
    finished = 0  # bytes of completed files
    for index, (file, remote) in enumerate(pairs):
        part = store.part_path(file)

        def on_bytes(got: int, size: int | None, _i: int = index, _f: CatalogFile = file,
                     _base: int = finished) -> None:
            emit("downloading", _i, _f, got, size, _base + got, total)

        fetch(remote, part, on_bytes=on_bytes, cancel=cancel, timeout=timeout)
        size = part.stat().st_size

        def on_hashed(got: int, _i: int = index, _f: CatalogFile = file, _size: int = size,
                      _done: int = finished + size) -> None:
            emit("verifying", _i, _f, got, _size, _done, total)

        on_hashed(0)
        try:
            verification = store.check_candidate(file, part, hub_sha256=remote.sha256,
                                                 hub_git_blob=remote.git_blob, progress=on_hashed,
                                                 cancel=cancel)
        except BaseException:
            discard_partial(part)  # cancelled or unreadable while checking: nothing half-checked stays
            raise
        if not verification.ok:
            discard_partial(part)
            raise store.refuse(file, verification)
        target = store.path_of(file.id)
        try:
            os.replace(part, target)
        except OSError as exc:
            raise StoreAccessError(f"Cannot put {target} in place: {exc.strerror or exc}") from None
        discard_partial(part)
        store.accept(file, verification, f"first verified download from {remote.label}")
        finished += size
        installed.append(file.id)
        emit("installed", index, file, size, size, finished, total)
    return DownloadResult(tuple(installed), tuple(f.id for f in present))


def check_free_space(store: ModelStore, needed: int) -> None:
    try:
        free = shutil.disk_usage(store.root).free
    except OSError as exc:
        raise StoreAccessError(f"Cannot check free space in {store.root}: {exc.strerror or exc}") from None
    if needed + SPACE_MARGIN > free:
        raise DiskSpaceError(
            f"The download needs {human_size(needed)} but only {human_size(free)} is free in {store.root}. "
            "Free some space or choose another model folder (Models ▸ Use this folder…, or "
            "$DAWN_STUDIO_MODELS)."
        )
