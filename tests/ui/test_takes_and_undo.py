"""The creator's loop: every Generate is a take that survives a restart, settings undo and redo, unsaved
work is asked about before it is lost, and a crashed session comes back whole."""

import av
import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QMessageBox
from support.paths import sample_portrait

from dawn_studio.modelstore import ModelStore
from dawn_studio.project import load_project
from dawn_studio.stages.export import ExportSettings
from dawn_studio.ui.app import create_application, create_main_window
from dawn_studio.ui.export_dialog import ExportRequest
from dawn_studio.ui.settings import AppSettings
from dawn_studio.ui.studio import Studio
from dawn_studio.ui.unsaved import Answer

TIMEOUT = 60_000


def make_studio(qtbot, folder, tiny_store, **options):
    """A studio on the settings and data folder ``folder`` (the same folder again is a restart)."""
    app = create_application()
    settings = AppSettings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window = create_main_window(app, settings)
    qtbot.addWidget(window)
    studio = Studio(window, ModelStore(tiny_store), autosave_path=folder / "autosave.dawn", show_first_run=False,
                    **options)
    window.show()
    return studio


@pytest.fixture
def studio(qtbot, tmp_path, tiny_store):
    studio = make_studio(qtbot, tmp_path, tiny_store)
    yield studio
    studio.shutdown()


def load_inputs(studio, qtbot, speech, portrait=None):
    studio.open_portrait(str(portrait or sample_portrait("real_female_1.jpeg")))
    studio.open_audio(str(speech))
    qtbot.waitUntil(lambda: studio.portrait_panel.analysis is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: studio.audio_path is not None, timeout=TIMEOUT)


def generate(studio, qtbot):
    with qtbot.waitSignal(studio.generationFinished, timeout=180_000) as finished:
        studio.generate()
    return finished.args[0]


@pytest.fixture
def two_faces(tmp_path):
    left = Image.open(sample_portrait("real_female_1.jpeg")).convert("RGB")
    right = Image.open(sample_portrait("real_male1.jpeg")).convert("RGB")
    canvas = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), (128, 128, 128))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width, 0))
    path = tmp_path / "two_faces.png"
    canvas.save(path)
    return path


