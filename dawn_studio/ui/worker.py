"""Run engine work off the UI thread: a QThread per task, results and progress as signals.

The task is a plain callable ``task(report, cancel)``: ``report(obj)`` forwards any progress
object to the UI thread, ``cancel`` is a ``CancelToken`` the task checks at step boundaries.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from ..progress import Cancelled, CancelToken

log = logging.getLogger(__name__)

#: How long the UI thread waits for a task's thread to return after its final signal.
END_WAIT_MS = 10_000

Task = Callable[[Callable[[Any], None], CancelToken], Any]


class _TaskThread(QThread):
    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    was_cancelled = Signal()

    def __init__(self, task: Task, cancel: CancelToken, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.task = task
        self.cancel = cancel

    def run(self) -> None:
        try:
            result = self.task(self.progressed.emit, self.cancel)
        except Cancelled:
            self.was_cancelled.emit()
        except BaseException as exc:  # noqa: B036  every failure, SystemExit included, reaches the UI as a message
            details = traceback.format_exc()
            log.error("background task failed:\n%s", details)
            message = (str(exc) or type(exc).__name__ if isinstance(exc, Exception)
                       else f"The task stopped unexpectedly ({type(exc).__name__})")
            self.failed.emit(message, details)
        else:
            if self.cancel.cancelled:
                self.was_cancelled.emit()
            else:
                self.succeeded.emit(result)


class TaskRunner(QObject):
    """Runs one task at a time; ``busy`` while it runs; ``cancel()`` asks it to stop."""

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _TaskThread | None = None
        self._token: CancelToken | None = None
        self._winding_down: list[_TaskThread] = []

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, task: Task) -> None:
        if self.busy:
            raise RuntimeError("a task is already running")
        self._token = CancelToken()
        thread = _TaskThread(task, self._token)
        thread.progressed.connect(self.progressed)
        thread.succeeded.connect(lambda result: self._end(self.succeeded.emit, result))
        thread.failed.connect(lambda message, details: self._end(self.failed.emit, message, details))
        thread.was_cancelled.connect(lambda: self._end(self.cancelled.emit))
        self._thread = thread
        self.busyChanged.emit(True)
        thread.start()

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the task ends (for shutdown); True if it ended."""
        return self._thread.wait(ms) if self._thread is not None else True

    def _forget(self, thread: _TaskThread) -> None:
        if thread in self._winding_down:
            self._winding_down.remove(thread)
        thread.deleteLater()

    def _end(self, emit: Callable[..., None], *args: Any) -> None:
        """Clear the busy state first, so handlers of the final signal may start the next task."""
        thread, self._thread, self._token = self._thread, None, None
        if thread is not None:
            # run() has returned or is about to: its last act was this signal. The wait is bounded
            # so the UI thread can never hang on it; a thread still finishing is deleted when done.
            if thread.wait(END_WAIT_MS):
                thread.deleteLater()
            else:
                log.warning("a finished task's thread is still winding down; deleting it once it ends")
                self._winding_down.append(thread)
                thread.finished.connect(lambda t=thread: self._forget(t))
        self.busyChanged.emit(False)
        emit(*args)
