"""The studio window driven like a creator would: drop files, set controls, generate, preview, export."""

import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox
from support.paths import sample_portrait

from dawn_studio.engine.job import Job, OutputSettings
from dawn_studio.modelstore import ModelStore
from dawn_studio.stages.export import ExportSettings
from dawn_studio.ui.app import create_application, create_main_window
from dawn_studio.ui.export_dialog import ExportDialog, ExportRequest
from dawn_studio.ui.settings import AppSettings
from dawn_studio.ui.studio import Studio


@pytest.fixture
def studio(qtbot, tmp_path, tiny_store):
    app = create_application()
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = create_main_window(app, settings)
    qtbot.addWidget(window)
    studio = Studio(window, ModelStore(tiny_store), autosave_path=tmp_path / "autosave.dawn",
                    show_first_run=False)
    window.show()
    yield studio
    studio.shutdown()


def drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    window.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))


def load_inputs(studio, qtbot, speech):
    drop(studio.window, sample_portrait("real_female_1.jpeg"), speech)
    qtbot.waitUntil(lambda: studio.portrait_panel.analysis is not None, timeout=60_000)
    qtbot.waitUntil(lambda: studio.audio_path is not None, timeout=60_000)


def test_layout_menus_and_empty_state(studio):
    titles = [a.text().replace("&", "") for a in studio.window.menuBar().actions()]
    assert titles == ["File", "Edit", "View", "Generate", "Models", "Help"]
    assert set(studio.window.panels) == {"portrait", "controls", "audio", "motion"}
    assert studio.current_job() is None
    studio.generate()
    assert "Add a portrait with a face and a speech recording first" in studio.window.statusBar().currentMessage()


def test_drop_set_controls_generate_preview_export(studio, qtbot, speech_2s, tmp_path, monkeypatch):
    load_inputs(studio, qtbot, speech_2s)
    job = studio.current_job()
    assert job is not None and job.audio == str(speech_2s) and job.resolution == 128
    studio.controls.load_from(job.with_changes(steps=3))
    assert studio.current_job().steps == 3

    events, ticks = [], []
    studio.runner.progressed.connect(events.append)
    with qtbot.waitSignal(studio.generationFinished, timeout=180_000) as finished:
        studio.generate()
        assert studio.cancel_action.isEnabled() and not studio.generate_button.isEnabled()
        start = time.monotonic()
        while studio.runner.busy and time.monotonic() - start < 170:
            qtbot.wait(25)
            ticks.append(time.monotonic())
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([0.0])
    assert gaps.max() < 1.0, f"the event loop stalled for {gaps.max():.2f} s during generation"
    result = finished.args[0]
    assert result.num_frames == 50
    assert [e.stage for e in events][-1] == "compose"
    assert studio.window.export_action.isEnabled()
    qtbot.waitUntil(lambda: studio.preview.player.duration() > 1500, timeout=10_000)
    assert studio.motion_view.sequences().frames == 50

    out = tmp_path / "export.mp4"
    failures = []
    studio.export_runner.failed.connect(lambda m, d: failures.append(d))
    studio.export_runner.cancelled.connect(lambda: failures.append("cancelled"))
    opened = []
    studio.exports.notice.opener = opened.append  # what Play / Open Folder hand to the desktop
    with qtbot.waitSignal(studio.export_runner.succeeded, timeout=60_000):
        studio.start_export(ExportRequest(out, ExportSettings(), full_frame=True))
        assert QApplication.activeModalWidget() is None, "exporting never blocks the window"
    assert not failures, failures
    assert studio.window.settings.recent("export") == [str(out)]
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 50
    notice = studio.exports.notice
    assert notice.isVisible() and "Saved export.mp4" in notice.message.text()
    notice.play_button.click()
    notice.folder_button.click()
    assert [u.toLocalFile() for u in opened] == [str(out), str(tmp_path)]

    # A second and third export queue behind the running one; the queue is shown, then both are written.
    gif, crop = tmp_path / "export.gif", tmp_path / "crop.mp4"
    written = []
    studio.exports.exported.connect(written.append)
    studio.start_export(ExportRequest(crop, ExportSettings(), full_frame=False))
    studio.start_export(ExportRequest(gif, ExportSettings(format="gif", gif_max_side=64, gif_frame_step=2),
                                      full_frame=True))
    assert studio.exports.status.isVisible() and "Exporting crop.mp4 · 1 waiting" in studio.exports.status.label.text()
    assert studio.exports.targets() == [crop, gif]
    qtbot.waitUntil(lambda: not studio.exports.busy, timeout=120_000)
    assert written == [crop, gif] and not failures
    assert crop.is_file() and gif.is_file() and not studio.exports.status.isVisible()
    assert studio.window.settings.recent("export")[:3] == [str(gif), str(crop), str(out)]

    # Export… opens the dialog with what it needs to name, estimate and guard the export.
    monkeypatch.setattr(ExportDialog, "exec", lambda dialog: ExportDialog.DialogCode.Rejected)
    studio.window.export_action.trigger()
    dialog = studio._export_dialog
    assert dialog.inputs == [sample_portrait("real_female_1.jpeg"), speech_2s]
    assert dialog.frame_sizes == {True: (450, 450), False: (128, 128)} and dialog.num_frames == 50
    proposed = Path(dialog.path_edit.text())
    assert proposed.name.startswith("real_female_1_talking") and proposed.suffix == ".mp4"
    assert not proposed.exists(), "never an existing name"

    take = studio.current_take
    assert studio.result.preview_dir is None, "the preview clips moved into the take: no temp folder left behind"
    assert take is not None and take.preview_path("full") is not None and take.preview_path("crop") is not None
    studio.new_project()
    assert studio.take_list() == [] and studio.takes.get(take.id) is not None, \
        "New Project starts an empty strip; the take stays stored for the project that made it"


