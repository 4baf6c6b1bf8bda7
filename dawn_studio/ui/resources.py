"""Locate the app's resource files (icons, style sheets) in a checkout or an installed copy."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "resources",  # source checkout / editable install
    Path(__file__).resolve().parent / "resources",  # bundled next to the package (packaging/)
)


def resource_path(*parts: str) -> Path:
    """Path of a resource file; raises FileNotFoundError naming where it looked."""
    for root in _CANDIDATES:
        path = root.joinpath(*parts)
        if path.exists():
            return path
    looked = ", ".join(str(root) for root in _CANDIDATES)
    raise FileNotFoundError(f"resource {'/'.join(parts)} not found (looked in {looked})")


def app_icon() -> QIcon:
    try:
        return QIcon(str(resource_path("icons", "dawn-studio.svg")))
    except FileNotFoundError:
        return QIcon()
