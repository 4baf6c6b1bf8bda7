"""Progress where the eye is: the overlay on the preview, its steady estimate, and the done notification."""

import pytest
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from dawn_studio.engine.events import ProgressTracker
from dawn_studio.progress_estimate import Rate, TimeLeft
from dawn_studio.ui.progress_overlay import DoneNotifier, ProgressOverlay, notification_route, pace_text


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_time_left_is_a_range_that_counts_down_without_jumping():
    clock = Clock()
    left = TimeLeft(clock)
    assert left.text() == "estimating time left…"
    left.update(None)
    assert left.range() is None
    left.update(60.0)
    low, high = left.range()
    assert low < 60 < high and high - low >= 30, "one report: a wide range"
    assert "–" in left.text() and left.text().endswith("left")
    widths = []
    for eta in (58.0, 70.0, 52.0, 56.0, 55.0, 54.0, 53.0):  # a wobbling per-step measurement
        clock.now += 1.0
        left.update(eta)
        low, high = left.range()
        widths.append(high - low)
        assert 40 <= low and high <= 80, "the range holds the reports, not one jumpy value"
    assert widths[-1] < widths[0], "the range narrows as reports agree"
    clock.now += 30.0  # no report for a while: the range still counts down
    low_later, high_later = left.range()
    assert high_later <= high - 29


def test_time_left_wording_near_the_end():
    clock = Clock()
    left = TimeLeft(clock)
    left.update(3.0)
    assert left.text() == "almost done"


def test_the_tracker_estimates_only_after_two_denoiser_steps_and_the_overlay_says_so(qtbot):
    clock = Clock()
    events = []
    tracker = ProgressTracker(["load", "diffusion", "render"], events.append, clock=clock)
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(800, 600)
    host.show()
    cancelled = []
    overlay = ProgressOverlay(host, lambda: cancelled.append(True), clock)
    overlay.start()
    assert overlay.isVisible() and "estimating" in overlay.detail.text()
    tracker.update("load", 1, 1)
    overlay.progress(events[-1])
    clock.now += 1
    tracker.update("diffusion", 0, 20)
    overlay.progress(events[-1])
    assert events[-1].eta_seconds is None and "estimating" in overlay.detail.text()
    for step in (1, 2):
        clock.now += 2
        tracker.update("diffusion", step, 20)
        overlay.progress(events[-1])
    assert events[-1].eta_seconds is not None
    assert "left" in overlay.detail.text() and "estimating" not in overlay.detail.text()
    assert "step 2 of 20" in overlay.title.text() and "s per step" in overlay.detail.text()
    geometry = overlay.geometry()
    assert host.rect().contains(geometry), "the overlay sits inside the preview"
    overlay.cancel_button.click()
    assert cancelled == [True]
    overlay.finished("Done — Take 1 is ready", "50 frames")
    assert overlay.isVisible() and not overlay.cancel_button.isVisible() and overlay.close_button.isVisible()
    overlay.close_button.click()
    assert not overlay.isVisible()


def test_pace_in_frames_for_frame_stages():
    assert pace_text("render", 12.34) == "12.3 frames/s"
    assert pace_text("diffusion", 0.5) == "2.0 s per step"
    assert pace_text("diffusion", None) == ""
    clock = Clock()
    rate = Rate(clock)
    rate.update("render", 0)
    clock.now += 2
    rate.update("render", 50)
    assert rate.per_second() == pytest.approx(25.0)
    rate.update("compose", 1)
    assert rate.per_second() is None, "a new stage starts a new measurement"


@pytest.mark.parametrize(("active", "tray", "route"), [
    (True, True, "none"), (True, False, "none"), (False, True, "tray"), (False, False, "alert")])
def test_a_desktop_notification_only_when_the_window_is_not_active(active, tray, route):
    assert notification_route(active, tray) == route


def test_the_notifier_does_not_need_a_tray(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    notifier = DoneNotifier(window)
    assert not window.isActiveWindow()
    route = notifier.notify("DAWN Studio", "Take 1 is ready")  # offscreen: no tray, window not active
    assert route == ("tray" if QSystemTrayIcon.isSystemTrayAvailable() else "alert")
    assert notifier.last_route == route and (notifier.tray is None) == (route != "tray")


def test_the_overlay_sits_over_the_picture_not_over_the_notices_above_it(qtbot, tmp_path):
    """Seen on the screenshots: the done notice covered the middle of the "no sound output" line above
    the clip, leaving its ends peeking out on both sides. It now sits at the top of the picture, and
    follows it down when a notice appears."""
    from PySide6.QtCore import QPoint, QRect

    from dawn_studio.ui.preview import PreviewPlayer

    preview = PreviewPlayer(audio_outputs=lambda: [])
    qtbot.addWidget(preview)
    preview.resize(700, 500)
    preview.show()
    qtbot.waitExposed(preview)
    overlay = ProgressOverlay(preview, lambda: None, anchor=preview.video_view)
    overlay.finished("Done — Take 1 is ready", "100 frames (4.0 s of video) in 3.1 s")
    preview.set_notice("Take 1 was made with earlier settings — Generate to see the new ones.")
    qtbot.waitUntil(lambda: preview.notice.isVisible())

    def rect(widget) -> QRect:
        return QRect(widget.mapTo(preview, QPoint(0, 0)), widget.size())

    qtbot.waitUntil(lambda: not rect(overlay).intersects(rect(preview.notice)), timeout=2000)
    assert rect(preview.video_view).contains(rect(overlay).topLeft())
    preview.set_notice("")
    qtbot.waitUntil(lambda: rect(overlay).top() == rect(preview.video_view).top() + 8, timeout=2000)
