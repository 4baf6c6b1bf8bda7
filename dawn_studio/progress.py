"""Cancellation and progress primitives shared by every layer (no dependencies, no Qt).

Long operations take ``cancel: CancelToken | None`` and call ``cancel.check()`` at step
boundaries; a cancelled operation raises ``Cancelled`` and cleans up what it started.
``progress(done, total)`` callbacks report steps of the operation at hand.
``observe(name, value)`` callbacks receive named intermediate results (the hand-overs between
stages), for comparing a run with a recorded one; without one nothing extra is computed or kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

StepCallback = Callable[[int, int], None]
HandOverObserver = Callable[[str, Any], None]


class Cancelled(Exception):
    """The user cancelled the operation; nothing it was producing was kept."""

    def __init__(self, message: str = "Cancelled") -> None:
        super().__init__(message)


class CancelToken:
    """A thread-safe flag: set by the UI or a signal handler, checked by the worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if cancellation was requested."""
        if self._event.is_set():
            raise Cancelled()

    def __call__(self) -> bool:
        """Tokens also work where a plain ``() -> bool`` 'should stop?' callable is expected."""
        return self._event.is_set()


def check_cancel(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()


def report(progress: StepCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