def test_cancel_a_run(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    studio.controls.load_from(studio.current_job().with_changes(steps=20))
    with qtbot.waitSignal(studio.runner.cancelled, timeout=120_000):
        studio.generate()
        qtbot.waitUntil(lambda: studio.stage_label.text() != "", timeout=60_000)
        studio.cancel_action.trigger()
    assert studio.result is None
    assert "Cancelled" in studio.window.statusBar().currentMessage()


def test_an_expected_input_error_is_said_once_inline_and_keeps_what_worked(studio, qtbot, speech_2s, tmp_path,
                                                                             monkeypatch):
    load_inputs(studio, qtbot, speech_2s)
    good = sample_portrait("real_female_1.jpeg")
    job = studio.current_job()
    shown = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box.text()))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()))

    faceless = tmp_path / "wall.png"
    Image.new("RGB", (320, 240), (128, 128, 128)).save(faceless)
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    for path in (faceless, bad):
        with qtbot.waitSignal(studio.portrait_panel.portraitFailed, timeout=30_000):
            drop(studio.window, path)
        message = studio.portrait_panel.message()
        assert "real_female_1.jpeg is still in use" in message and studio.portrait_panel.message_label.isVisible()
    assert shown == [], "the inline message says it: no dialog, no talk of the log"
    assert studio.portrait_panel.path == good and studio.current_job() == job, "the portrait that worked stays"
    assert studio.window.settings.recent("portrait") == [str(good)], "files that failed are not in Recent"

    studio.open_audio(str(bad))
    qtbot.waitUntil(lambda: studio.audio_panel.message_label.text() != "", timeout=30_000)
    qtbot.waitUntil(lambda: studio.audio_path is not None, timeout=5_000)
    assert studio.current_job() == job and shown == []
    assert studio.window.settings.recent("audio") == [str(speech_2s)]


def test_models_missing_offers_the_model_manager(qtbot, tmp_path, speech_2s):
    app = create_application()
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = create_main_window(app, settings)
    qtbot.addWidget(window)
    empty = tmp_path / "no-models"
    empty.mkdir()
    studio = Studio(window, ModelStore(empty), autosave_path=tmp_path / "autosave.dawn", show_first_run=False)
    try:
        window.show()
        with qtbot.waitSignal(studio.portrait_panel.portraitFailed, timeout=30_000):
            studio.open_portrait(str(sample_portrait("real_female_1.jpeg")))
        box = studio.models_missing_box
        assert box.isVisible() and "3DDFA" in box.text() and "log" not in box.informativeText()
        button = next(b for b in box.buttons() if b.text() == "Open Model Manager…")
        button.click()
        qtbot.waitUntil(lambda: studio._models_dialog.isVisible(), timeout=5_000)
        assert studio._models_dialog.store.root == empty
        studio._models_dialog.reject()
    finally:
        studio.shutdown()


def test_project_round_trip_and_autosave(studio, qtbot, speech_2s, tmp_path, monkeypatch):
    load_inputs(studio, qtbot, speech_2s)
    studio.controls.load_from(studio.current_job().with_changes(steps=8))
    target = tmp_path / "talk.dawn"
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
    assert studio.save_project(ask=True) == target
    saved = Job.load(target)
    assert saved.steps == 8 and saved.audio == str(speech_2s)
    studio.autosave()
    assert Job.load(studio.autosave_path) == studio.current_job()
    QApplication.processEvents()


