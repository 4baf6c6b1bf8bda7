"""Persistent user settings (QSettings) with typed accessors, so keys live in one place."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from .. import APP_ID, APP_NAME
from .theme import Theme

MAX_RECENT = 10


class AppSettings:
    """Typed view over QSettings; pass a QSettings to use another store (tests do)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, APP_NAME, APP_ID,
        )

    # window ------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_geometry(self, data: QByteArray) -> None:
        self.store.setValue("window/geometry", data)

    def window_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_state(self, data: QByteArray) -> None:
        self.store.setValue("window/state", data)

    # theme -------------------------------------------------------------------------
    def theme(self) -> Theme:
        try:
            return Theme(str(self.store.value("ui/theme", Theme.SYSTEM.value)))
        except ValueError:
            return Theme.SYSTEM

    def set_theme(self, theme: Theme) -> None:
        self.store.setValue("ui/theme", theme.value)

    # recent files ------------------------------------------------------------------
    def recent(self, kind: str) -> list[str]:
        value = self.store.value(f"recent/{kind}", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, kind: str, path: str) -> list[str]:
        items = [path] + [p for p in self.recent(kind) if p != path]
        items = items[:MAX_RECENT]
        self.store.setValue(f"recent/{kind}", items)
        return items

    def clear_recent(self, kind: str) -> None:
        self.store.remove(f"recent/{kind}")

    # takes -------------------------------------------------------------------------
    def takes_limit_bytes(self, default: int) -> int:
        """Space the kept takes may use (``takes/limit_mb``; at least 100 MB), else ``default``."""
        try:
            megabytes = int(self.store.value("takes/limit_mb", 0))
        except (TypeError, ValueError):
            megabytes = 0
        return max(100, megabytes) * 1024**2 if megabytes > 0 else default

    def sync(self) -> None:
        self.store.sync()