def test_takes_compare_and_come_back_after_a_restart(qtbot, tmp_path, tiny_store, speech_2s, two_faces):
    first = make_studio(qtbot, tmp_path, tiny_store)
    load_inputs(first, qtbot, speech_2s, two_faces)
    assert len(first.portrait_panel.analysis.faces) >= 2
    first.portrait_panel.set_face_index(1)
    first.audio_panel.set_trim(0.2, 1.4)
    first.controls.steps_spin.setValue(2)
    first.controls.head_motion_slider.slider.setValue(60)
    generate(first, qtbot)
    first.controls.head_motion_slider.slider.setValue(30)
    first.controls.seed_spin.setValue(777)
    generate(first, qtbot)

    takes = first.take_list()
    assert [t.name for t in takes] == ["Take 1", "Take 2"]
    assert [t.job.motion.head_motion for t in takes] == pytest.approx([0.6, 0.3])
    assert takes[1].seed == 777 and takes[0].seed != 777
    assert all(t.thumbnail.is_file() and t.preview_path("full") is not None for t in takes)
    assert first.takes_strip.take_ids() == [t.id for t in takes]
    assert first.current_take.id == takes[1].id, "the newest take is the one on screen"

    first.takes_strip.select([takes[1].id, takes[0].id])  # compare: Take 2 played, Take 1 beside it
    assert first.compare.active and first.preview.original_view.isVisible()
    assert first.compare.player.source().toLocalFile() == str(takes[0].preview_path("full"))
    first.preview.toggle_play()
    qtbot.waitUntil(lambda: first.compare.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState,
                    timeout=10_000)
    first.preview.toggle_play()
    first.preview.player.setPosition(800)
    qtbot.waitUntil(lambda: abs(first.compare.player.position() - 800) <= 80, timeout=10_000)
    first.takes_strip.select([takes[0].id])
    first.rename_take(takes[0].id, "Calm")
    first.shutdown()  # what quitting does: the session is autosaved

    second = make_studio(qtbot, tmp_path, tiny_store)
    try:
        assert second.restore_autosave()
        qtbot.waitUntil(lambda: second.current_job() is not None, timeout=TIMEOUT)
        back = second.take_list()
        assert [(t.id, t.name) for t in back] == [(takes[0].id, "Calm"), (takes[1].id, "Take 2")]
        assert [t.job.motion.seed for t in back] == [t.job.motion.seed for t in takes]
        assert second.takes_strip.take_ids() == [t.id for t in takes]
        assert second.current_take.id == takes[0].id, "the take that was on screen is again"
        job = second.current_job()
        assert job.face_index == 1 and (job.trim_start, job.trim_end) == pytest.approx((0.2, 1.4))
        assert job.steps == 2 and job.motion.seed == 777 and job.motion.head_motion == pytest.approx(0.3)
        assert second.window.isWindowModified(), "never saved: still unsaved after the restart"

        qtbot.waitUntil(lambda: second.preview.player.duration() > 1000, timeout=10_000)
        second.preview.toggle_play()
        qtbot.waitUntil(lambda: second.preview.player.position() > 0, timeout=10_000)
        second.preview.toggle_play()
        qtbot.waitUntil(lambda: second.preview.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState)

        second.takes_strip.use_button.click()  # Take 1 ("Calm") is selected
        assert second.current_job().motion.head_motion == pytest.approx(0.6)
        assert second.current_job().motion.seed == takes[0].seed
        second.undo_action.trigger()
        assert second.current_job().motion.head_motion == pytest.approx(0.3)

        second.takes_strip.select([takes[1].id])
        out = tmp_path / "take2.mp4"
        with qtbot.waitSignal(second.export_runner.succeeded, timeout=TIMEOUT):
            second.start_export(ExportRequest(out, ExportSettings(), full_frame=True))
        with av.open(str(out)) as container:
            assert sum(1 for _ in container.decode(video=0)) == takes[1].num_frames
    finally:
        second.shutdown()


def test_delete_a_take_and_the_store_keeps_its_size_limit(qtbot, tmp_path, tiny_store, speech_2s):
    AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)).store.setValue(
        "takes/limit_mb", 300)
    (tmp_path / "other").mkdir()
    other = make_studio(qtbot, tmp_path / "other", tiny_store)
    assert other.takes.limit_bytes == 4 * 1024**3, "4 GB unless set"
    other.shutdown()
    studio = make_studio(qtbot, tmp_path, tiny_store)
    assert studio.takes.limit_bytes == 300 * 1024**2, "the limit is a setting"
    studio.takes.limit_bytes = 1  # every take is over the limit
    try:
        load_inputs(studio, qtbot, speech_2s)
        studio.controls.steps_spin.setValue(1)
        generate(studio, qtbot)
        generate(studio, qtbot)
        ids = [t.id for t in studio.take_list()]
        assert len(ids) == 2, "takes of the open project are never cleaned up"
        studio.new_project()  # they are now referenced by nothing but the autosave
        studio.autosave_path.unlink(missing_ok=True)
        load_inputs(studio, qtbot, speech_2s)
        generate(studio, qtbot)
        assert [t.id for t in studio.takes.list()] == [studio.take_list()[0].id], \
            "over the limit, takes no project refers to are removed, the oldest first"
        studio.delete_takes([studio.take_list()[0].id])
        assert studio.take_list() == [] and studio.takes.list() == [] and studio.result is None
        assert not studio.window.export_action.isEnabled()
    finally:
        studio.shutdown()


