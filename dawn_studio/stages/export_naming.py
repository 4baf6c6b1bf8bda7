"""Names for exports that never collide: ``talk.mp4`` taken → ``talk-2.mp4`` → ``talk-3.mp4``.

The app proposes a free name every time, so re-exporting never lands on the Replace question;
names already promised to exports waiting in the queue count as taken too.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

_NUMBERED = re.compile(r"^(?P<base>.+)-(?P<n>\d{1,3})$")  # not a date like talk-2024
MAX_TRIES = 10_000


def numbered(path: Path, number: int) -> Path:
    """``path`` with ``-number`` after its stem (``number`` 1 is the plain name)."""
    stem, suffix = _split(path)
    base = _base(stem)
    return path.with_name(base + suffix if number <= 1 else f"{base}-{number}{suffix}")


def free_name(path: str | Path, taken: Collection[str | Path] = ()) -> Path:
    """``path`` if nothing is there and no queued export wants it, else the first free numbered name
    (counting on from the number the name already carries)."""
    path = Path(path)
    promised = {str(Path(p)) for p in taken}

    def free(candidate: Path) -> bool:
        return not candidate.exists() and not candidate.is_symlink() and str(candidate) not in promised

    if free(path):
        return path
    stem, _suffix = _split(path)
    match = _NUMBERED.match(stem)
    start = int(match.group("n")) + 1 if match else 2
    for number in range(max(start, 2), start + MAX_TRIES):
        candidate = numbered(path, number)
        if free(candidate):
            return candidate
    raise FileExistsError(f"No free name like {path.name} in {path.parent}")


def _split(path: Path) -> tuple[str, str]:
    """Stem and suffix; a folder export (PNG frames) has no suffix."""
    return (path.stem, path.suffix) if path.suffix else (path.name, "")


def _base(stem: str) -> str:
    match = _NUMBERED.match(stem)
    return match.group("base") if match else stem
