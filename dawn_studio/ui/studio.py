"""The studio: panels, engine and window wired together — from a dropped portrait to an exported clip.

The window stays responsive throughout: face analysis, audio decoding, generation and export all
run on worker threads (``TaskRunner``) and report back through signals. The current setup is
autosaved as a project file, so a crash loses nothing; it is restored at the next start.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..device import resolve_device
from ..engine.engine import Engine, GenerationResult
from ..engine.events import ProgressEvent
from ..engine.job import Job, JobError, OutputSettings
from ..media_types import dialog_filter
from ..modelstore import ModelStore
from ..modelstore.contents import enhancer_readiness, video_readiness
from ..paths import user_data_dir
from ..progress import CancelToken
from ..project import Session, load_project, save_project
from ..stages.motion import MotionError, MotionSequences, PortraitState, with_curve
from ..stages.portrait import Portrait, PortraitAnalysis, PortraitError
from ..takes import DEFAULT_LIMIT_BYTES, Take, TakeError, TakeStore
from .audio_panel import AudioPanel
from .compare import ComparePlayer
from .controls_panel import ControlsPanel
from .errors import error_box, models_missing_box
from .export_dialog import ExportDialog, ExportPreferences, ExportRequest
from .export_queue import ExportQueue
from .main_window import MainWindow
from .model_banner import BANNER_BUTTON, missing_models_text
from .model_manager import ModelManagerDialog, first_run_dialog
from .motion_view import MotionView
from .portrait_panel import PortraitPanel
from .preview import PreviewPlayer
from .progress_overlay import DoneNotifier, ProgressOverlay
from .studio_session import SessionMixin
from .takes_strip import TakesStrip
from .undo import SetupHistory
from .unsaved import Asker, ask_unsaved_changes
from .worker import TaskRunner

log = logging.getLogger(__name__)

#: Job fields that only a project file sets; the studio keeps them as the project holds them.
CARRIED_JOB_FIELDS = ("framing", "device", "precision", "output", "face_loc_weights")

AUTOSAVE_NAME = "autosave.dawn"
AUTOSAVE_DELAY_MS = 1000


def video_availability(store: ModelStore) -> dict[int, tuple[bool, str]]:
    """Which resolutions can generate now, and for those that cannot, what is missing (in words)."""
    result: dict[int, tuple[bool, str]] = {}
    for resolution in (128, 256):
        ready, missing = video_readiness(store, resolution)
        result[resolution] = (ready, "" if ready else f"{missing} — open Models ▸ Manage Models… to get them")
    return result


def _inputs_of(job: Job) -> tuple[Any, ...]:
    return job.portrait, job.face_index, job.audio, job.trim_start, job.trim_end, job.framing


def _settings_of(job: Job) -> tuple[Any, ...]:
    return job.resolution, job.motion, job.steps, job.guidance_scale, job.preset, job.enhance


def _is_escape(event: QEvent) -> bool:
    return (event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
            and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape
            and event.modifiers() == Qt.KeyboardModifier.NoModifier)


class Studio(QObject, SessionMixin):
    """Owns the panels, the engine and the current result; the window is its view."""

    generationFinished = Signal(object)  # GenerationResult
    statusChanged = Signal(str)

    def __init__(self, window: MainWindow, store: ModelStore | None = None, *,
                 autosave_path: Path | None = None, show_first_run: bool = True,
                 takes_dir: Path | None = None, takes_limit_bytes: int | None = None,
                 asker: Asker | None = None) -> None:
        super().__init__(window)
        self.window = window
        self._store_factory = (lambda: store) if store is not None else ModelStore.locate
        self.store = self._store_factory()
        self.engine = Engine(self.store.root)
        self.autosave_path = autosave_path or user_data_dir() / AUTOSAVE_NAME
        self.project_path: Path | None = None
        self.result: GenerationResult | None = None
        self.motion_override: MotionSequences | None = None
        self.audio_path: str | None = None
        self.trim: tuple[float, float | None] = (0.0, None)
        self.generation_started = 0.0
        self._restoring = False
        #: Settings a project holds that no panel shows (framing, device, precision, output, face-location
        #: weights): kept as opened so saving or generating never silently replaces them.
        self.carried: dict[str, Any] = {}
        self.closing = False  # the window was asked to close while work ran: close once it has stopped
        #: Takes live in the user data folder beside the autosave (a test's own folder in tests).
        limit = takes_limit_bytes or window.settings.takes_limit_bytes(DEFAULT_LIMIT_BYTES)
        self.takes = TakeStore(takes_dir or self.autosave_path.parent / "takes", limit)
        self.session_takes: list[str] = []  # this project's takes, oldest first
        self.current_take: Take | None = None
        self.undo_stack = QUndoStack(self)
        self.history = SetupHistory(self.undo_stack, self._apply_history)
        self.ask_unsaved: Asker = asker or ask_unsaved_changes
        self._modified = False  # changes outside the undo stack (takes made, renamed, deleted; first inputs)
        self._close_approved = False
        self._discard_session = False
        self._restore_pending: dict[str, str] = {}  # inputs being reopened by a restore: recorded, not undoable
        self._taken: tuple[str, GenerationResult] | None = None  # the take just made, still in memory
        self._unsaved_question: object = None  # the open unsaved-changes question, if any

        self.portrait_panel = PortraitPanel(self._analyse)
        self.audio_panel = AudioPanel()
        self.controls = ControlsPanel(window.settings.store)
        self.analysis_resolution = self.controls.resolution()
        self.motion_view = MotionView()
        self.preview = PreviewPlayer()
        self.takes_strip = TakesStrip()
        central = QWidget()
        central.setObjectName("previewArea")
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.preview, 1)
        central_layout.addWidget(self.takes_strip)
        window.set_central(central)
        self.compare = ComparePlayer(self.preview)
        self.overlay = ProgressOverlay(self.preview, self.cancel, anchor=self.preview.video_view)
        self.notifier = DoneNotifier(window)
        window.add_panel("portrait", "Portrait", self.portrait_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.add_panel("controls", "Controls", self.controls, Qt.DockWidgetArea.RightDockWidgetArea)
        window.add_panel("audio", "Voice", self.audio_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        window.add_panel("motion", "Motion", self.motion_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        window.tabifyDockWidget(window.panels["audio"], window.panels["motion"])
        window.panels["audio"].raise_()

        self.runner = TaskRunner(self)
        self.exports = ExportQueue(window, lambda: self.engine, on_exported=self._exported)
        self.export_runner = self.exports.runner
        self._build_actions()
        self._build_progress()
        self._connect()
        window.installEventFilter(self)  # closing while work runs
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)  # Esc reaches cancel before any panel's shortcut
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.refresh_models()
        self.portrait_panel.set_recent(window.settings.recent("portrait"))
        self.history.record("controls", self.controls.state())
        self._update_title()
        if show_first_run:
            QTimer.singleShot(0, self._maybe_first_run)

    # ---- construction -----------------------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        self.generate_action = QAction("&Generate", w)
        self.generate_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+G")])
        self.generate_action.setToolTip("Generate the talking-head clip (Ctrl+Enter)")
        self.generate_action.triggered.connect(self.generate)
        self.cancel_action = QAction("&Cancel", w)
        self.cancel_action.setShortcut(QKeySequence("Escape"))
        self.cancel_action.setToolTip("Stop the generation (Esc); nothing half-made is kept")
        self.cancel_action.setEnabled(False)
        self.cancel_action.triggered.connect(self.cancel)
        self.preview_motion_action = QAction("Preview &Motion", w)
        self.preview_motion_action.setShortcut(QKeySequence("Ctrl+M"))
        self.preview_motion_action.setToolTip("Compute only the head motion and blinks (fast) and plot them")
        self.preview_motion_action.triggered.connect(self.preview_motion)
        self.models_action = QAction("&Manage Models…", w)
        self.models_action.setToolTip("Download, import and check the model files")
        self.models_action.triggered.connect(self.open_model_manager)
        self.free_memory_action = QAction("&Unload Models", w)
        self.free_memory_action.setToolTip("Free the memory the loaded models use (they load again when needed)")
        self.free_memory_action.triggered.connect(self.free_memory)
        self.new_project_action = QAction("&New Project", w)
        self.new_project_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_project_action.triggered.connect(self.request_new_project)
        self.open_project_action = QAction("Open &Project…", w)
        self.open_project_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.open_project_action.triggered.connect(self.request_choose_project)
        self.save_project_action = QAction("&Save Project", w)
        self.save_project_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_project_action.triggered.connect(self.save_project)
        self.save_project_as_action = QAction("Save Project &As…", w)
        self.save_project_as_action.setShortcut(QKeySequence.StandardKey.SaveAs)
        self.save_project_as_action.triggered.connect(lambda: self.save_project(ask=True))

        first = w.file_menu.actions()[0]
        for action in (self.new_project_action, self.open_project_action, self.save_project_action,
                       self.save_project_as_action):
            w.file_menu.insertAction(first, action)
        w.file_menu.insertSeparator(first)
        edit_menu = w.menuBar().addMenu("&Edit")
        w.menuBar().insertMenu(w.view_menu.menuAction(), edit_menu)
        self.undo_action = self.undo_stack.createUndoAction(w, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(w, "&Redo")
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        if QKeySequence("Ctrl+Shift+Z") not in redo_keys:
            redo_keys.append(QKeySequence("Ctrl+Shift+Z"))
        self.redo_action.setShortcuts(redo_keys)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        self.undo_stack.cleanChanged.connect(self._update_title)
        self.edit_menu = edit_menu
        generate_menu = w.menuBar().addMenu("&Generate")
        w.menuBar().insertMenu(w.help_menu.menuAction(), generate_menu)
        for action in (self.generate_action, self.cancel_action, self.preview_motion_action):
            generate_menu.addAction(action)
        models_menu = w.menuBar().addMenu("&Models")
        w.menuBar().insertMenu(w.help_menu.menuAction(), models_menu)
        models_menu.addAction(self.models_action)
        models_menu.addAction(self.free_memory_action)
        self.generate_menu, self.models_menu = generate_menu, models_menu

        toolbar = QToolBar("Generate", w)
        toolbar.setObjectName("generateToolbar")
        toolbar.setMovable(False)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip(self.generate_action.toolTip())
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        toolbar.addWidget(self.generate_button)
        toolbar.addAction(self.cancel_action)
        toolbar.addAction(self.preview_motion_action)
        toolbar.addSeparator()
        toolbar.addAction(w.export_action)
        w.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    def _build_progress(self) -> None:
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(260)
        self.progress_bar.setVisible(False)
        self.stage_label = QLabel()
        self.window.statusBar().addPermanentWidget(self.stage_label)
        self.window.statusBar().addPermanentWidget(self.progress_bar)

    def _connect(self) -> None:
        w = self.window
        w.portraitRequested.connect(self.open_portrait)
        w.audioRequested.connect(self.open_audio)
        w.projectRequested.connect(self.request_open_project)
        w.exportRequested.connect(self.export)
        w.banner.button.clicked.connect(self.open_model_manager)
        self.portrait_panel.portraitReady.connect(self._portrait_ready)
        self.portrait_panel.portraitFailed.connect(self._portrait_failed)
        self.portrait_panel.faceChosen.connect(self._face_chosen)
        self.audio_panel.audioReady.connect(self._audio_ready)
        self.audio_panel.audioFailed.connect(self._audio_failed)
        self.audio_panel.trimChanged.connect(self._trim_changed)
        self.controls.changed.connect(self._controls_changed)
        self.controls.enhance_controls.installRequested.connect(self.open_model_manager)
        self.motion_view.curveEdited.connect(self._curve_edited)
        self.motion_view.previewRequested.connect(self.preview_motion)
        self.runner.progressed.connect(self._progress)
        self.runner.succeeded.connect(self._task_succeeded)
        self.runner.failed.connect(self._task_failed)
        self.runner.cancelled.connect(self._task_cancelled)
        self.runner.busyChanged.connect(self._busy_changed)
        self.takes_strip.selectionChanged.connect(self._takes_selected)
        self.takes_strip.renameRequested.connect(self.rename_take)
        self.takes_strip.deleteRequested.connect(self.delete_takes)
        self.takes_strip.exportRequested.connect(self.export_take)
        self.takes_strip.useSettingsRequested.connect(self.use_take_settings)

    # ---- inputs -------------------------------------------------------------------------
    def _analyse(self, path: Path, cancel: CancelToken) -> tuple[Portrait, PortraitAnalysis]:
        if self._portrait_models_missing():
            raise PortraitError("Face analysis needs the 3DDFA model files — open Models ▸ Manage Models… "
                                "to download or import them.")
        # Runs on the panel's worker thread: read plain values, never widgets.
        portrait, analysis, _cached = self.engine.analyse(path, self.analysis_resolution, "face")
        return portrait, analysis

    def open_portrait(self, path: str, face_index: int = 0) -> None:
        self.portrait_panel.open_portrait(path, face_index)
        self.window.panels["portrait"].raise_()

    def open_audio(self, path: str) -> None:
        self.audio_path = None
        self.audio_panel.open_audio(path)

    def _portrait_models_missing(self) -> bool:
        return not (self.store.root / "3ddfa").is_dir()

    def _portrait_ready(self, payload: Any) -> None:
        # Recent holds files that opened fine, however they were opened (drop, menu, panel, project).
        self.portrait_panel.set_recent(self.window.settings.add_recent("portrait", str(payload[0])))
        self._setup_changed("portrait", (str(payload[0]), self.portrait_panel.face_index))
        self._inputs_changed()
        self.window.statusBar().showMessage(f"Portrait ready: {Path(payload[0]).name}", 4000)

    def _portrait_failed(self, message: str) -> None:
        """The panel shows the problem inline; a dialog only adds something: the way to the model
        manager, or the details of an unexpected failure (a bug, not the user's photo)."""
        if self._portrait_models_missing():
            self.show_models_missing(message)
        elif self.portrait_panel.error_details:
            error_box(self.window, "Cannot use this portrait", message, self.portrait_panel.error_details).open()
        self._inputs_changed()

    def show_models_missing(self, message: str) -> None:
        manager = getattr(self, "_models_dialog", None)
        if manager is not None and manager.isVisible():
            manager.raise_()  # already open (e.g. at first start): the inline message is enough
            return
        self.models_missing_box = models_missing_box(self.window, message, self.open_model_manager)
        self.models_missing_box.open()

    def _face_chosen(self, index: int) -> None:
        if self.portrait_panel.path is not None:
            self._setup_changed("portrait", (str(self.portrait_panel.path), int(index)))
        self._inputs_changed()

    def _audio_ready(self, payload: Any) -> None:
        path, _speech = payload
        self.audio_path = str(path)
        self.window.settings.add_recent("audio", str(path))
        self.trim = self.audio_panel.trim()
        self.history.record("trim", self.trim)
        self._setup_changed("audio", (self.audio_path, self.trim))
        self._inputs_changed()
        self.window.statusBar().showMessage(f"Speech ready: {Path(path).name}", 4000)

    def _audio_failed(self, message: str) -> None:
        # Said inline in the Voice panel, which keeps the speech that worked before (if any).
        self.audio_path = str(self.audio_panel.path) if self.audio_panel.path is not None else None
        self._inputs_changed()

    def _trim_changed(self, start: float, end: Any) -> None:
        self.trim = (float(start), None if end is None else float(end))
        if self.audio_panel.path is not None and str(self.audio_panel.path) == self.audio_path:
            self._setup_changed("trim", self.trim)
        # else: the selection of a file just read, reported before the file itself (_audio_ready records it)
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        """Portrait, face, speech or trim changed: edited curves no longer fit; remember the setup."""
        self.motion_override = None
        self._schedule_autosave()
        self._mark_staleness()

    def _mark_staleness(self) -> None:
        """Say when the clip on screen was made from other inputs or settings than the window shows.
        A clip of another portrait, face, speech or trim cannot be exported as if it were this one."""
        if self.result is None:
            self.preview.set_notice("")
            return
        made, now = self.result.job, self.current_job()
        inputs_differ = now is None or _inputs_of(made) != _inputs_of(now)
        settings_differ = not inputs_differ and now is not None and _settings_of(made) != _settings_of(now)
        what = f"{self.current_take.name} was" if self.current_take is not None else "This clip was"
        if inputs_differ:
            text = f"{what} made from another portrait, face, speech or trim — Generate to update it."
        elif settings_differ:
            text = f"{what} made with earlier settings — Generate to see the new ones."
        else:
            text = ""
        self.preview.set_notice(text)
        # Export (Ctrl+E) is for the clip of what the window shows; any take exports from the strip, by name.
        self.window.export_action.setEnabled(not inputs_differ)

    def _controls_changed(self) -> None:
        self.analysis_resolution = self.controls.resolution()
        self._setup_changed("controls", self.controls.state())
        self._schedule_autosave()
        self._mark_staleness()

    def _curve_edited(self, kind: str, values: Any) -> None:
        base = self.motion_override or self.motion_view.sequences()
        if base is None:
            return
        try:
            self.motion_override = with_curve(base, kind, values)  # type: ignore[arg-type]
        except MotionError as exc:
            error_box(self.window, "Cannot use this curve", str(exc)).open()
            return
        self.window.statusBar().showMessage(f"Edited {kind} curve will be used by the next Generate", 5000)

    # ---- the job ------------------------------------------------------------------------
    def current_job(self) -> Job | None:
        """The job the window describes now, or None while a portrait or the speech is missing."""
        portrait = self.portrait_panel.path
        if portrait is None or self.portrait_panel.analysis is None or self.audio_path is None:
            return None
        start, end = self.trim
        job = Job(portrait=str(portrait), audio=self.audio_path, face_index=self.portrait_panel.face_index,
                  trim_start=start, trim_end=end, **self.carried)
        return self.controls.apply_to(job)

    def missing_inputs(self) -> str:
        parts = []
        if self.portrait_panel.analysis is None:
            parts.append("a portrait with a face")
        if self.audio_path is None:
            parts.append("a speech recording")
        return " and ".join(parts)

    # ---- generation ---------------------------------------------------------------------
    def generate(self) -> None:
        if self.runner.busy:
            return
        job = self.current_job()
        if job is None:
            self._say(f"Add {self.missing_inputs()} first.")
            return
        available, reason = video_availability(self.store).get(job.resolution, (False, ""))
        if not available:
            self.show_models_missing(f"DAWN {job.resolution} cannot run yet: {reason}")
            return
        seed = self.controls.next_seed_if_unlocked()
        if seed != job.motion.seed:
            job = self.controls.apply_to(job)
            self.history.record("controls", self.controls.state())  # a drawn seed is no undo step
        job = self._runnable(job)
        engine, override = self.engine, self.motion_override
        self.generation_started = time.monotonic()
        self.progress_bar.setValue(0)
        self.overlay.start("Generating — loading the models…")
        self._say("Generating…")
        store = self.takes

        def task(report: Any, cancel: CancelToken) -> tuple[str, GenerationResult, Take | TakeError]:
            result = engine.run(job, report, cancel, motion_override=override)
            try:  # written here, off the UI thread: a long clip's frames are a hundred megabytes
                kept: Take | TakeError = store.add(result)
            except TakeError as exc:
                kept = exc
            return "generate", result, kept

        self.runner.start(task)

    def _runnable(self, job: Job) -> Job:
        """``job`` as the studio runs it: exports go through the Export dialog, not the project's output
        (which may name an existing file), and a device this machine lacks gives way to the best one."""
        job = job.with_changes(output=OutputSettings())
        try:
            resolve_device(job.device)
        except ValueError as exc:
            log.info("project device not usable here: %s", exc)
            self._say(f"The project asks for device '{job.device}', which this machine lacks; using the best "
                      "one available.")
            job = job.with_changes(device="auto")
        return job

    def preview_motion(self) -> None:
        if self.runner.busy:
            return
        job = self.current_job()
        if job is None:
            self._say(f"Add {self.missing_inputs()} first.")
            return
        job = self._runnable(job)
        engine = self.engine
        self.overlay.start("Computing head motion and blinks…")
        self._say("Computing head motion…")
        self.runner.start(lambda report, cancel: ("motion", engine.preview_motion(job, cancel), job))

    def cancel(self) -> None:
        if self.runner.busy:
            self._say("Cancelling…")
            self.overlay.cancelling()
            self.runner.cancel()

    def _progress(self, event: Any) -> None:
        if isinstance(event, ProgressEvent):
            self.progress_bar.setValue(int(event.fraction * 1000))
            self.stage_label.setText(event.describe())
            self.overlay.progress(event)

    def _task_succeeded(self, payload: Any) -> None:
        kind = payload[0]
        if kind == "generate":
            self._show_result(payload[1], payload[2])
        elif kind == "motion":
            _, motion, job = payload
            portrait = self._portrait_state()
            self.motion_view.set_motion(motion, portrait, job.trim_start)
            self.window.panels["motion"].raise_()
            self.overlay.finished("Head motion ready", "See the curves in the Motion panel.")
            self._say("Head motion ready")

    def _show_result(self, result: GenerationResult, kept: Take | TakeError) -> None:
        """A new clip: kept as a take (selected in the strip), shown, and announced."""
        seconds = time.monotonic() - self.generation_started
        take = kept if isinstance(kept, Take) else None
        if isinstance(kept, TakeError):
            log.warning("%s", kept)
            self.window.statusBar().showMessage(f"{kept} — the clip is shown but not kept as a take.", 10000)
        if take is None:
            self._show_clip(result, None)
        else:
            self.session_takes.append(take.id)
            self._taken = (take.id, result)  # shown as it is in memory, not read back
            self.takes_strip.add_take(take)  # selecting it shows it
            self._set_modified()
            self._clean_up_takes()
            self._schedule_autosave()
        name = take.name if take is not None else "The clip"
        summary = f"{result.num_frames} frames ({result.duration_s:.1f} s of video) in {seconds:.1f} s"
        self.overlay.finished(f"Done — {name} is ready", summary)
        self.notifier.notify("DAWN Studio: clip ready", f"{name}: {summary}")
        self._say(f"Generated {summary}")
        for warning in result.warnings:
            self.window.statusBar().showMessage(warning, 8000)
        self.generationFinished.emit(result)

    def _show_clip(self, result: GenerationResult, take: Take | None) -> None:
        """Make ``result`` (the clip of ``take``, when it is one) the clip on screen."""
        if self.result is not None and self.result is not result:
            self.result.discard_previews()
        self.result = result
        self.current_take = take
        portrait = self._portrait_state() if self.portrait_panel.path is not None and \
            str(self.portrait_panel.path) == result.job.portrait else None
        self.motion_view.set_motion(result.motion, portrait, result.job.trim_start)
        photo = self.portrait_panel.view.photo()
        same_photo = portrait is not None and not photo.isNull()
        source = take if take is not None else result
        self.preview.load(source.preview_path("full"), source.preview_path("crop"),
                          photo if same_photo else None, self.portrait_panel.crop_preview() if same_photo else None)
        self.compare.stop()
        self.compare.start_before_after(source.preview_path("full-before"), source.preview_path("crop-before"))
        self._mark_staleness()  # settings moved while it ran: the clip shows the values it started with

    def _portrait_state(self) -> PortraitState | None:
        face = self.portrait_panel.chosen_face()
        return None if face is None else PortraitState.from_preprocessing(face.init_pose(), face.init_eye_bbox())

    def _task_failed(self, message: str, details: str) -> None:
        self._say("Generation failed")
        self.overlay.hide()
        error_box(self.window, "Generation failed", message, details).open()

    def _task_cancelled(self) -> None:
        self._say("Cancelled — nothing was kept")
        self.overlay.finished("Cancelled — nothing was kept")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """Esc cancels a generation wherever the focus is. Closing while generating or exporting
        cancels first and closes when the work has stopped, so no worker thread is torn down mid-step
        (a denoiser step can take many seconds)."""
        if self.runner.busy and _is_escape(event):
            # Esc cancels generation wherever the focus is; panels' own Esc (stop playback) waits.
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                self.cancel()
            return True
        if watched is self.window and event.type() == QEvent.Type.Close and not self._close_approved \
                and not self.closing and self.is_modified():
            event.ignore()
            self.confirm_unsaved("quitting", self._approve_close)
            return True
        if watched is self.window and event.type() == QEvent.Type.Close and self.busy_runners():
            event.ignore()
            if not self.closing:
                self.closing = True
                self.exports.clear_pending()  # exports waiting in the queue are not started any more
                for runner in self.busy_runners():
                    runner.cancel()
                    runner.busyChanged.connect(self._close_when_idle)
            self.window.statusBar().showMessage("Stopping… the current step finishes first, then DAWN Studio "
                                                "closes.")
            return True
        return super().eventFilter(watched, event)

    def _approve_close(self) -> None:
        self._close_approved = True
        self.window.close()

    def busy_runners(self) -> list[TaskRunner]:
        return [runner for runner in (self.runner, self.export_runner) if runner.busy]

    def _close_when_idle(self, busy: bool) -> None:
        if self.closing and not busy and not self.busy_runners():
            self.window.close()

    def _busy_changed(self, busy: bool) -> None:
        self.progress_bar.setVisible(busy)
        self.cancel_action.setEnabled(busy)
        self.generate_action.setEnabled(not busy)
        self.generate_button.setEnabled(not busy)
        self.preview_motion_action.setEnabled(not busy)
        if not busy:
            self.stage_label.clear()

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 6000)
        self.statusChanged.emit(text)

    # ---- export -------------------------------------------------------------------------
    def export(self) -> None:
        """Ask how and where (a free name, the last format and folder), then queue the export: it runs
        in the background, after any export still running."""
        result = self.result
        if result is None:
            return
        stem = Path(result.job.portrait).stem + "_talking"
        crop = (int(result.frames.shape[2]), int(result.frames.shape[1]))
        dialog = ExportDialog(Path.home() / stem, parent=self.window,
                              preferences=ExportPreferences(self.window.settings.store),
                              taken=self.exports.targets(), inputs=(result.job.portrait, result.job.audio),
                              frame_sizes={True: (result.portrait.width, result.portrait.height), False: crop},
                              num_frames=result.num_frames)
        self._export_dialog = dialog
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        self.start_export(dialog.result_request())

    def start_export(self, request: ExportRequest) -> None:
        """Queue an export of the current clip (it starts at once when no other export runs)."""
        if self.result is not None:
            self.exports.enqueue(self.result, request)

    def _exported(self, path: Path) -> None:
        self.window.settings.add_recent("export", str(path))

    # ---- models -------------------------------------------------------------------------
    def refresh_models(self) -> None:
        availability = video_availability(self.store)
        self.controls.set_available_resolutions(availability)
        self.window.banner.show_text(missing_models_text(self.store, availability), BANNER_BUTTON)
        self.controls.set_enhancer_available(*enhancer_readiness(self.store))

    def open_model_manager(self) -> ModelManagerDialog:
        dialog = ModelManagerDialog(self._store_factory, self.window)
        dialog.modelsChanged.connect(self._models_changed)
        dialog.open()
        self._models_dialog = dialog
        return dialog

    def free_memory(self) -> None:
        if self.runner.busy:
            self._say("Wait for the generation to finish (or cancel it) before unloading the models.")
            return
        self.engine.release_memory()
        self._say("Models unloaded; they load again on the next generation")

    def _maybe_first_run(self) -> None:
        dialog = first_run_dialog(self._store_factory, self.window)
        if dialog is not None:
            dialog.modelsChanged.connect(self._models_changed)
            dialog.open()
            self._models_dialog = dialog

    def _models_changed(self) -> None:
        store = self._store_factory()
        if store.root != self.engine.models.root:
            self.engine.release_memory()
            self.engine = Engine(store.root)
        self.store = store
        self.refresh_models()

    # ---- projects and autosave ------------------------------------------------------------
    def _schedule_autosave(self) -> None:
        if not self._restoring:
            self.autosave_timer.start()

    def session(self) -> Session:
        """This project's takes and what the window shows, as a project file keeps them."""
        current = self.current_take.id if self.current_take is not None else None
        return Session(tuple(self.session_takes), current if current in self.session_takes else None)

    def autosave(self) -> None:
        """Keep the whole setup (inputs, face, trim, controls, takes, the project it belongs to) for the
        next start, so a crash loses nothing."""
        job = self.current_job()
        if job is None or self._discard_session:
            return
        session = self.session()
        extra = {"project_path": str(self.project_path) if self.project_path is not None else None,
                 "modified": self.is_modified()}
        try:
            self.autosave_path.parent.mkdir(parents=True, exist_ok=True)
            save_project(self.autosave_path, job, Session(session.takes, session.current_take, extra))
        except OSError as exc:
            log.warning("autosave to %s failed: %s", self.autosave_path, exc)

    def restore_autosave(self) -> bool:
        """Reopen the last session: portrait, face, speech, trim, controls and takes, and the project it was."""
        if not self.autosave_path.is_file():
            return False
        try:
            job, session = load_project(self.autosave_path)
        except JobError as exc:
            log.warning("ignoring the autosaved setup: %s", exc)
            return False
        project = session.extra.get("project_path")
        self.project_path = Path(project) if isinstance(project, str) and project else None
        self.apply_job(job, session)
        self._modified = bool(session.extra.get("modified", False))
        self._update_title()
        self._clean_up_takes()
        return True

    def apply_job(self, job: Job, session: Session | None = None) -> None:
        """Show a job's setup (and a session's takes) as the new starting point: nothing to undo."""
        self._restoring = True
        try:
            self.carried = {name: getattr(job, name) for name in CARRIED_JOB_FIELDS}
            self.controls.load_from(job)
            self.history.clear()
            self.history.record("controls", self.controls.state())
            self._restore_pending = {}
            if Path(job.portrait).is_file():
                self._restore_pending["portrait"] = str(job.portrait)
                self.history.record("portrait", (str(job.portrait), job.face_index))
                self.open_portrait(job.portrait, job.face_index)
            if Path(job.audio).is_file():
                self._restore_pending["audio"] = str(job.audio)
                self.history.record("audio", (str(job.audio), (job.trim_start, job.trim_end)))
                self.history.record("trim", (job.trim_start, job.trim_end))
                self.audio_panel.open_audio(job.audio)
                self.audio_panel.set_trim(job.trim_start, job.trim_end)
                self.trim = (job.trim_start, job.trim_end)
            if session is not None:
                self.session_takes = list(session.takes)
                takes = self.take_list()
                current = session.current_take if session.current_take in self.session_takes else None
                self.session_takes = [t.id for t in takes]
                if current is None and takes:
                    current = takes[-1].id
                self.takes_strip.set_takes(takes)
            else:
                current = None
        finally:
            self._restoring = False
        if current is not None:
            self.takes_strip.select([current])
        self.undo_stack.setClean()
        self._modified = False
        missing = [p for p in (job.portrait, job.audio) if not Path(p).is_file()]
        if missing:
            self._say("Not found: " + ", ".join(Path(p).name for p in missing))

    def new_project(self) -> None:
        """An empty project: no clip, no takes (they stay in the store), nothing to undo."""
        self.project_path = None
        self.carried = {}
        self.compare.stop()
        if self.result is not None:
            self.result.discard_previews()  # the preview files live in a temp folder of their own
        self.result = None
        self.current_take = None
        self._taken = None
        self.session_takes = []
        self.takes_strip.set_takes([])
        self.preview.clear()
        self.motion_view.clear()
        self.window.export_action.setEnabled(False)
        self.history.clear()
        self.history.record("controls", self.controls.state())
        self.undo_stack.setClean()
        self._modified = False
        self._update_title()

    def choose_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Project", str(Path.home()), dialog_filter("project"))
        if path:
            self.open_project(path)

    def open_project(self, path: str) -> None:
        try:
            job, session = load_project(path)
        except JobError as exc:
            error_box(self.window, "Cannot open project", str(exc)).open()
            return
        self.compare.stop()
        if self.result is not None:
            self.result.discard_previews()
        self.result, self.current_take, self._taken = None, None, None
        self.preview.clear()
        self.motion_view.clear()
        self.window.export_action.setEnabled(False)
        self.project_path = Path(path)
        self.window.settings.add_recent("project", path)
        self.apply_job(job, session)
        self._update_title()

    def save_project(self, ask: bool = False) -> Path | None:
        job = self.current_job()
        if job is None:
            self._say(f"Nothing to save yet: add {self.missing_inputs()}.")
            return None
        path = self.project_path
        if path is None or ask:
            chosen, _ = QFileDialog.getSaveFileName(self.window, "Save Project", str(Path.home() / "talk.dawn"),
                                                    dialog_filter("project"))
            if not chosen:
                return None
            path = Path(chosen if chosen.endswith(".dawn") else chosen + ".dawn")
        try:
            save_project(path, job, self.session())
        except OSError as exc:
            error_box(self.window, "Cannot save project", f"{path}: {exc.strerror or exc}").open()
            return None
        self.project_path = path
        self.window.settings.add_recent("project", str(path))
        self.undo_stack.setClean()
        self._modified = False
        self._update_title()
        self.autosave()
        self._say(f"Saved {path.name}")
        return path

    # ---- shutdown ------------------------------------------------------------------------
    def shutdown(self) -> None:
        self._close_approved = True  # quitting: the window closes without another question
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        if self._discard_session:
            self.autosave_path.unlink(missing_ok=True)  # "Don't Save": the next start begins afresh
        else:
            self.autosave()
        self.exports.clear_pending()
        for runner in (self.runner, self.export_runner):
            runner.cancel()
            runner.wait()
        self.portrait_panel.shutdown()
        self.audio_panel.shutdown()
        for player in (self.compare.player, self.preview.player):
            player.stop()  # a MediaPlayer: stops without holding the GIL, which hung quitting (see media_player)
        if self.result is not None:
            self.result.discard_previews()

