"""What the store knows about its files without re-reading them: verification results keyed by
size + modification time (so start-up never hashes gigabytes), and SHA-256 values recorded the first
time a file was verified when the publisher gives none."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEDGER_NAME = ".dawn-studio-ledger.json"


@dataclass(frozen=True)
class Verification:
    ok: bool
    sha256: str | None
    reason: str  # why it failed, or how it was checked


@dataclass(frozen=True)
class RecordedHash:
    sha256: str
    size: int
    how: str  # where the value comes from ("hub SHA-256 during download", "first import", ...)
    recorded_at: str


class Ledger:
    """A small JSON file in the store root; every change is written atomically."""

    def __init__(self, root: Path) -> None:
        self.path = root / LEDGER_NAME
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._data = self._load()

    def _file_version(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _load(self) -> dict[str, dict[str, Any]]:
        """The ledger's content; what cannot be used is left out and said in ``ignored`` (the files
        it described are then simply checked again)."""
        self._seen = self._file_version()
        self.ignored: list[str] = []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError, RecursionError) as exc:
            self.ignored.append(f"the whole file ({type(exc).__name__}: {str(exc)[:80]})")
            data = {}
        if not isinstance(data, dict):
            self.ignored.append(f"the whole file (a JSON {type(data).__name__}, not an object)")
            data = {}
        loaded: dict[str, dict[str, Any]] = {}
        for section in ("verified", "recorded"):
            value = data.get(section) or {}
            if not isinstance(value, dict):
                self.ignored.append(f"its '{section}' section (not an object)")
                value = {}
            entries = {k: v for k, v in value.items() if isinstance(v, dict)}
            if len(entries) != len(value):
                self.ignored.append(f"{len(value) - len(entries)} malformed '{section}' entr"
                                    f"{'y' if len(value) - len(entries) == 1 else 'ies'}")
            loaded[section] = entries
        return loaded

    def reload(self) -> None:
        with self._lock:
            self._data = self._load()

    def refresh(self) -> None:
        """Re-read the file if another process (the command line, the app) changed it since."""
        with self._lock:
            if self._file_version() != self._seen:
                self._data = self._load()

    def _save(self) -> None:
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
            self._seen = self._file_version()
        except OSError:
            tmp.unlink(missing_ok=True)  # a read-only store still works; results are just not cached
            raise

    # verification results -------------------------------------------------------------
    def verification(self, rel_path: str, stat: os.stat_result) -> Verification | None:
        """The stored result if the file is unchanged since it was verified (same size and mtime)."""
        with self._lock:
            entry = self._data["verified"].get(rel_path)
        if not isinstance(entry, dict):
            return None
        if entry.get("size") != stat.st_size or entry.get("mtime_ns") != stat.st_mtime_ns:
            return None
        if not isinstance(entry.get("sha256"), (str, type(None))):
            return None
        return Verification(bool(entry.get("ok")), entry.get("sha256"), str(entry.get("reason", "")))

    def remember(self, rel_path: str, stat: os.stat_result, result: Verification) -> None:
        with self._lock:
            self._data["verified"][rel_path] = {
                "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ok": result.ok,
                "sha256": result.sha256, "reason": result.reason,
            }
            self._save_quietly()

    def forget(self, rel_path: str) -> None:
        with self._lock:
            if self._data["verified"].pop(rel_path, None) is not None:
                self._save_quietly()

    # hashes recorded on first verification --------------------------------------------
    def recorded(self, rel_path: str) -> RecordedHash | None:
        with self._lock:
            entry = self._data["recorded"].get(rel_path)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            return None
        size = entry.get("size", -1)
        if not isinstance(size, int) or isinstance(size, bool):
            return None
        return RecordedHash(entry["sha256"], size, str(entry.get("how", "")),
                            str(entry.get("recorded_at", "")))

    def record(self, rel_path: str, sha256: str, size: int, how: str) -> None:
        with self._lock:
            self._data["recorded"][rel_path] = {
                "sha256": sha256, "size": size, "how": how,
                "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            self._save_quietly()

    def _save_quietly(self) -> None:
        try:
            self._save()
        except OSError:
            pass
