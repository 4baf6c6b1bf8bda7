"""The motion view plots what it is given, follows the playhead and imports/exports/edits curves."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from dawn_studio.stages.motion import MotionSequences, PortraitState, read_curve, write_curve
from dawn_studio.ui.motion_view import EDIT_RADIUS_FRAMES, FPS, MotionView

FRAMES = 50


def _motion(frames: int = FRAMES) -> MotionSequences:
    t = np.arange(frames, dtype=np.float32) / FPS
    pose = np.stack([5 * np.sin(t), 3 * np.cos(t), t - 1, np.full_like(t, 5e-4), 60 + t, 62 - t], axis=1)
    blink = np.stack([0.3 - 0.05 * t, 0.28 + 0.01 * t], axis=1)
    return MotionSequences(pose, blink)


def _portrait() -> PortraitState:
    return PortraitState(np.array([2.0, -1.0, 0.5, 5e-4, 60.0, 62.0]), np.array([0.31, 0.29]))


@pytest.fixture
def view(qtbot):
    widget = MotionView()
    qtbot.addWidget(widget)
    widget.resize(800, 500)
    widget.show()
    return widget


@pytest.fixture
def warnings(monkeypatch):
    shown = []
    def record(parent, title, text, *args, **kwargs):
        shown.append((title, text))

    monkeypatch.setattr(QMessageBox, "warning", record)
    return shown


def test_plots_the_given_curves_over_seconds(view):
    motion = _motion()
    view.set_motion(motion, _portrait(), start=1.5)
    times, yaw = view.curves["yaw"].getData()
    np.testing.assert_allclose(times, 1.5 + np.arange(FRAMES) / FPS)
    np.testing.assert_array_equal(yaw, motion.pose[:, 0])
    np.testing.assert_array_equal(view.curves["pitch"].getData()[1], motion.pose[:, 1])
    np.testing.assert_array_equal(view.curves["roll"].getData()[1], motion.pose[:, 2])
    np.testing.assert_array_equal(view.curves["eye_left"].getData()[1], motion.blink[:, 0])
    np.testing.assert_array_equal(view.curves["eye_right"].getData()[1], motion.blink[:, 1])
    assert view.curves["yaw"] in view.pose_plot.listDataItems()
    assert view.curves["eye_left"] in view.blink_plot.listDataItems()
    assert view.rest_lines["pitch"].isVisible() and view.rest_lines["pitch"].value() == pytest.approx(-1.0)
    assert view.rest_lines["eye_right"].value() == pytest.approx(0.29)
    assert view.x_range() == pytest.approx((1.5, 1.5 + FRAMES / FPS))
    assert "2.00 s" in view.status_label.text() and view.import_button.isEnabled()
    legend_labels = [label.text for _sample, label in view.pose_plot.legend.items]
    assert any("Turn (yaw)" in text for text in legend_labels) and len(legend_labels) == 3


def test_clear_empties_the_plots(view):
    view.set_motion(_motion(), _portrait())
    view.clear()
    assert view.sequences() is None
    assert all(curve.getData()[0] is None or len(curve.getData()[0]) == 0 for curve in view.curves.values())
    assert not any(line.isVisible() for line in view.rest_lines.values())
    assert not view.import_button.isEnabled() and not view.export_button.isEnabled()
    assert "No motion yet" in view.status_label.text()


def test_without_portrait_no_rest_lines(view):
    view.set_motion(_motion())
    assert not any(line.isVisible() for line in view.rest_lines.values())


def test_playhead_and_x_range(view, qtbot):
    view.set_motion(_motion())
    view.set_playhead(0.84)
    assert view.playhead() == pytest.approx(0.84)
    assert all(line.value() == pytest.approx(0.84) for line in view.playheads)
    with qtbot.assertNotEmitted(view.xRangeChanged):
        view.set_x_range(0.5, 1.0)
    assert view.x_range() == pytest.approx((0.5, 1.0))
    assert view.blink_plot.getViewBox().viewRange()[0] == pytest.approx([0.5, 1.0]), "the plots share time"
    with qtbot.waitSignal(view.xRangeChanged, timeout=1000) as signal:
        view.blink_plot.getViewBox().translateBy(x=0.25)
    assert signal.args == pytest.approx([0.75, 1.25])


def test_showing_the_same_span_again_keeps_the_zoom(view):
    view.set_motion(_motion())
    view.set_x_range(0.2, 0.6)
    view.set_motion(_motion())
    assert view.x_range() == pytest.approx((0.2, 0.6))
    view.set_motion(_motion(75))
    assert view.x_range() == pytest.approx((0.0, 3.0))


def test_preview_button_asks_for_a_preview(view, qtbot):
    with qtbot.waitSignal(view.previewRequested, timeout=1000):
        qtbot.mouseClick(view.preview_button, Qt.MouseButton.LeftButton)


def test_dragging_the_playhead_asks_to_seek(view, qtbot):
    view.set_motion(_motion())
    with qtbot.waitSignal(view.seekRequested, timeout=1000) as signal:
        view.playheads[1].setValue(1.2)
        view.playheads[1].sigDragged.emit(view.playheads[1])
    assert signal.args == [pytest.approx(1.2)] and view.playheads[0].value() == pytest.approx(1.2)


def test_bad_csv_shows_a_clear_error(view, qtbot, tmp_path, warnings):
    view.set_motion(_motion())
    bad = tmp_path / "blink.csv"
    bad.write_text("eye_left,eye_right\n0.3,0.3\n0.2,oops\n", encoding="utf-8")
    with qtbot.assertNotEmitted(view.curveEdited):
        assert view.import_curve("blink", str(bad)) is None
    assert warnings and "line 3" in warnings[-1][1]
    short = tmp_path / "short.csv"
    short.write_text("eye_left,eye_right\n0.3,0.3\n", encoding="utf-8")
    view.import_curve("blink", str(short))
    assert "1 frames but the speech has 50 frames" in warnings[-1][1]


def test_good_csv_through_the_menu_emits_curve_edited(view, qtbot, tmp_path, monkeypatch, warnings):
    motion = _motion()
    view.set_motion(motion, _portrait())
    good = tmp_path / "pose.csv"
    rows = ["frame,yaw,pitch,roll,scale,tx,ty"]
    rows += [f"{i},{10 + i * 0.1},0,0,0.0005,60,62" for i in range(FRAMES)]
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(good), ""))
    with qtbot.waitSignal(view.curveEdited, timeout=1000) as signal:
        view.import_actions["pose"].trigger()
    kind, values = signal.args
    assert kind == "pose" and values.shape == (FRAMES, 6) and values.dtype == np.float32
    np.testing.assert_allclose(values[:, 0], 10 + np.arange(FRAMES) * 0.1, rtol=1e-6)
    np.testing.assert_allclose(view.curves["yaw"].getData()[1], values[:, 0])
    np.testing.assert_array_equal(view.sequences().blink, motion.blink)  # the other curve is untouched
    assert not warnings


def test_cancelled_import_changes_nothing(view, qtbot, monkeypatch):
    view.set_motion(_motion())
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    with qtbot.assertNotEmitted(view.curveEdited):
        view.import_actions["blink"].trigger()


def test_export_writes_a_curve_read_curve_reads_back(view, tmp_path, monkeypatch, warnings):
    motion = _motion()
    view.set_motion(motion)
    target = tmp_path / "eyes"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    view.export_actions["blink"].trigger()
    np.testing.assert_array_equal(read_curve(tmp_path / "eyes.csv", "blink", FRAMES), motion.blink)
    written = view.export_curve("pose", str(tmp_path / "pose.npy"))
    np.testing.assert_array_equal(np.load(written), motion.pose)
    assert view.export_curve("pose", str(tmp_path / "missing" / "pose.csv")) is None
    assert warnings and "missing" in warnings[-1][1]


def test_round_trip_through_write_curve(view, qtbot, tmp_path):
    motion = _motion()
    view.set_motion(motion)
    path = write_curve(tmp_path / "blink.npy", motion.blink[::-1], "blink")
    with qtbot.waitSignal(view.curveEdited, timeout=1000) as signal:
        view.import_curve("blink", str(path))
    np.testing.assert_array_equal(signal.args[1], motion.blink[::-1])


def _drag(view: MotionView, plot, start: QPointF, end: QPointF) -> None:
    """A real left-button drag on the plot's pixels, from one data point to another."""
    viewport = view.graphics.viewport()
    vb = plot.getViewBox()

    def to_viewport(point: QPointF) -> QPoint:
        return view.graphics.mapFromScene(vb.mapViewToScene(point))

    def send(kind, point: QPoint, buttons) -> None:
        event = QMouseEvent(kind, QPointF(point), viewport.mapToGlobal(QPointF(point)),
                            Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)

    a, b = to_viewport(start), to_viewport(end)
    send(QEvent.Type.MouseButtonPress, a, Qt.MouseButton.LeftButton)
    for step in range(1, 6):
        send(QEvent.Type.MouseMove, a + (b - a) * (step / 5), Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseButtonRelease, b, Qt.MouseButton.NoButton)


