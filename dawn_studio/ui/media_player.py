"""A QMediaPlayer whose transport calls let go of Python's GIL while Qt does the work.

PySide6 calls ``QMediaPlayer.stop()``, ``play()``, ``pause()`` and ``setPosition()`` with the GIL held
(only ``setSource`` is marked to release it). Stopping the FFmpeg backend waits for its threads; when one of
them is itself waiting for the GIL to reach Python (a thread state with no Python frame in the dumps), the
wait never ends: the studio hung on quit. ``QMetaObject.invokeMethod`` releases the GIL around the call, so
routing these slots through it calls the same C++ code without the deadlock.
"""

from __future__ import annotations

from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt
from PySide6.QtMultimedia import QMediaPlayer


class MediaPlayer(QMediaPlayer):
    """QMediaPlayer for the studio's previews: same API, transport calls made without holding the GIL."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)

    def _call_slot(self, name: str, *arguments: object) -> None:
        if not QMetaObject.invokeMethod(self, name, Qt.ConnectionType.DirectConnection, *arguments):
            raise RuntimeError(f"QMediaPlayer has no slot {name}")  # a Qt without it: a bug, not bad input

    def play(self) -> None:
        self._call_slot("play")

    def pause(self) -> None:
        self._call_slot("pause")

    def stop(self) -> None:
        self._call_slot("stop")

    def setPosition(self, position: int) -> None:  # noqa: N802 (Qt API)
        self._call_slot("setPosition", Q_ARG("qint64", int(position)))
