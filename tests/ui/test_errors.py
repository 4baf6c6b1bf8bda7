"""Error dialogs speak to the user; the log is mentioned only when it holds details worth finding."""

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from dawn_studio.ui import errors
from dawn_studio.ui.errors import error_box, models_missing_box


def test_the_log_is_mentioned_only_with_details(qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(errors, "current_log_file", lambda: Path(tmp_path / "dawn-studio.log"))
    plain = error_box(None, "Cannot open project", "talk.dawn is not a DAWN Studio project.")
    assert plain.informativeText() == "" and plain.detailedText() == ""
    bug = error_box(None, "Generation failed", "index out of range", "Traceback …")
    assert "log file" in bug.informativeText() and bug.detailedText() == "Traceback …"
    for box in (plain, bug):
        box.deleteLater()


def test_models_missing_has_a_button_to_the_manager(qtbot):
    opened = []
    box = models_missing_box(None, "DAWN 256 cannot run yet: 2 files missing", lambda: opened.append(True))
    qtbot.addWidget(box)
    button = next(b for b in box.buttons() if b.text() == "Open Model Manager…")
    assert box.defaultButton() is button and "log" not in box.informativeText()
    button.click()
    assert opened == [True]
    assert any(box.standardButton(b) == QMessageBox.StandardButton.Close for b in box.buttons())
