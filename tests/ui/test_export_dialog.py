"""The export dialog turns choices into an export request and asks before replacing a file."""

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from dawn_studio.ui.export_dialog import ExportDialog


def test_defaults_and_format_switch(qtbot, tmp_path):
    dialog = ExportDialog(tmp_path / "talk.mp4")
    qtbot.addWidget(dialog)
    request = dialog.request()
    assert request.settings.format == "mp4" and request.full_frame and request.settings.quality == 18
    dialog.set_format("webm")
    assert dialog.path_edit.text().endswith("talk.webm")
    dialog.set_format("png")
    assert Path(dialog.path_edit.text()).name == "talk"
    assert not dialog.quality_slider.isEnabled()
    dialog.set_format("gif")
    dialog.crop_radio.setChecked(True)
    request = dialog.request()
    assert request.settings.format == "gif" and not request.full_frame


def test_without_pasted_back_frames_only_crop_is_offered(qtbot, tmp_path):
    dialog = ExportDialog(tmp_path / "talk.mp4", full_frame_available=False)
    qtbot.addWidget(dialog)
    assert not dialog.full_radio.isEnabled() and not dialog.request().full_frame


def test_existing_file_needs_confirmation(qtbot, tmp_path, monkeypatch):
    target = tmp_path / "talk.mp4"
    target.write_bytes(b"old")
    dialog = ExportDialog(target)
    qtbot.addWidget(dialog)
    answers = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted, "declined: the dialog stays open"
    answers.append(QMessageBox.StandardButton.Yes)
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.result_request().settings.overwrite


def test_missing_folder_is_refused(qtbot, tmp_path, monkeypatch):
    dialog = ExportDialog(tmp_path / "nope" / "talk.mp4")
    qtbot.addWidget(dialog)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    dialog.accept()
    assert warnings and "does not exist" in warnings[0]
    assert dialog.result() != dialog.DialogCode.Accepted
