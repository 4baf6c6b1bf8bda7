"""The export dialog turns choices into an export request: a free name, the last format and folder, a
quality preset, GIF size and frame rate with an estimate; it asks before replacing a file and never
writes over the clip's own inputs."""

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from dawn_studio.ui.export_dialog import ExportDialog, ExportPreferences


def test_defaults_and_format_switch(qtbot, tmp_path):
    dialog = ExportDialog(tmp_path / "talk.mp4")
    qtbot.addWidget(dialog)
    request = dialog.request()
    assert request.settings.format == "mp4" and request.full_frame
    assert dialog.quality_combo.currentText() == "Balanced" and request.settings.quality == 20
    dialog.quality_combo.setCurrentIndex(dialog.quality_combo.findData("Small file"))
    assert dialog.request().settings.quality == 28
    dialog.quality_combo.setCurrentIndex(dialog.quality_combo.findData("Best"))
    assert (dialog.request().settings.quality, dialog.request().settings.preset) == (16, "slow")
    dialog.set_format("webm")
    assert dialog.path_edit.text().endswith("talk.webm") and dialog.request().settings.quality == 24
    dialog.set_format("png")
    assert Path(dialog.path_edit.text()).name == "talk"
    assert not dialog.quality_combo.isEnabled()
    dialog.set_format("gif")
    dialog.crop_radio.setChecked(True)
    request = dialog.request()
    assert request.settings.format == "gif" and not request.full_frame


def test_without_pasted_back_frames_only_crop_is_offered(qtbot, tmp_path):
    dialog = ExportDialog(tmp_path / "talk.mp4", full_frame_available=False)
    qtbot.addWidget(dialog)
    assert not dialog.full_radio.isEnabled() and not dialog.request().full_frame


def test_an_existing_name_is_never_proposed(qtbot, tmp_path):
    (tmp_path / "talk.mp4").write_bytes(b"the first export")
    dialog = ExportDialog(tmp_path / "talk.mp4", taken=[tmp_path / "talk-2.mp4"])
    qtbot.addWidget(dialog)
    assert Path(dialog.path_edit.text()) == tmp_path / "talk-3.mp4", "talk-2.mp4 is promised to a queued export"
    dialog.set_format("gif")
    assert Path(dialog.path_edit.text()) == tmp_path / "talk-3.gif"
    (tmp_path / "talk-3.gif").write_bytes(b"x")
    dialog.set_format("mp4")
    dialog.set_format("gif")
    assert Path(dialog.path_edit.text()) == tmp_path / "talk-4.gif"


def test_format_folder_and_options_survive_a_restart(qtbot, tmp_path, settings_file):
    folder = tmp_path / "Exports"
    folder.mkdir()
    first = ExportDialog(Path.home() / "talk", preferences=ExportPreferences(
        QSettings(str(settings_file), QSettings.Format.IniFormat)))
    qtbot.addWidget(first)
    assert first.format() == "mp4"
    first.set_format("gif")
    first.gif_size_combo.setCurrentIndex(first.gif_size_combo.findData(320))
    first.gif_rate_combo.setCurrentIndex(first.gif_rate_combo.findData(3))
    first.path_edit.setText(str(folder / "talk.gif"))
    first.accept()
    assert first.result() == first.DialogCode.Accepted
    (folder / "talk.gif").write_bytes(b"the export")

    reopened = QSettings(str(settings_file), QSettings.Format.IniFormat)  # as after a restart
    second = ExportDialog(Path.home() / "talk", preferences=ExportPreferences(reopened))
    qtbot.addWidget(second)
    assert second.format() == "gif" and Path(second.path_edit.text()) == folder / "talk-2.gif"
    settings = second.request().settings
    assert (settings.gif_max_side, settings.gif_frame_step) == (320, 3)


def test_gif_size_and_frame_rate_with_the_estimated_size(qtbot, tmp_path):
    dialog = ExportDialog(tmp_path / "talk", frame_sizes={True: (1000, 800), False: (256, 256)}, num_frames=100)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.gif_row.isVisible(), "GIF options only for GIF"
    dialog.set_format("gif")
    assert dialog.gif_row.isVisible()
    dialog.gif_size_combo.setCurrentIndex(dialog.gif_size_combo.findData(None))
    dialog.gif_rate_combo.setCurrentIndex(dialog.gif_rate_combo.findData(1))
    assert dialog.gif_estimate.text() == "About 60.0 MB"  # 1000×800 px × 100 frames × 0.75 byte
    dialog.gif_size_combo.setCurrentIndex(dialog.gif_size_combo.findData(480))
    dialog.gif_rate_combo.setCurrentIndex(dialog.gif_rate_combo.findData(2))
    assert dialog.gif_estimate.text() == "About 6.9 MB"  # 480×384 px × 50 frames × 0.75 byte
    dialog.crop_radio.setChecked(True)
    assert dialog.gif_estimate.text() == "About 2.5 MB"  # the 256 px crop is not scaled up
    settings = dialog.request().settings
    assert (settings.gif_max_side, settings.gif_frame_step, settings.gif_fps) == (480, 2, 12.5)


def test_existing_file_needs_confirmation(qtbot, tmp_path, monkeypatch):
    target = tmp_path / "talk.mp4"
    target.write_bytes(b"old")
    dialog = ExportDialog(target)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(target))  # typed over the proposed free name
    answers = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted, "declined: the dialog stays open"
    answers.append(QMessageBox.StandardButton.Yes)
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.result_request().settings.overwrite


@pytest.mark.parametrize("which", ["input", "queued"])
def test_the_clips_own_inputs_and_queued_targets_are_refused(qtbot, tmp_path, monkeypatch, which):
    speech = tmp_path / "speech.mp4"
    speech.write_bytes(b"the user's recording")
    queued = tmp_path / "talk.mp4"
    dialog = ExportDialog(tmp_path / "talk.mp4", inputs=[speech], taken=[queued])
    qtbot.addWidget(dialog)
    warnings, questions = [], []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: questions.append(a) or QMessageBox.StandardButton.Yes)
    dialog.path_edit.setText(str(speech if which == "input" else queued))
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted and not questions
    assert ("made from" if which == "input" else "queue") in warnings[0]
    assert speech.read_bytes() == b"the user's recording"


def test_missing_folder_is_refused(qtbot, tmp_path, monkeypatch):
    dialog = ExportDialog(tmp_path / "nope" / "talk.mp4")
    qtbot.addWidget(dialog)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    dialog.accept()
    assert warnings and "does not exist" in warnings[0]
    assert dialog.result() != dialog.DialogCode.Accepted


def test_the_folder_of_the_newest_recent_export_before_any_preference(tmp_path, settings_file):
    store = QSettings(str(settings_file), QSettings.Format.IniFormat)
    store.setValue("recent/export", [str(tmp_path / "older" / "a.mp4")])
    assert ExportPreferences(store).folder() is None, "a folder that is gone is not proposed"
    (tmp_path / "older").mkdir()
    assert ExportPreferences(store).folder() == tmp_path / "older"
