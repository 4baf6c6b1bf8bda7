"""Streaming checksums of model files (gigabytes: read in chunks, report progress, stop on cancel)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from ..progress import CancelToken, check_cancel

CHUNK = 1 << 20
ByteProgress = Callable[[int], None]  # bytes read so far


def file_digests(path: Path, *, git_blob: bool = False, progress: ByteProgress | None = None,
                 cancel: CancelToken | None = None) -> tuple[str, str | None]:
    """SHA-256 of the file and, when asked, its git blob id (SHA-1 of ``blob <size>\\0`` + content),
    which is what the Hugging Face hub gives as the ETag of files not stored with LFS."""
    sha256 = hashlib.sha256()
    sha1 = None
    if git_blob:
        sha1 = hashlib.sha1(usedforsecurity=False)
        sha1.update(b"blob %d\0" % path.stat().st_size)
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            check_cancel(cancel)
            sha256.update(chunk)
            if sha1 is not None:
                sha1.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
    return sha256.hexdigest(), sha1.hexdigest() if sha1 is not None else None


def sha256_of(path: Path, *, progress: ByteProgress | None = None, cancel: CancelToken | None = None) -> str:
    return file_digests(path, progress=progress, cancel=cancel)[0]
