"""Waveform display (pyqtgraph) with zoom, a playhead and a draggable trim range.

Only the visible span is drawn, as one (min, max) pair per screen pixel, recomputed from the
precomputed ``WaveformOverview`` whenever the view is zoomed or panned: an hour-long clip
redraws as fast as a short one. Redraws are coalesced into one per event-loop turn.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from ..stages.audio import Envelope, WaveformOverview

MIN_BUCKETS = 256
MAX_BUCKETS = 4096
MIN_VISIBLE_S = 0.02  # the deepest zoom: 20 ms across the view
ZOOM_STEP = 2.0


class WaveformView(QWidget):
    """Shows one mono signal; emits the trim range as the user drags it and when the drag ends."""

    regionChanged = Signal(float, float)  # while dragging
    regionEdited = Signal(float, float)  # the user finished moving the range
    visibleRangeChanged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples: np.ndarray | None = None
        self.overview: WaveformOverview | None = None
        self.current_envelope: Envelope | None = None
        self.redraw_count = 0

        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.hideAxis("left")
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setToolTip("Mouse wheel: zoom · drag the background: scroll · drag the shaded range or its "
                             "edges: trim")
        self.view_box = self.plot.getViewBox()
        self.view_box.setMouseEnabled(x=True, y=False)
        self.view_box.setYRange(-1.0, 1.0, padding=0.02)
        self.view_box.setLimits(yMin=-1.05, yMax=1.05)

        self.min_curve = pg.PlotCurveItem()
        self.max_curve = pg.PlotCurveItem()
        self.fill = pg.FillBetweenItem(self.min_curve, self.max_curve)
        for item in (self.fill, self.min_curve, self.max_curve):
            self.plot.addItem(item)

        self.region = pg.LinearRegionItem(values=(0.0, 1.0), swapMode="block")
        self.region.setZValue(10)
        self.region.sigRegionChanged.connect(self._region_moving)
        self.region.sigRegionChangeFinished.connect(self._region_finished)
        self.plot.addItem(self.region)

        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=False)
        self.playhead.setZValue(20)
        self.plot.addItem(self.playhead)
        self._apply_palette()

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(0)
        self._redraw_timer.timeout.connect(self.redraw)
        self.view_box.sigXRangeChanged.connect(self._range_changed)
        self.view_box.sigResized.connect(self._redraw_timer.start)  # one bucket per pixel of the new width

        self.placeholder = QLabel("Drop a speech recording or a video here, open one, or record one")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(self.plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self.clear()

    def _apply_palette(self) -> None:
        """Colours from the application palette, so the light and dark themes both read well."""
        palette = self.palette()
        wave = palette.highlight().color()
        self.plot.setBackground(palette.base().color())
        pen = pg.mkPen(wave, width=1)
        self.min_curve.setPen(pen)
        self.max_curve.setPen(pen)
        self.fill.setBrush(pg.mkBrush(wave))
        shade = QColor(palette.text().color())
        shade.setAlpha(28)
        hover = QColor(shade)
        hover.setAlpha(50)
        self.region.setBrush(pg.mkBrush(shade))
        self.region.setHoverBrush(pg.mkBrush(hover))
        self.playhead.setPen(pg.mkPen(palette.text().color(), width=1))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    # ---- content ------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return self.overview.duration_s if self.overview is not None else 0.0

    def set_signal(self, samples: np.ndarray, sample_rate: int, overview: WaveformOverview | None = None) -> None:
        """Show ``samples`` (mono float32) in full, with the trim range over all of it."""
        self.samples = samples
        self.overview = overview or WaveformOverview.from_samples(samples, sample_rate)
        duration = self.overview.duration_s
        self.view_box.setLimits(xMin=0.0, xMax=duration, minXRange=min(MIN_VISIBLE_S, duration))
        self.region.setBounds((0.0, duration))
        self.set_region(0.0, duration)
        self.region.show()
        self.playhead.setBounds((0.0, duration))
        self.set_playhead(0.0)
        self.playhead.show()
        self.pages.setCurrentWidget(self.plot)
        self.fit()
        self.redraw()

    def clear(self) -> None:
        self.samples = None
        self.overview = None
        self.current_envelope = None
        self.min_curve.setData([], [])
        self.max_curve.setData([], [])
        self.region.hide()
        self.playhead.hide()
        self.pages.setCurrentWidget(self.placeholder)

    # ---- view ---------------------------------------------------------------------
    def visible_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.view_box.viewRange()
        return float(x0), float(x1)

    def set_visible_range(self, start_s: float, end_s: float) -> None:
        if self.overview is None:
            return
        duration = self.duration_s
        width = min(max(end_s - start_s, min(MIN_VISIBLE_S, duration)), duration)
        start = min(max(0.0, start_s), duration - width)
        self.view_box.setXRange(start, start + width, padding=0.0)

    def zoom(self, factor: float, centre_s: float | None = None) -> None:
        """Zoom in (factor > 1) or out around ``centre_s`` (default: the middle of the view)."""
        x0, x1 = self.visible_range()
        centre = (x0 + x1) / 2 if centre_s is None else centre_s
        half = (x1 - x0) / factor / 2
        self.set_visible_range(centre - half, centre + half)

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1.0 / ZOOM_STEP)

    def fit(self) -> None:
        if self.overview is not None:
            self.view_box.setXRange(0.0, self.duration_s, padding=0.0)

    def _range_changed(self, *_args: object) -> None:
        self._redraw_timer.start()
        x0, x1 = self.visible_range()
        self.visibleRangeChanged.emit(x0, x1)

    def _bucket_count(self) -> int:
        pixels = int(self.view_box.width()) if self.view_box.width() > 0 else 0
        return int(min(max(pixels, MIN_BUCKETS), MAX_BUCKETS))

    def redraw(self) -> None:
        """Recompute the envelope of the visible span at one bucket per pixel."""
        self._redraw_timer.stop()
        if self.overview is None or self.samples is None:
            return
        x0, x1 = self.visible_range()
        start = max(0.0, x0)
        end = min(self.duration_s, x1)
        rate = self.overview.sample_rate
        if end - start < 1.0 / rate:
            return
        first = int(round(start * rate))
        count = max(1, int(round(end * rate)) - first)
        envelope = self.overview.envelope(min(self._bucket_count(), count), start, end, samples=self.samples)
        times = envelope.starts / rate
        self.min_curve.setData(times, envelope.mins)
        self.max_curve.setData(times, envelope.maxs)
        self.current_envelope = envelope
        self.redraw_count += 1

    # ---- trim range and playhead ---------------------------------------------------
    def region_bounds(self) -> tuple[float, float]:
        start, end = self.region.getRegion()
        return float(start), float(end)

    def set_region(self, start_s: float, end_s: float) -> None:
        """Move the trim range without emitting regionChanged/regionEdited."""
        self.region.blockSignals(True)
        try:
            self.region.setRegion((start_s, end_s))
        finally:
            self.region.blockSignals(False)
        self.region.update()

    def _region_moving(self) -> None:
        self.regionChanged.emit(*self.region_bounds())

    def _region_finished(self) -> None:
        self.regionEdited.emit(*self.region_bounds())

    def set_playhead(self, seconds: float) -> None:
        self.playhead.setValue(min(max(0.0, seconds), self.duration_s))

    def playhead_position(self) -> float:
        return float(self.playhead.value())

    def plotted_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, mins, maxs) as drawn: what the user sees."""
        times, mins = self.min_curve.getData()
        _, maxs = self.max_curve.getData()
        empty = np.empty(0)
        return (times if times is not None else empty, mins if mins is not None else empty,
                maxs if maxs is not None else empty)
