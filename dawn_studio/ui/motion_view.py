"""Motion view: the head turn (yaw/pitch/roll) and eye-opening curves over the speech's timeline.

Shows what the motion sliders do before (or after) the expensive video generation: the curves
the video will follow, the photo's own pose as dashed lines (what 0 % strength gives), and a
playhead. The x axis is seconds on the waveform's timeline, so the window can keep both views
in step with :meth:`MotionView.set_x_range` and :attr:`MotionView.xRangeChanged`.

Creators can replace a curve from a CSV/NPY file, save one, or — with "Edit by dragging" on —
drag a curve up or down; the change is blended smoothly over about half a second around the
point grabbed. Each edit emits :attr:`MotionView.curveEdited` with the whole validated curve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..frame_rate import FPS
from ..stages.motion import (
    BLINK_INPUT_RANGE,
    POSE_INPUT_RANGE,
    CurveKind,
    MotionError,
    MotionSequences,
    PortraitState,
    read_curve,
    with_curve,
    write_curve,
)

#: Half-width, in frames, of the smooth bump a drag adds to a curve (about half a second in all).
EDIT_RADIUS_FRAMES = 6
#: Plotted curves: name → (curve kind, column, legend label, colour). Colours read on dark and light.
CURVES: dict[str, tuple[CurveKind, int, str, str]] = {
    "yaw": ("pose", 0, "Turn (yaw)", "#e4572e"),
    "pitch": ("pose", 1, "Nod (pitch)", "#2e86de"),
    "roll": ("pose", 2, "Tilt (roll)", "#17a589"),
    "eye_left": ("blink", 0, "Left eye", "#9b59b6"),
    "eye_right": ("blink", 1, "Right eye", "#d4a017"),
}
CURVE_LABELS = {
    "pose": "Head pose (yaw, pitch, roll, scale, tx, ty)",
    "blink": "Blinks (eye_left, eye_right)",
}
_INPUT_RANGE = {"pose": POSE_INPUT_RANGE, "blink": BLINK_INPUT_RANGE}
_EMPTY_TEXT = "No motion yet: press Preview motion (fast, head motion only) or Generate."


class _EditableViewBox(pg.ViewBox):
    """A view box that hands left-button drags to an editor while editing is on."""

    def __init__(self) -> None:
        super().__init__()
        self.editor: Callable[[str, QPointF, QPointF], None] | None = None

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:  # noqa: N802 (pyqtgraph API)
        if self.editor is None or ev.button() != Qt.MouseButton.LeftButton or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        phase = "start" if ev.isStart() else "finish" if ev.isFinish() else "move"
        start = self.mapSceneToView(ev.buttonDownScenePos(Qt.MouseButton.LeftButton))
        self.editor(phase, start, self.mapSceneToView(ev.scenePos()))


@dataclass
class _CurveDrag:
    """One drag on a curve: which curve, the frame grabbed, and the whole curve before the drag."""

    name: str
    frame: int
    before: np.ndarray


PLOTS_MIN_HEIGHT = 200


class MotionView(QWidget):
    """Stacked plots of head rotation (degrees) and eye-opening ratios against time in seconds."""

    #: ``(kind, values)``: the whole validated pose ``(F, 6)`` or blink ``(F, 2)`` curve after an edit.
    curveEdited = Signal(str, object)
    #: The creator asked for a quick motion-only preview.
    previewRequested = Signal()
    #: The creator dragged the playhead to this time (seconds).
    seekRequested = Signal(float)
    #: The creator panned or zoomed the time axis to ``(start, end)`` seconds.
    xRangeChanged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("motionView")
        self._sequences: MotionSequences | None = None
        self._portrait: PortraitState | None = None
        self._start = 0.0
        self._setting_range = False
        self._drag: _CurveDrag | None = None
        self._last_folder = ""
        self._build_toolbar()
        self._build_plots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._toolbar)
        layout.addWidget(self.graphics, 1)
        # Two readable plots or none: squeezed under two takes at 1024×640 they were a 20-px band with their
        # axis titles on top of each other. Below this the panel scrolls instead.
        self.graphics.setMinimumHeight(PLOTS_MIN_HEIGHT)
        self._apply_palette()
        self.clear()

    # construction ----------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.preview_button = QPushButton("Previe&w motion")
        self.preview_button.setToolTip(
            "Quickly work out only the head motion and blinks for this speech, without making the video"
        )
        self.preview_button.clicked.connect(self.previewRequested.emit)
        self.edit_button = QPushButton("Edit b&y dragging")
        self.edit_button.setCheckable(True)
        self.edit_button.setToolTip(
            "When on, drag a curve up or down to change the motion around that moment. "
            "When off, dragging scrolls the timeline"
        )
        self.edit_button.toggled.connect(self._edit_toggled)
        self.import_actions: dict[str, QAction] = {}
        self.export_actions: dict[str, QAction] = {}
        self.import_button = self._menu_button(
            "Import &curve…", "Replace the head pose or the blinks with a curve from a CSV or NPY file",
            self.import_actions, self.import_curve,
        )
        self.export_button = self._menu_button(
            "E&xport curve…", "Save the head pose or the blinks shown here as a CSV or NPY file",
            self.export_actions, self.export_curve,
        )
        # The message above the buttons: one row of buttons fits under the preview of a 1024-pixel window
        # ("Export curve…" was cut off at the window's edge).
        buttons = QHBoxLayout()
        for widget in (self.preview_button, self.edit_button, self.import_button, self.export_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        self._toolbar = QVBoxLayout()
        self._toolbar.setContentsMargins(6, 4, 6, 0)
        self._toolbar.addWidget(self.status_label)
        self._toolbar.addLayout(buttons)

    def _menu_button(
        self, text: str, tip: str, actions: dict[str, QAction], handler: Callable[[CurveKind], Any]
    ) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        for kind, label in CURVE_LABELS.items():
            action = menu.addAction(label + "…")
            action.triggered.connect(lambda _checked=False, k=kind: handler(k))
            actions[kind] = action
        button.setMenu(menu)
        return button

    def _build_plots(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setToolTip(
            "Solid lines: the motion the video follows. Dashed lines: the pose and eye openness "
            "in the photo, which 0 % strength keeps. Scroll to zoom the timeline"
        )
        self.pose_plot = self.graphics.addPlot(row=0, col=0, viewBox=_EditableViewBox())
        self.blink_plot = self.graphics.addPlot(row=1, col=0, viewBox=_EditableViewBox())
        self.blink_plot.setXLink(self.pose_plot)
        self.pose_plot.setLabel("left", "Head (°)")  # short: the plot may be only a few lines tall
        self.blink_plot.setLabel("left", "Eyes")
        self.blink_plot.setLabel("bottom", "Time (s)")
        self.pose_plot.getAxis("bottom").setStyle(showValues=False)
        self.blink_plot.getAxis("left").enableAutoSIPrefix(False)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.rest_lines: dict[str, pg.InfiniteLine] = {}
        self.playheads: list[pg.InfiniteLine] = []
        for plot in (self.pose_plot, self.blink_plot):
            plot.setMouseEnabled(x=True, y=False)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMenuEnabled(False)
            plot.addLegend(offset=(8, 4), colCount=3)
            playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=True)
            playhead.setZValue(10)
            playhead.sigDragged.connect(self._playhead_dragged)
            plot.addItem(playhead)
            self.playheads.append(playhead)
        for name, (kind, _column, label, colour) in CURVES.items():
            plot = self._plot_of(kind)
            self.curves[name] = plot.plot(name=label, pen=pg.mkPen(colour, width=2))
            rest = pg.InfiniteLine(angle=0, pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
            rest.setVisible(False)
            plot.addItem(rest)
            self.rest_lines[name] = rest
        self.pose_plot.getViewBox().sigXRangeChanged.connect(self._x_range_changed)

    def _plot_of(self, kind: str) -> pg.PlotItem:
        return self.pose_plot if kind == "pose" else self.blink_plot

    # public API ------------------------------------------------------------------------
    def set_motion(
        self, sequences: MotionSequences, portrait: PortraitState | None = None, start: float = 0.0
    ) -> None:
        """Show ``sequences`` (25 fps) from ``start`` seconds on; ``portrait`` adds the photo's pose lines.

        The time axis is fitted to the motion unless it covers the same span as before (the owner
        showing an edited curve back), so a zoomed-in view stays where the creator put it.
        """
        same_span = (
            self._sequences is not None
            and self._sequences.frames == sequences.frames
            and self._start == float(start)
        )
        self._sequences = sequences
        self._portrait = portrait
        self._start = float(start)
        self._drag = None
        self._show_curves()
        for name, (kind, column, _label, _colour) in CURVES.items():
            line = self.rest_lines[name]
            if portrait is None:
                line.setVisible(False)
            else:
                line.setValue(float((portrait.pose if kind == "pose" else portrait.blink)[column]))
                line.setVisible(True)
        seconds = sequences.frames / FPS
        self.status_label.setText(f"Motion for {seconds:.2f} s ({sequences.frames} frames at {FPS} fps)")
        self._set_actions_enabled(True)
        if not same_span:
            self.set_x_range(self._start, self._start + max(seconds, 1.0 / FPS))

    def sequences(self) -> MotionSequences | None:
        """What is shown, including edits and imports; None when empty."""
        return self._sequences

    def clear(self) -> None:
        """Back to the empty state (no motion yet, or the inputs changed)."""
        self._sequences = None
        self._portrait = None
        self._drag = None
        for curve in self.curves.values():
            curve.setData([], [])
        for line in self.rest_lines.values():
            line.setVisible(False)
        self.status_label.setText(_EMPTY_TEXT)
        self._set_actions_enabled(False)

    def set_playhead(self, seconds: float) -> None:
        for line in self.playheads:
            line.setValue(float(seconds))

    def playhead(self) -> float:
        return float(self.playheads[0].value())

    def set_x_range(self, start: float, end: float) -> None:
        """Show ``start``–``end`` seconds (the waveform's view); does not emit ``xRangeChanged``."""
        if not end > start:
            return
        self._setting_range = True
        try:
            self.pose_plot.setXRange(float(start), float(end), padding=0)
        finally:
            self._setting_range = False

    def x_range(self) -> tuple[float, float]:
        low, high = self.pose_plot.getViewBox().viewRange()[0]
        return float(low), float(high)

    def import_curve(self, kind: CurveKind, path: str | None = None) -> np.ndarray | None:
        """Replace the pose or blink curve from a file (asks for one when ``path`` is None).

        Returns the validated curve, or None when cancelled or refused (a message says why).
        """
        if self._sequences is None:
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, f"Import {CURVE_LABELS[kind]}", self._last_folder,
                "Curve files (*.csv *.npy *.txt);;All files (*)",
            )
            if not path:
                return None
        self._last_folder = str(Path(path).parent)
        try:
            values = read_curve(path, kind, self._sequences.frames)
        except MotionError as exc:
            QMessageBox.warning(self, "Cannot use this curve", str(exc))
            return None
        self._replace(kind, values)
        return values

    def export_curve(self, kind: CurveKind, path: str | None = None) -> Path | None:
        """Save the shown pose or blink curve (asks where when ``path`` is None); .csv unless .npy."""
        if self._sequences is None:
            return None
        if path is None:
            suggested = str(Path(self._last_folder or str(Path.home())) / f"{kind}.csv")
            path, _ = QFileDialog.getSaveFileName(
                self, f"Export {CURVE_LABELS[kind]}", suggested, "CSV table (*.csv);;NumPy array (*.npy)"
            )
            if not path:
                return None
        target = Path(path)
        if target.suffix.lower() not in (".csv", ".npy"):
            target = target.with_name(target.name + ".csv")
        values = self._sequences.pose if kind == "pose" else self._sequences.blink
        try:
            written = write_curve(target, values, kind)
        except (MotionError, OSError) as exc:
            QMessageBox.warning(self, "Cannot save the curve", f"{target}: {exc}")
            return None
        self._last_folder = str(written.parent)
        return written

    # drawing ---------------------------------------------------------------------------
    def _show_curves(self) -> None:
        if self._sequences is None:
            return
        times = self._start + np.arange(self._sequences.frames, dtype=np.float64) / FPS
        for name, (kind, column, _label, _colour) in CURVES.items():
            data = self._sequences.pose if kind == "pose" else self._sequences.blink
            self.curves[name].setData(times, data[:, column])

    def _set_actions_enabled(self, enabled: bool) -> None:
        for widget in (self.edit_button, self.import_button, self.export_button):
            widget.setEnabled(enabled)
        if not enabled:
            self.edit_button.setChecked(False)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """Plot background, axes and legend from the widget palette, so dark and light themes both read."""
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        self.graphics.setBackground(base)
        for plot in (self.pose_plot, self.blink_plot):
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(text))
                axis.setTextPen(pg.mkPen(text))
            legend = plot.legend
            if legend is not None:
                legend.setLabelTextColor(text)
                for _sample, label in legend.items:
                    label.setText(label.text)  # setLabelTextColor only restyles labels set afterwards
                backdrop = QColor(base)
                backdrop.setAlpha(200)
                legend.setBrush(pg.mkBrush(backdrop))
                legend.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Mid)))
        highlight = palette.color(QPalette.ColorRole.Highlight)
        for line in self.playheads:
            line.setPen(pg.mkPen(highlight, width=2))
            line.setHoverPen(pg.mkPen(highlight, width=4))

    # interaction -----------------------------------------------------------------------
    def _playhead_dragged(self, moved: pg.InfiniteLine) -> None:
        seconds = float(moved.value())
        for line in self.playheads:
            if line is not moved:
                line.setValue(seconds)
        self.seekRequested.emit(seconds)

    def _x_range_changed(self, _view: Any, bounds: tuple[float, float]) -> None:
        if not self._setting_range:
            self.xRangeChanged.emit(float(bounds[0]), float(bounds[1]))

    def _edit_toggled(self, editing: bool) -> None:
        for plot, kind in ((self.pose_plot, "pose"), (self.blink_plot, "blink")):
            view = plot.getViewBox()
            view.editor = (lambda phase, a, b, k=kind: self._edit(k, phase, a, b)) if editing else None
        self._drag = None

    def _edit(self, kind: CurveKind, phase: str, grabbed: QPointF, now: QPointF) -> None:
        """Drag handler: pick the curve nearest the grab point, then bend it towards the pointer."""
        if self._sequences is None:
            return
        if phase == "start" or self._drag is None:
            self._drag = self._grab(kind, grabbed)
            if self._drag is None:
                return
            self._plot_of(kind).getViewBox().disableAutoRange(pg.ViewBox.YAxis)
        drag = self._drag
        column = CURVES[drag.name][1]
        base = drag.before[:, column].astype(np.float64)
        offsets = np.arange(base.size) - drag.frame
        weights = np.where(
            np.abs(offsets) < EDIT_RADIUS_FRAMES,
            0.5 * (1.0 + np.cos(np.pi * offsets / EDIT_RADIUS_FRAMES)),
            0.0,
        )
        low, high = (bound[column] for bound in _INPUT_RANGE[kind])
        edited = drag.before.copy()
        edited[:, column] = np.clip(base + (now.y() - base[drag.frame]) * weights, low, high)
        self._show_only(kind, edited)
        if phase == "finish":
            self._drag = None
            self._plot_of(kind).getViewBox().enableAutoRange(pg.ViewBox.YAxis)
            try:
                self._replace(kind, edited)
            except MotionError as exc:
                self._show_curves()
                QMessageBox.warning(self, "Cannot use this edit", str(exc))

    def _grab(self, kind: CurveKind, point: QPointF) -> _CurveDrag | None:
        assert self._sequences is not None
        frames = self._sequences.frames
        frame = int(np.clip(round((point.x() - self._start) * FPS), 0, frames - 1))
        data = self._sequences.pose if kind == "pose" else self._sequences.blink
        names = [name for name, spec in CURVES.items() if spec[0] == kind and self.curves[name].isVisible()]
        if not names:
            return None
        nearest = min(names, key=lambda name: abs(float(data[frame, CURVES[name][1]]) - point.y()))
        return _CurveDrag(nearest, frame, data.copy())

    def _show_only(self, kind: CurveKind, values: np.ndarray) -> None:
        """Redraw one kind's curves from ``values`` while dragging, without committing them."""
        assert self._sequences is not None
        times = self._start + np.arange(values.shape[0], dtype=np.float64) / FPS
        for name, (curve_kind, column, _label, _colour) in CURVES.items():
            if curve_kind == kind:
                self.curves[name].setData(times, values[:, column])

    def _replace(self, kind: CurveKind, values: np.ndarray) -> None:
        """Show a validated new curve and tell the owner; raises MotionError for an unusable one."""
        assert self._sequences is not None
        self._sequences = with_curve(self._sequences, kind, values)
        self._show_curves()
        curve = self._sequences.pose if kind == "pose" else self._sequences.blink
        self.curveEdited.emit(kind, curve.copy())