def test_drag_editing_bends_the_nearest_curve_smoothly(view, qtbot):
    motion = _motion()
    view.set_motion(motion, _portrait())
    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    assert view.edit_button.isChecked()
    frame = 25
    seconds = frame / FPS
    roll = float(motion.pose[frame, 2])
    with qtbot.waitSignal(view.curveEdited, timeout=2000) as signal:
        _drag(view, view.pose_plot, QPointF(seconds, roll), QPointF(seconds, roll + 2.0))
    kind, values = signal.args
    assert kind == "pose"
    change = values[:, 2] - motion.pose[:, 2]
    assert change[frame] == pytest.approx(2.0, abs=0.3), "the grabbed point follows the pointer"
    assert np.all(change[: frame - EDIT_RADIUS_FRAMES + 1] == 0)
    assert np.all(change[frame + EDIT_RADIUS_FRAMES:] == 0)
    assert np.all(np.diff(change[frame - EDIT_RADIUS_FRAMES: frame + 1]) >= 0), "a smooth rise to the peak"
    np.testing.assert_array_equal(values[:, [0, 1, 3, 4, 5]], motion.pose[:, [0, 1, 3, 4, 5]])
    np.testing.assert_allclose(view.curves["roll"].getData()[1], values[:, 2])


def test_drag_without_edit_mode_scrolls_instead(view, qtbot):
    motion = _motion()
    view.set_motion(motion)
    before = view.x_range()
    with qtbot.assertNotEmitted(view.curveEdited):
        _drag(view, view.blink_plot, QPointF(1.0, 0.25), QPointF(0.5, 0.25))
    assert view.x_range() != pytest.approx(before)
    np.testing.assert_array_equal(view.sequences().blink, motion.blink)


def test_follows_dark_and_light_palettes(view):
    for base, text in (("#17181c", "#e6e6e6"), ("#ffffff", "#1d1d20")):
        palette = view.palette()
        palette.setColor(QPalette.ColorRole.Base, base)
        palette.setColor(QPalette.ColorRole.Text, text)
        view.setPalette(palette)
        assert view.graphics.backgroundBrush().color().name() == base
        assert view.pose_plot.getAxis("left").textPen().color().name() == text
        for _sample, label in view.blink_plot.legend.items:
            assert text in label.item.toHtml(), "legend text follows the palette"


def test_buttons_explain_themselves_and_need_motion(view):
    buttons = (view.preview_button, view.edit_button, view.import_button, view.export_button)
    assert all(len(button.toolTip()) > 20 and "&" in button.text() for button in buttons)
    assert view.preview_button.isEnabled() and not view.edit_button.isEnabled()
    assert view.import_curve("pose", "/nonexistent.csv") is None, "nothing to replace yet"
