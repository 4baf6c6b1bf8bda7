"""Content-addressed memo of per-input results, so moving a slider re-runs only what it affects.

Keys are built from file *contents* (SHA-256, itself memoised by path, size and mtime) and
the settings a stage depends on; values are kept in memory, least recently used dropped first.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGEST_LOCK = threading.Lock()


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes; re-hashed only when its size or modification time changes."""
    p = Path(path).resolve()
    stat = p.stat()
    key = (str(p), stat.st_size, stat.st_mtime_ns)
    with _DIGEST_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    digest = hashlib.sha256()
    with p.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _DIGEST_LOCK:
        _DIGESTS[key] = value
    return value


class ResultCache:
    """A small thread-safe LRU of stage results with hit/miss counters per stage.

    ``stage_limits`` caps the entries of single stages whose results are large (rendered clips):
    their least recently used entries go first, the other stages' entries stay.
    """

    def __init__(self, max_entries: int = 32, stage_limits: Mapping[str, int] | None = None) -> None:
        self.max_entries = max_entries
        self.stage_limits = dict(stage_limits or {})
        self._items: OrderedDict[tuple[str, Hashable], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.misses: dict[str, int] = {}

    def get_or_compute(self, stage: str, key: Hashable, compute: Callable[[], T]) -> tuple[T, bool]:
        """The cached value (and True), or compute, store and return it (and False)."""
        full_key = (stage, key)
        with self._lock:
            if full_key in self._items:
                self._items.move_to_end(full_key)
                self.hits[stage] = self.hits.get(stage, 0) + 1
                return self._items[full_key], True
        value = compute()
        with self._lock:
            self.misses[stage] = self.misses.get(stage, 0) + 1
            self._items[full_key] = value
            self._items.move_to_end(full_key)
            limit = self.stage_limits.get(stage)
            if limit is not None:
                same = [k for k in self._items if k[0] == stage]
                for old in same[:max(0, len(same) - limit)]:
                    del self._items[old]
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value, False

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
