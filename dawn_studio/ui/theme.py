"""Dark and light themes on Qt's Fusion style; 'system' follows the desktop's colour scheme."""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from .resources import resource_path


class Theme(str, Enum):
    SYSTEM = "system"
    DARK = "dark"
    LIGHT = "light"


_DARK = {
    QPalette.ColorRole.Window: "#1f2126", QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#17181c", QPalette.ColorRole.AlternateBase: "#24262c",
    QPalette.ColorRole.ToolTipBase: "#2c2f36", QPalette.ColorRole.ToolTipText: "#f0f0f0",
    QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#2a2d33",
    QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#d0567c", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#f6a23c", QPalette.ColorRole.Mid: "#4a4d55",
    QPalette.ColorRole.PlaceholderText: "#8a8d94",
}
_LIGHT = {
    QPalette.ColorRole.Window: "#f3f3f5", QPalette.ColorRole.WindowText: "#1d1d20",
    QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#ececf0",
    QPalette.ColorRole.ToolTipBase: "#ffffe6", QPalette.ColorRole.ToolTipText: "#1d1d20",
    QPalette.ColorRole.Text: "#1d1d20", QPalette.ColorRole.Button: "#e8e8ec",
    QPalette.ColorRole.ButtonText: "#1d1d20", QPalette.ColorRole.BrightText: "#c62828",
    QPalette.ColorRole.Highlight: "#c2456b", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#b4531a", QPalette.ColorRole.Mid: "#b9b9c0",
    QPalette.ColorRole.PlaceholderText: "#7d7d85",
}


def _state_rules(used: Theme) -> str:
    """Checked toggles and check/radio indicators drawn in the theme's colours: Fusion derives their
    outlines from the window colour, which leaves them nearly invisible on a dark window."""
    colours = _DARK if used is Theme.DARK else _LIGHT
    accent = colours[QPalette.ColorRole.Highlight]
    accent_text = colours[QPalette.ColorRole.HighlightedText]
    base = colours[QPalette.ColorRole.Base]
    outline = colours[QPalette.ColorRole.PlaceholderText]
    faint = colours[QPalette.ColorRole.Mid]
    return f"""
QPushButton:checked {{ background: {accent}; color: {accent_text}; border: 1px solid {accent};
    border-radius: 3px; padding: 4px 10px; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 13px; height: 13px; background: {base};
    border: 1px solid {outline}; }}
QCheckBox::indicator {{ border-radius: 3px; }}
QRadioButton::indicator {{ border-radius: 7px; }}
QCheckBox::indicator:checked, QRadioButton::indicator:checked {{ background: {accent}; border-color: {accent}; }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: {faint}; }}
"""


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def effective_theme(choice: Theme) -> Theme:
    """Resolve 'system' to dark or light."""
    if choice is Theme.SYSTEM:
        return Theme.DARK if system_prefers_dark() else Theme.LIGHT
    return choice


def apply_theme(app: QApplication, choice: Theme) -> Theme:
    """Apply the theme to the whole application; returns the theme actually used."""
    used = effective_theme(choice)
    if app.style().name().lower() != "fusion":  # re-setting it re-polishes every widget
        app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (_DARK if used is Theme.DARK else _LIGHT).items():
        palette.setColor(role, QColor(colour))
    disabled = QColor("#6b6e75") if used is Theme.DARK else QColor("#a0a0a8")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    # A switched-off slider (face-enhancement strength while enhancement is off) must not keep the accent
    # fill: it read as an active setting next to its unchecked switch.
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight,
                     QColor(_DARK[QPalette.ColorRole.Mid] if used is Theme.DARK else _LIGHT[QPalette.ColorRole.Mid]))
    app.setPalette(palette)
    try:
        common = resource_path("styles", "common.qss").read_text(encoding="utf-8")
    except FileNotFoundError:
        common = ""
    app.setStyleSheet(common + _state_rules(used))
    app.setProperty("dawnTheme", used.value)
    return used
