"""The face-enhancement control: a switch and a strength, usable only when the GFPGAN weights are installed.

The switch is off by default: restoring every frame at 512² costs seconds per frame on a CPU, so a
creator turns it on knowingly. While the weights are missing the switch shows off and disabled, with
a link to the model manager in place of the strength (one row either way: the panel must fit 640 px
high screens); the creator's own choice is kept and comes back once they are installed.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QWidget

DEFAULT_STRENGTH = 1.0  # as `render --enhance` without a value
INSTALL_HINT = "Install GFPGAN v1.4 in Models…"
SWITCH_TIP = (
    "Restore the face with GFPGAN v1.4 after generating: sharper eyes, teeth and skin in the video. The "
    "face is restored at 512 × 512 before it goes back into the photo. Adds time to every frame "
    "(seconds per frame without a GPU)"
)
STRENGTH_TIP = (
    "How much of the restored face is used: 100 % is fully restored, lower values blend it with the "
    "generated face. Changing only this after a generation does not generate again"
)


class EnhanceControls(QWidget):
    """``changed`` fires on every change the creator makes; :meth:`value` is the job's ``enhance``."""

    changed = Signal()
    installRequested = Signal()  # the creator followed the "Install … in Models…" link

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._available = False
        self._unavailable_reason = "The GFPGAN v1.4 weights are not installed"
        self._wanted_on = False
        self._strength = DEFAULT_STRENGTH

        self.switch = QCheckBox("Face en&hancement")
        self.switch.setAccessibleName("Face enhancement")
        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setSingleStep(5)
        self.strength_slider.setPageStep(25)
        self.strength_slider.setAccessibleName("Face enhancement strength")
        self.strength_slider.setToolTip(STRENGTH_TIP)
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(self.strength_label.fontMetrics().horizontalAdvance("100 %") + 4)
        self.strength_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.strength_label.setToolTip(STRENGTH_TIP)
        self.hint = QLabel(f'<a href="models">{INSTALL_HINT}</a>')
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                          | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.switch)
        row.addWidget(self.strength_slider, 1)
        row.addWidget(self.strength_label)
        row.addWidget(self.hint, 1)

        self.switch.toggled.connect(self._switched)
        self.strength_slider.valueChanged.connect(self._moved)
        self.hint.linkActivated.connect(lambda _link: self.installRequested.emit())
        self._show()

    # reading -------------------------------------------------------------------------------
    def value(self) -> float | None:
        """The job's ``enhance``: the strength when switched on and installed, else None (off)."""
        return self._strength if self._available and self._wanted_on else None

    def wanted(self) -> bool:
        """The creator's choice, kept while the weights are missing."""
        return self._wanted_on

    def strength(self) -> float:
        return self._strength

    def available(self) -> bool:
        return self._available

    # setting (no ``changed``) -------------------------------------------------------------
    def set_wanted(self, on: bool, strength: float | None = None) -> None:
        self._wanted_on = bool(on)
        if strength is not None:
            self._strength = min(max(float(strength), 0.0), 1.0)
        self._show()

    def load(self, enhance: float | None) -> None:
        """Show a job's setting: None or 0 is off (the strength shown stays as it was)."""
        self.set_wanted(bool(enhance), enhance if enhance else None)

    def set_available(self, available: bool, reason: str = "") -> None:
        """Enable the switch when the weights are installed; else show why not and how to get them."""
        self._available = bool(available)
        if not available:
            self._unavailable_reason = reason or "The GFPGAN v1.4 weights are not installed"
        self._show()

    # reactions -----------------------------------------------------------------------------
    def _switched(self, on: bool) -> None:
        if not self._available:
            return
        self._wanted_on = on
        self._show()
        self.changed.emit()

    def _moved(self, position: int) -> None:
        self._strength = position / 100
        self._show()
        self.changed.emit()

    def _show(self) -> None:
        on = self._available and self._wanted_on
        with QSignalBlocker(self.switch):
            self.switch.setChecked(on)
        with QSignalBlocker(self.strength_slider):
            self.strength_slider.setValue(round(self._strength * 100))
        self.switch.setEnabled(self._available)
        self.strength_slider.setEnabled(on)
        self.strength_label.setEnabled(on)
        self.strength_label.setText(f"{round(self._strength * 100)} %")
        self.strength_slider.setAccessibleDescription(self.strength_label.text())
        self.hint.setVisible(not self._available)
        self.strength_slider.setVisible(self._available)
        self.strength_label.setVisible(self._available)
        if self._available:
            self.switch.setToolTip(SWITCH_TIP)
        else:
            why = f"{self._unavailable_reason} — open Models ▸ Manage Models… to install GFPGAN v1.4"
            self.switch.setToolTip(why)
            self.hint.setToolTip(why)
