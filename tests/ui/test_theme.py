"""Both themes draw every state a creator must see: checked toggles and unchecked indicators."""

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QPushButton, QRadioButton, QWidget

from dawn_studio.ui.theme import Theme, apply_theme


def pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return data[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


@pytest.fixture(params=[Theme.DARK, Theme.LIGHT])
def theme(request, qapp):
    apply_theme(qapp, request.param)
    yield request.param
    apply_theme(qapp, Theme.DARK)


def test_checked_toggle_looks_different_from_unchecked(theme, qtbot):
    row = QWidget()
    layout = QHBoxLayout(row)
    on, off = QPushButton("Full photo"), QPushButton("Face crop")
    for button in (on, off):
        button.setCheckable(True)
        button.setFixedSize(110, 30)
        layout.addWidget(button)
    on.setChecked(True)
    qtbot.addWidget(row)
    row.show()
    QApplication.processEvents()
    difference = np.abs(pixels(on)[8:22, 8:100].mean(axis=(0, 1)) - pixels(off)[8:22, 8:100].mean(axis=(0, 1)))
    assert difference.max() > 40, f"{theme.value}: the active toggle must stand out ({difference})"


@pytest.mark.parametrize("kind", [QCheckBox, QRadioButton])
def test_unchecked_indicator_is_visible(theme, kind, qtbot):
    box = kind("")
    box.setFixedSize(24, 24)
    qtbot.addWidget(box)
    box.show()
    QApplication.processEvents()
    image = pixels(box)
    window = np.array(QApplication.palette().window().color().getRgb()[:3])
    contrast = np.abs(image - window).sum(axis=2).max()
    assert contrast > 150, f"{theme.value}: an unchecked {kind.__name__} is nearly invisible ({contrast})"


def test_a_disabled_slider_drops_the_accent_fill(theme, qtbot):
    """The face-enhancement strength is disabled while the switch is off: it must look off, not keep the
    accent colour of an active setting beside its unchecked switch."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QSlider

    def accent_pixels(enabled: bool) -> int:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, 100)
        slider.setValue(100)
        slider.setFixedSize(160, 24)
        slider.setEnabled(enabled)
        qtbot.addWidget(slider)
        slider.show()
        QApplication.processEvents()
        image = pixels(slider)
        return int((image.max(axis=2) - image.min(axis=2) > 60).sum())  # coloured (the accent), not grey

    assert accent_pixels(True) > 50, "the enabled slider shows its accent fill (the check itself works)"
    assert accent_pixels(False) == 0, f"{theme.value}: a disabled slider still shows the accent colour"
