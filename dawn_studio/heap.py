"""Reuse of freed memory inside the process: glibc malloc settings for the diffusion pass (Linux).

A 200-frame denoiser step at 128² allocates and frees about 20 GB of activations. By default glibc
serves every block above its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and unmaps it
on free, so the next step faults the same pages in again, zero-filled by the kernel: 5.5 million
page faults and 11 s of kernel time in a 13 s step on a 2-core machine. Keeping freed blocks in the
heap makes that step about 2× faster, but the heap fragments and the peak resident memory grows by
about half (torch allocates with ``posix_memalign``, which in glibc before 2.38 cannot reuse a freed
block of exactly the requested size), so the engine asks for it only when the larger peak fits
(:mod:`dawn_studio.engine.memory`) and gives the heap back to the system after the job.

Elsewhere (macOS, Windows, musl) every function here does nothing and says so by returning False.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Iterator
from functools import cache

log = logging.getLogger(__name__)

# mallopt() parameters, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

#: Blocks up to this size come from the heap while freed memory is kept (larger ones, over 1000
#: frames at 256², are still mapped and unmapped individually).
KEPT_MMAP_THRESHOLD = 2**30
#: Never shrink the heap on free while freed memory is kept (the largest value mallopt takes).
KEPT_TRIM_THRESHOLD = 2**31 - 1
#: Where glibc's own adaptive thresholds settle for large blocks: the default behaviour.
DEFAULT_MMAP_THRESHOLD = 32 * 2**20
DEFAULT_TRIM_THRESHOLD = 64 * 2**20

_lock = threading.Lock()
_holders = 0  # active freed_memory_kept() contexts


@cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded into the process (Windows: TypeError)
    except (OSError, TypeError):
        return None
    if not all(hasattr(libc, name) for name in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc


def is_supported() -> bool:
    """True where these settings take effect (glibc)."""
    return _glibc() is not None


def share_main_arena() -> bool:
    """Make every thread allocate from the main heap. Call at start-up, before threads exist.

    Threads created later would otherwise get their own arenas, made of 64 MiB heaps that cannot
    keep larger blocks; generation runs on a worker thread in the GUI.
    """
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, 1))


def keep_freed_memory(keep: bool) -> bool:
    """Keep freed large blocks in the heap for reuse (``keep``) or return them to the system on free."""
    libc = _glibc()
    if libc is None:
        return False
    mmap_threshold, trim_threshold = (
        (KEPT_MMAP_THRESHOLD, KEPT_TRIM_THRESHOLD) if keep else (DEFAULT_MMAP_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
    )
    return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) and libc.mallopt(M_TRIM_THRESHOLD, trim_threshold))


def return_freed_memory() -> bool:
    """Give the free parts of the heap back to the system (``malloc_trim``)."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) >= 0)


@contextlib.contextmanager
def freed_memory_kept(keep: bool = True) -> Iterator[bool]:
    """Inside: freed blocks are reused when ``keep``; after: default behaviour, heap returned.

    Yields whether the setting took effect. Nested or concurrent uses share one setting, which
    lasts until the outermost one ends.
    """
    global _holders
    if not keep:
        yield False
        return
    with _lock:
        _holders += 1
        applied = keep_freed_memory(True)
    if applied:
        log.debug("freed memory is kept in the heap for reuse")
    try:
        yield applied
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and applied:
                keep_freed_memory(False)
                return_freed_memory()

