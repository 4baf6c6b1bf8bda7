"""The app's icon and style sheets, from the package data (``dawn_studio/data``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

from ..data import data_path


def resource_path(*parts: str) -> Path:
    """Path of a resource file (``icons/…``, ``styles/…``); raises FileNotFoundError."""
    return data_path(*parts)


def app_icon() -> QIcon:
    try:
        return QIcon(str(resource_path("icons", "dawn-studio.svg")))
    except FileNotFoundError:
        return QIcon()
