"""Undo/Redo of the creator's setup: controls, portrait and face, speech, trim (QUndoStack).

The studio records the value of each part of the setup (:class:`SetupHistory`). A change made in a panel
is pushed as a command holding the value before and after; the change has already happened, so the
command's first ``redo`` does nothing. Undo and Redo show the recorded value again through the studio's
``apply`` callback and record it first, so the panels' own signals (some arrive later, after a file is
read again) find nothing new to push. Quick repeats of one change (a slider drag, typing a number)
merge into one step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

#: Changes of the same thing closer together than this are one undo step (a drag, a typed number).
MERGE_SECONDS = 1.0
KIND_IDS = {"controls": 1, "trim": 2, "portrait": 3, "audio": 4}
KIND_TEXT = {"controls": "Change Settings", "trim": "Trim", "portrait": "Change Portrait", "audio": "Change Speech"}

Apply = Callable[[str, Any], None]


def _changed_keys(before: Any, after: Any) -> frozenset[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return frozenset(k for k in after if before.get(k) != after.get(k))
    return frozenset()


class SetupCommand(QUndoCommand):
    """One change of one part of the setup (``kind``) from ``before`` to ``after``."""

    def __init__(self, kind: str, before: Any, after: Any, apply: Apply, clock: Callable[[], float]) -> None:
        super().__init__(KIND_TEXT.get(kind, "Change"))
        self.kind, self.before, self.after = kind, before, after
        self.apply = apply
        self.clock = clock
        self.when = clock()
        self.keys = _changed_keys(before, after)
        self._done = True  # pushed after the change happened

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.apply(self.kind, self.after)

    def undo(self) -> None:
        self.apply(self.kind, self.before)

    def id(self) -> int:
        return KIND_IDS.get(self.kind, -1)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, SetupCommand) or other.kind != self.kind:
            return False
        if other.when - self.when > MERGE_SECONDS or other.keys != self.keys:
            return False
        self.after, self.when = other.after, other.when
        if self.after == self.before:
            self.setObsolete(True)
        return True


class SetupHistory:
    """The recorded setup and its undo stack. ``apply(kind, value)`` shows a value in the panels."""

    def __init__(self, stack: QUndoStack, apply: Apply, clock: Callable[[], float] = time.monotonic) -> None:
        self.stack = stack
        self.apply_to_panels = apply
        self.clock = clock
        self.recorded: dict[str, Any] = {}
        self.applying = False

    def record(self, kind: str, value: Any) -> None:
        """Take ``value`` as the current one without an undo step (a restored session, a drawn seed)."""
        self.recorded[kind] = value

    def changed(self, kind: str, value: Any) -> bool:
        """A panel shows ``value`` now: push an undo step when it differs from the recorded one.
        The first value of a part (nothing recorded) is only recorded: there is nothing to go back to."""
        if self.applying or self.recorded.get(kind) == value:
            return False
        if kind not in self.recorded or self.recorded[kind] is None:
            self.recorded[kind] = value
            return False
        before, self.recorded[kind] = self.recorded[kind], value
        self.stack.push(SetupCommand(kind, before, value, self._apply, self.clock))
        return True

    def _apply(self, kind: str, value: Any) -> None:
        self.recorded[kind] = value
        self.applying = True
        try:
            self.apply_to_panels(kind, value)
        finally:
            self.applying = False

    def clear(self) -> None:
        self.stack.clear()
        self.recorded.clear()
