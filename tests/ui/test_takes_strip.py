"""The strip of takes: click watches one, Ctrl+click compares two, a third drops the oldest choice."""

from pathlib import Path

from PySide6.QtCore import Qt

from dawn_studio.engine.job import Job
from dawn_studio.takes import Take
from dawn_studio.ui.takes_strip import TakesStrip


def takes(folder: Path, count: int) -> list[Take]:
    job = Job(portrait=str(folder / "p.jpeg"), audio=str(folder / "a.wav"))
    return [Take(f"t{i}", f"Take {i + 1}", float(i), job, 50, folder / f"t{i}") for i in range(count)]


def click(qtbot, strip, index, modifier=Qt.KeyboardModifier.NoModifier):
    rect = strip.list.visualItemRect(strip.list.item(index))
    qtbot.mouseClick(strip.list.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_click_ctrl_click_and_a_third_choice(qtbot, tmp_path):
    strip = TakesStrip()
    qtbot.addWidget(strip)
    strip.resize(700, 160)
    strip.show()
    assert not strip.list.isVisible() and "every Generate" in strip.hint.text()
    strip.set_takes(takes(tmp_path, 3))
    assert strip.list.isVisible()
    seen = []
    strip.selectionChanged.connect(seen.append)
    click(qtbot, strip, 0)
    assert seen[-1] == ["t0"] and strip.rename_button.isEnabled()
    click(qtbot, strip, 1, Qt.KeyboardModifier.ControlModifier)
    assert seen[-1] == ["t0", "t1"] and not strip.rename_button.isEnabled()
    click(qtbot, strip, 2, Qt.KeyboardModifier.ControlModifier)
    assert seen[-1] == ["t1", "t2"], "a third take replaces the oldest of the two"
    assert {i.data(Qt.ItemDataRole.UserRole) for i in strip.list.selectedItems()} == {"t1", "t2"}
    click(qtbot, strip, 0)
    assert seen[-1] == ["t0"]

    deleted, exported = [], []
    strip.deleteRequested.connect(deleted.append)
    strip.exportRequested.connect(exported.append)
    strip.export_button.click()
    strip.list.setFocus()
    qtbot.keyClick(strip.list, Qt.Key.Key_Delete)
    assert exported == ["t0"] and deleted == [["t0"]]


def test_the_empty_strip_reads_from_the_left_and_a_full_one_gives_the_thumbnails_the_room(qtbot, tmp_path):
    """Seen on the screenshots: with no takes the hint floated in the middle of the window; with takes the
    row of four buttons left a 474-px strip room for one and a half thumbnails."""
    strip = TakesStrip()
    qtbot.addWidget(strip)
    strip.resize(474, 110)
    strip.show()
    qtbot.waitExposed(strip)
    assert strip.hint.mapTo(strip, strip.hint.rect().topLeft()).x() <= 10
    # ... and on one line (it wrapped to three in a narrow column, the rest of the strip empty).
    assert strip.hint.height() < 2 * strip.hint.fontMetrics().lineSpacing()
    assert strip.hint.width() >= strip.hint.fontMetrics().horizontalAdvance(strip.hint.text())
    strip.set_takes(takes(tmp_path, 3))
    qtbot.wait(10)
    item_width = strip.list.item(0).sizeHint().width()
    assert strip.list.viewport().width() >= 2 * item_width
    for button in (strip.use_button, strip.rename_button, strip.delete_button, strip.export_button):
        assert button.width() >= button.fontMetrics().horizontalAdvance(button.text()) + 8