def test_unload_models_frees_them(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    assert "portrait" in studio.engine.models.loaded()
    studio.free_memory_action.trigger()
    assert studio.engine.models.loaded() == []
    assert "unloaded" in studio.window.statusBar().currentMessage()


def test_moving_controls_changes_the_job_and_is_autosaved(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    studio.controls.head_motion_slider.slider.setValue(40)
    studio.controls.blink_slider.slider.setValue(0)
    studio.controls.still_head_check.setChecked(False)
    job = studio.current_job()
    assert job.motion.head_motion == pytest.approx(0.4) and job.motion.blink_strength == 0.0
    qtbot.waitUntil(studio.autosave_path.is_file, timeout=5_000)
    assert Job.load(studio.autosave_path).motion.head_motion == pytest.approx(0.4)


def test_an_opened_project_keeps_the_settings_no_panel_shows(studio, qtbot, speech_2s, tmp_path):
    existing = tmp_path / "earlier.mp4"
    existing.write_bytes(b"an earlier export")
    project = tmp_path / "talk.dawn"
    Job(portrait=str(sample_portrait("real_female_1.jpeg")), audio=str(speech_2s), framing="reference",
        device="cuda:7", precision="float32",
        output=OutputSettings(path=str(existing), format="webm", quality=30)).save(project)
    studio.open_project(str(project))
    qtbot.waitUntil(lambda: studio.current_job() is not None, timeout=60_000)
    job = studio.current_job()
    assert (job.framing, job.device, job.precision) == ("reference", "cuda:7", "float32")
    assert job.output.path == str(existing) and job.output.format == "webm" and job.output.quality == 30
    assert studio.save_project() == project
    assert Job.load(project).framing == "reference" and Job.load(project).output.path == str(existing)
    runnable = studio._runnable(job)  # what Generate hands the engine
    assert runnable.output.path is None and runnable.device == "auto" and runnable.framing == "reference"
    assert existing.read_bytes() == b"an earlier export"


def test_closing_during_generation_stops_it_first_then_closes(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    studio.controls.load_from(studio.current_job().with_changes(steps=20))
    studio.generate()
    qtbot.waitUntil(lambda: studio.stage_label.text() != "", timeout=60_000)
    assert studio.runner.busy
    studio.window.close()
    studio._unsaved_question.button(QMessageBox.StandardButton.Discard).click()  # unsaved: asked first
    assert studio.window.isVisible(), "the window must stay until the work has stopped"
    assert "Stopping" in studio.window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not studio.window.isVisible(), timeout=120_000)
    assert not studio.runner.busy and studio.result is None


def test_esc_cancels_generation_from_the_voice_panel(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    studio.controls.load_from(studio.current_job().with_changes(steps=20))
    studio.window.panels["audio"].raise_()
    focus = studio.audio_panel.play_button
    with qtbot.waitSignal(studio.runner.cancelled, timeout=120_000):
        studio.generate()
        qtbot.waitUntil(lambda: studio.stage_label.text() != "", timeout=60_000)
        studio.window.activateWindow()
        focus.setFocus()
        assert focus.hasFocus()
        qtbot.keyClick(focus, Qt.Key.Key_Escape)
    assert studio.result is None


def test_a_clip_that_no_longer_matches_the_window_is_marked(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    studio.controls.load_from(studio.current_job().with_changes(steps=3))
    with qtbot.waitSignal(studio.generationFinished, timeout=180_000):
        studio.generate()
        qtbot.waitUntil(lambda: studio.stage_label.text() != "", timeout=60_000)
        studio.controls.head_motion_slider.slider.setValue(10)  # moved while it runs
    notice = studio.preview.notice
    assert notice.isVisible() and "earlier settings" in notice.text()
    assert studio.window.export_action.isEnabled(), "a clip of the same inputs can still be exported"

    studio.controls.head_motion_slider.slider.setValue(100)  # back to the value the clip was made with
    assert not notice.isVisible()

    studio.open_portrait(str(sample_portrait("real_male1.jpeg")))
    qtbot.waitUntil(lambda: studio.portrait_panel.path is not None
                    and studio.portrait_panel.path.name == "real_male1.jpeg"
                    and studio.portrait_panel.analysis is not None, timeout=60_000)
    assert notice.isVisible() and "another portrait" in notice.text()
    assert not studio.window.export_action.isEnabled()


def test_a_restored_session_keeps_its_trim(studio, qtbot, speech_2s):
    Job(portrait=str(sample_portrait("real_female_1.jpeg")), audio=str(speech_2s), trim_start=0.5,
        trim_end=1.5).save(studio.autosave_path)
    assert studio.restore_autosave()
    qtbot.waitUntil(lambda: studio.current_job() is not None, timeout=60_000)
    assert studio.audio_panel.trim() == pytest.approx((0.5, 1.5))
    job = studio.current_job()
    assert (job.trim_start, job.trim_end) == pytest.approx((0.5, 1.5))
    studio.autosave()
    saved = Job.load(studio.autosave_path)
    assert (saved.trim_start, saved.trim_end) == pytest.approx((0.5, 1.5)), "the restored trim must survive"