def test_undo_and_redo_settings_and_trim(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    undo, redo = studio.undo_action, studio.redo_action
    assert undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert QKeySequence(QKeySequence.StandardKey.Redo) in redo.shortcuts()
    assert undo in studio.edit_menu.actions() and redo in studio.edit_menu.actions()
    assert not undo.isEnabled()

    studio.controls.head_motion_slider.slider.setValue(40)
    studio.audio_panel.set_trim(0.5, 1.5)
    assert studio.current_job().motion.head_motion == pytest.approx(0.4)
    assert studio.window.isWindowModified()

    undo.trigger()
    assert studio.audio_panel.trim() == (0.0, None) and studio.current_job().trim_end is None
    undo.trigger()
    assert studio.controls.head_motion_slider.value() == pytest.approx(1.0)
    assert studio.current_job().motion.head_motion == pytest.approx(1.0)
    assert studio.undo_stack.isClean(), "undone back to where it started"

    redo.trigger()
    assert studio.current_job().motion.head_motion == pytest.approx(0.4)
    redo.trigger()
    assert studio.audio_panel.trim() == pytest.approx((0.5, 1.5))
    assert not redo.isEnabled()


def test_undo_a_speech_change_and_a_face_choice(studio, qtbot, speech_2s, two_faces, tmp_path):
    load_inputs(studio, qtbot, speech_2s, two_faces)
    studio.audio_panel.set_trim(0.5, 1.5)
    studio.portrait_panel.set_face_index(1)
    other = tmp_path / "other.wav"
    other.write_bytes(speech_2s.read_bytes())
    studio.open_audio(str(other))
    qtbot.waitUntil(lambda: studio.audio_path == str(other), timeout=TIMEOUT)
    assert studio.current_job().trim_end is None

    studio.undo_action.trigger()  # the speech comes back with its trim
    qtbot.waitUntil(lambda: studio.audio_path == str(speech_2s), timeout=TIMEOUT)
    assert studio.audio_panel.trim() == pytest.approx((0.5, 1.5))
    studio.undo_action.trigger()  # the face
    assert studio.current_job().face_index == 0
    studio.redo_action.trigger()
    assert studio.current_job().face_index == 1
    assert studio.undo_stack.index() == 2 and studio.undo_stack.count() == 3, "reopening pushed no new step"


def test_undo_a_portrait_change(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    studio.open_portrait(str(sample_portrait("real_male1.jpeg")))
    qtbot.waitUntil(lambda: studio.portrait_panel.analysis is not None
                    and studio.portrait_panel.path.name == "real_male1.jpeg", timeout=TIMEOUT)
    studio.undo_action.trigger()
    qtbot.waitUntil(lambda: studio.portrait_panel.analysis is not None
                    and studio.portrait_panel.path.name == "real_female_1.jpeg", timeout=TIMEOUT)
    assert studio.undo_stack.count() == 1 and studio.undo_stack.index() == 0, "reopening pushed no new step"


def test_title_names_the_project_and_marks_changes(studio, qtbot, speech_2s, tmp_path, monkeypatch):
    window = studio.window
    assert window.windowTitle().startswith("Untitled[*]") and not window.isWindowModified()
    load_inputs(studio, qtbot, speech_2s)
    assert window.isWindowModified()
    target = tmp_path / "interview.dawn"
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
    assert studio.save_project() == target
    assert window.windowTitle().startswith("interview[*]") and not window.isWindowModified()
    studio.controls.blink_slider.slider.setValue(20)
    assert window.isWindowModified()


def test_new_and_open_ask_about_unsaved_changes(qtbot, tmp_path, tiny_store, speech_2s, monkeypatch):
    answers, asked = [], []

    def asker(_parent, action, on_answer):
        asked.append(action)
        on_answer(answers.pop(0))

    studio = make_studio(qtbot, tmp_path, tiny_store, asker=asker)
    try:
        load_inputs(studio, qtbot, speech_2s)
        answers.append(Answer.CANCEL)
        studio.new_project_action.trigger()
        assert asked == ["starting a new project"] and studio.current_job() is not None
        assert studio.window.isWindowModified()

        target = tmp_path / "kept.dawn"
        monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
        answers.append(Answer.SAVE)
        studio.new_project_action.trigger()
        assert target.is_file() and studio.project_path is None and not studio.window.isWindowModified()

        studio.request_open_project(str(target))  # nothing unsaved: no question
        assert len(asked) == 2 and studio.project_path == target
        qtbot.waitUntil(lambda: studio.current_job() is not None, timeout=TIMEOUT)
        studio.controls.blink_slider.slider.setValue(10)
        answers.append(Answer.DISCARD)
        studio.request_open_project(str(target))
        assert len(asked) == 3
        qtbot.waitUntil(lambda: studio.current_job() is not None, timeout=TIMEOUT)
        assert studio.current_job().motion.blink_strength == pytest.approx(1.0), "the change was discarded"
    finally:
        studio.shutdown()


def test_quitting_with_an_unsaved_clip_asks_first(studio, qtbot, speech_2s, tmp_path, monkeypatch):
    """Defect 4: a clip was generated and never saved; quitting asked nothing."""
    load_inputs(studio, qtbot, speech_2s)
    studio.controls.steps_spin.setValue(1)
    generate(studio, qtbot)
    window = studio.window

    window.close()
    box = studio._unsaved_question
    assert isinstance(box, QMessageBox) and box.isVisible() and window.isVisible()
    studio.window.quit_action.trigger()
    assert studio._unsaved_question is box, "asked once, however often Quit is pressed"
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: not box.isVisible())
    assert window.isVisible()

    target = tmp_path / "quit.dawn"
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
    window.close()
    studio._unsaved_question.button(QMessageBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    job, session = load_project(target)
    assert job.audio == str(speech_2s) and session.takes == tuple(studio.session_takes) and len(session.takes) == 1


def test_quitting_without_saving_starts_afresh(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    studio.autosave()
    assert studio.autosave_path.is_file()
    studio.window.close()
    studio._unsaved_question.button(QMessageBox.StandardButton.Discard).click()
    qtbot.waitUntil(lambda: not studio.window.isVisible(), timeout=10_000)
    studio.shutdown()
    assert not studio.autosave_path.exists(), "Don't Save: the session is not brought back"


def test_autosave_brings_back_the_setup_after_a_crash(qtbot, tmp_path, tiny_store, speech_2s):
    first = make_studio(qtbot, tmp_path, tiny_store)
    load_inputs(first, qtbot, speech_2s)
    first.audio_panel.set_trim(0.4, 1.6)
    first.controls.blink_slider.slider.setValue(30)
    first.controls.preset_combo.setCurrentIndex(first.controls.preset_combo.findData("reference"))
    first.controls.steps_spin.setValue(1)
    generate(first, qtbot)
    expected, take_ids = first.current_job(), list(first.session_takes)
    first.autosave()
    # a crash: no shutdown, no save; the next start finds only the autosave
    first._close_approved = True
    first.window.removeEventFilter(first)

    second = make_studio(qtbot, tmp_path, tiny_store)
    try:
        assert second.restore_autosave()
        qtbot.waitUntil(lambda: second.current_job() is not None and second.audio_panel.speech is not None,
                        timeout=TIMEOUT)
        assert second.current_job() == expected
        assert second.audio_panel.trim() == pytest.approx((0.4, 1.6))
        assert second.session_takes == take_ids and second.current_take.id == take_ids[0]
        assert second.window.isWindowModified(), "the crashed session had unsaved work; it still has"
        assert second.undo_stack.count() == 0
    finally:
        second.shutdown()
        first.shutdown()


def test_progress_shows_on_the_preview_with_cancel_and_a_done_notice(studio, qtbot, speech_2s):
    load_inputs(studio, qtbot, speech_2s)
    overlay = studio.overlay
    studio.controls.steps_spin.setValue(1)
    notified = []
    studio.notifier.notify = lambda title, message: notified.append(message)
    generate(studio, qtbot)
    assert overlay.isVisible() and overlay.title.text() == "Done — Take 1 is ready"
    assert "50 frames" in overlay.detail.text() and not overlay.cancel_button.isVisible()
    assert len(notified) == 1 and notified[0].startswith("Take 1: 50 frames"), "the notifier decides the route"

    studio.controls.steps_spin.setValue(20)
    with qtbot.waitSignal(studio.runner.cancelled, timeout=120_000):
        studio.generate()
        qtbot.waitUntil(lambda: "step" in overlay.title.text() or "frame" in overlay.title.text(), timeout=60_000)
        assert overlay.isVisible() and overlay.cancel_button.isVisible()
        assert studio.preview.isAncestorOf(overlay)
        overlay.cancel_button.click()
    assert overlay.title.text().startswith("Cancelled")
    assert len(studio.take_list()) == 1, "a cancelled run makes no take"
