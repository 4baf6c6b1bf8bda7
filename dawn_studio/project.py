"""A studio session as a project file: the job plus the takes it keeps (no Qt).

The project document is the job's (see :meth:`Job.to_dict`) with a ``studio`` section added: the ids of
its takes in the take store, the take on screen, and the view. ``Job.load`` ignores that section, so the
command line still renders a studio project, and an older DAWN Studio still opens it (without the takes).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.job import MAX_PROJECT_BYTES, Job, JobError


@dataclass(frozen=True)
class Session:
    """What a project holds beyond the job: its takes (ids, oldest first) and the one selected."""

    takes: tuple[str, ...] = ()
    current_take: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"takes": list(self.takes), "current_take": self.current_take, **self.extra}

    @classmethod
    def from_dict(cls, data: Any) -> Session:
        """Tolerant: a damaged section gives an empty session, never a failure to open the project."""
        if not isinstance(data, dict):
            return cls()
        listed = data.get("takes")
        takes = tuple(t for t in listed if isinstance(t, str)) if isinstance(listed, list) else ()
        current = data.get("current_take")
        extra = {k: v for k, v in data.items() if k not in ("takes", "current_take")}
        return cls(takes, current if isinstance(current, str) and current in takes else None, extra)


def save_project(path: str | os.PathLike[str], job: Job, session: Session) -> Path:
    """Write the project atomically (temp file, then rename)."""
    target = Path(path)
    document = job.to_dict(relative_to=target.parent.resolve())
    document["studio"] = session.to_dict()
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def load_project(path: str | os.PathLike[str]) -> tuple[Job, Session]:
    """The job and session of a project file; ``JobError`` with a plain message when it cannot be used."""
    job = Job.load(path)  # every check of the file and the job, with its messages
    try:
        source = Path(path)
        if source.stat().st_size > MAX_PROJECT_BYTES:
            return job, Session()
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise JobError(f"Cannot read the project file {Path(path).name}: {exc}") from None
    return job, Session.from_dict(document.get("studio") if isinstance(document, dict) else None)


def referenced_takes(paths: list[str]) -> set[str]:
    """Take ids the given project files refer to (unreadable files refer to none)."""
    found: set[str] = set()
    for path in paths:
        try:
            found.update(load_project(path)[1].takes)
        except (JobError, OSError):
            continue
    return found
