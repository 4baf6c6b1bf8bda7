"""Terminal helpers shared by the sub-commands: Ctrl-C as a clean cancel."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TypeVar

from ..progress import CancelToken

T = TypeVar("T")


def with_cancel_on_interrupt(work: Callable[[CancelToken], T]) -> T:
    """Run ``work(cancel)``; Ctrl-C cancels cleanly (nothing half-written is kept) instead of killing."""
    cancel = CancelToken()
    previous = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    except ValueError:  # not the main thread (tests calling in a thread): no handler needed
        previous = None
    try:
        return work(cancel)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
