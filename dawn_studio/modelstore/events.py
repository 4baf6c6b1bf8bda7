"""Progress reports of store operations (download, import, verify), plain data for any front end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StoreProgress:
    """The current file and the whole batch; sizes in bytes, None where not known yet."""

    phase: str  # "resolving", "downloading", "copying", "verifying", "installed"
    file_id: str
    file_path: str
    index: int  # 0-based position of the file in the batch
    count: int
    file_done: int
    file_total: int | None
    done: int
    total: int | None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressCallback = Callable[[StoreProgress], None]
