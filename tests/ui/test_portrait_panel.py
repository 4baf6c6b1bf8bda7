"""Portrait panel on real 3DDFA weights: faces outlined, model crop, choosing a face by click, keys
and combo, inline messages for bad files and faceless photos, drag-and-drop, recent files,
superseded requests, and a live event loop while the analysis runs."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog
from support.paths import sample_portrait, tddfa_model_dir

from dawn_studio.stages.portrait import NO_FACE_MESSAGE, analyse_portrait, load_portrait, load_portrait_models
from dawn_studio.ui import portrait_panel as panel_module
from dawn_studio.ui.portrait_panel import (
    BUSY_TEXT,
    MAX_DISPLAY_SIDE,
    THUMBNAIL_SIDE,
    PortraitPanel,
    describe_eyes,
    describe_pose,
    display_image,
)

OUTPUT_SIZE = 256
TIMEOUT = 20_000  # ms; generous for a loaded 2-core CI box


@pytest.fixture(scope="module")
def models():
    return load_portrait_models(tddfa_model_dir())


class Analyser:
    """The real stage, with an optional gate per file name so a test can hold an analysis open."""

    def __init__(self, models):
        self.models = models
        self.gates: dict[str, threading.Event] = {}
        self.started: list[str] = []
        self.threads: list[threading.Thread] = []
        self.finished: list[str] = []  # returned or raised

    def __call__(self, path: Path, cancel):
        self.started.append(path.name)
        self.threads.append(threading.current_thread())
        try:
            gate = self.gates.get(path.name)
            if gate is not None:
                assert gate.wait(20), "test gate never opened"
            cancel.check()
            portrait = load_portrait(path)
            cancel.check()
            return portrait, analyse_portrait(portrait, self.models, output_size=OUTPUT_SIZE)
        finally:
            self.finished.append(path.name)


@pytest.fixture
def analyser(models):
    return Analyser(models)


@pytest.fixture
def panel(qtbot, analyser):
    widget = PortraitPanel(analyser)
    qtbot.addWidget(widget)
    widget.resize(700, 640)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    for gate in analyser.gates.values():
        gate.set()
    widget.shutdown()


@pytest.fixture
def two_faces(tmp_path):
    """Two sample portraits side by side: a photo with two faces."""
    left = Image.open(sample_portrait("real_female_1.jpeg")).convert("RGB")
    right = Image.open(sample_portrait("real_male1.jpeg")).convert("RGB")
    canvas = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), (128, 128, 128))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width, 0))
    path = tmp_path / "two_faces.png"
    canvas.save(path)
    return path


def open_and_wait(qtbot, panel, path, timeout=TIMEOUT):
    with qtbot.waitSignal(panel.portraitReady, timeout=timeout) as blocker:
        panel.open_portrait(path)
    return blocker.args[0]


def expected_rect(panel, box):
    """A box in photo pixels mapped by the fit-and-centre rule, computed independently."""
    analysis = panel.analysis
    view = panel.view
    scale = min(view.width() / analysis.image_width, view.height() / analysis.image_height)
    dx = (view.width() - analysis.image_width * scale) / 2
    dy = (view.height() - analysis.image_height * scale) / 2
    x1, y1, x2, y2 = box[:4]
    return dx + x1 * scale, dy + y1 * scale, dx + x2 * scale, dy + y2 * scale


def assert_rect_close(rect, expected, tolerance=1.5):
    actual = (rect.left(), rect.top(), rect.right(), rect.bottom())
    assert np.allclose(actual, expected, atol=tolerance), (actual, expected)


def test_sample_portrait_shows_its_face_crop_and_info(qtbot, panel, analyser):
    path = sample_portrait("real_female_1.jpeg")
    shown_path, portrait, analysis = open_and_wait(qtbot, panel, path)
    assert shown_path == path and portrait.width == analysis.image_width
    assert analyser.threads and all(t is not threading.main_thread() for t in analyser.threads)
    assert not panel.busy and not panel.busy_row.isVisible()
    assert panel.face_index == 0 and len(analysis.faces) == 1

    rects = panel.face_rects()
    assert len(rects) == 1
    assert_rect_close(rects[0], expected_rect(panel, analysis.faces[0].box))
    assert panel.view.image_rect().contains(rects[0])
    assert_rect_close(panel.crop_rect(), expected_rect(panel, analysis.faces[0].crop.box))

    crop = panel.crop_preview()
    assert crop.size() == QSize(OUTPUT_SIZE, OUTPUT_SIZE)
    thumbnail = panel.thumbnail.pixmap()
    assert panel.thumbnail.isVisible() and thumbnail.width() == THUMBNAIL_SIDE == thumbnail.height()

    # Plain words for a creator (the sample faces slightly to the right with the chin a little down, eyes
    # open); the 3DDFA numbers are in the tooltip.
    info = panel.info_label.text()
    yaw, pitch, roll = analysis.faces[0].pose[:3]
    left, right = analysis.faces[0].eye_ratios
    assert info.splitlines() == [
        "real_female_1.jpeg · 450×450 px · 1 face",
        f"Head turned {abs(yaw):.0f}° to the right, chin down {abs(pitch):.0f}°",
        "Eyes open",
    ]
    for technical in ("yaw", "pitch", "roll", "BFM", "openness"):
        assert technical not in info
    tip = panel.info_label.toolTip()
    assert f"yaw {yaw:+.1f}°" in tip and f"pitch {pitch:+.1f}°" in tip and f"roll {roll:+.1f}°" in tip
    assert f"{left:.2f} (left) / {right:.2f} (right)" in tip
    assert panel.message() == ""
    assert panel.face_combo.isVisible() and not panel.face_combo.isEnabled()


def test_estimated_landmarks_are_noted(qtbot, panel, models):
    open_and_wait(qtbot, panel, sample_portrait("real_male1.jpeg"))
    face = panel.chosen_face()
    if face.estimated:  # the shared folder has no BFM file: eyes and box come from the landmark head
        assert panel.note_label.isVisible() and "estimated" in panel.note_label.text()
        assert "BFM" not in panel.note_label.text() and "bfm_noneck_v3.pkl" in panel.note_label.toolTip()
    else:
        assert not panel.note_label.isVisible()


def test_click_keys_and_combo_choose_among_faces(qtbot, panel, two_faces):
    _, portrait, analysis = open_and_wait(qtbot, panel, two_faces)
    assert len(analysis.faces) == 2
    rects = panel.face_rects()
    assert len(rects) == 2 and not rects[0].intersects(rects[1])
    first_crop = panel.crop_rect()
    first_thumbnail = panel.crop_preview()
    assert panel.face_combo.isEnabled() and panel.face_combo.currentText() == "Face 1 of 2"
    text_width = panel.face_combo.fontMetrics().horizontalAdvance("Face 1 of 2")
    assert panel.face_combo.width() > text_width + 20, "the face picker's text must not be cut off"

    with qtbot.waitSignal(panel.faceChosen) as blocker:
        qtbot.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=rects[1].center().toPoint())
    assert blocker.args == [1] and panel.face_index == 1
    assert_rect_close(panel.crop_rect(), expected_rect(panel, analysis.faces[1].crop.box))
    assert panel.crop_rect() != first_crop and panel.crop_preview() != first_thumbnail
    assert panel.face_combo.currentText() == "Face 2 of 2"
    assert "\nFace 2: " in panel.info_label.text() and "2 faces" in panel.info_label.text()

    with qtbot.assertNotEmitted(panel.faceChosen):  # outside every face: nothing changes
        qtbot.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
        qtbot.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=rects[1].center().toPoint())

    panel.view.setFocus()
    with qtbot.waitSignal(panel.faceChosen) as blocker:
        qtbot.keyClick(panel.view, Qt.Key.Key_Right)  # wraps round to the first face
    assert blocker.args == [0] and panel.face_index == 0
    qtbot.keyClick(panel.view, Qt.Key.Key_2)
    assert panel.face_index == 1

    panel.face_combo.setCurrentIndex(0)
    assert panel.face_index == 0 and panel.crop_rect() == first_crop

    with pytest.raises(ValueError, match="2 face"):
        panel.face_index = 5


def test_face_choice_is_kept_when_reopening(qtbot, panel, two_faces):
    with qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT):
        panel.open_portrait(two_faces, face_index=1)
    assert panel.face_index == 1 and panel.face_combo.currentIndex() == 1
    with qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT):
        panel.open_portrait(two_faces, face_index=7)  # no longer exists: the best face
    assert panel.face_index == 0


def test_non_image_file_is_an_inline_message_and_a_signal(qtbot, panel, tmp_path):
    bad = tmp_path / "holiday.png"
    bad.write_text("these are not pixels")
    with qtbot.assertNotEmitted(panel.portraitReady), qtbot.waitSignal(panel.portraitFailed) as blocker:
        panel.open_portrait(bad)
    message = blocker.args[0]
    assert "holiday.png" in message and "not an image file" in message
    assert panel.message() == message and panel.message_label.isVisible()
    assert panel.path is None and panel.face_rects() == [] and not panel.view.has_photo()
    assert not panel.thumbnail.isVisible() and not panel.busy
    assert panel.info_label.text() == "holiday.png"


def test_a_faceless_photo_is_not_logged_as_a_program_error(qtbot, panel, tmp_path, caplog):
    grey = tmp_path / "grey.png"
    Image.new("RGB", (64, 64), (90, 90, 90)).save(grey)
    with qtbot.waitSignal(panel.portraitFailed):
        panel.open_portrait(grey)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_an_unexpected_failure_keeps_its_details_for_the_error_dialog(qtbot):
    def broken(path, cancel):
        raise RuntimeError("the portrait models are not installed")

    panel = PortraitPanel(broken)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.portraitFailed) as blocker:
        panel.open_portrait(sample_portrait("real_male1.jpeg"))
    assert blocker.args == ["the portrait models are not installed"]
    assert panel.message() == blocker.args[0] and "RuntimeError" in panel.error_details
    assert panel.view.has_photo() and panel.path is None
    panel.shutdown()


def test_missing_file_is_reported(qtbot, panel, tmp_path):
    with qtbot.waitSignal(panel.portraitFailed) as blocker:
        panel.open_portrait(tmp_path / "gone.jpg")
    assert "does not exist" in blocker.args[0] and panel.message() == blocker.args[0]


def test_photo_without_a_face_keeps_the_photo_and_says_so(qtbot, panel, tmp_path):
    grey = tmp_path / "wall.png"
    Image.new("RGB", (320, 240), (128, 128, 128)).save(grey)
    with qtbot.waitSignal(panel.portraitFailed) as blocker:
        panel.open_portrait(grey)
    assert blocker.args == [NO_FACE_MESSAGE] and panel.message() == NO_FACE_MESSAGE
    assert panel.view.has_photo() and panel.face_rects() == [] and panel.crop_rect() is None
    assert panel.info_label.text() == "wall.png · 320×240 px"


def test_preview_of_a_rotated_photo_is_upright(qtbot, panel, tmp_path):
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise
    Image.new("RGB", (300, 200), (128, 128, 128)).save(rotated, exif=exif)
    with qtbot.waitSignal(panel.portraitFailed):
        panel.open_portrait(rotated)
    assert panel.info_label.text() == "rotated.jpg · 200×300 px"
    rect = panel.view.image_rect()
    assert abs(rect.width() / rect.height() - 200 / 300) < 0.01


def test_a_good_portrait_after_an_error_clears_the_message(qtbot, panel, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with qtbot.waitSignal(panel.portraitFailed):
        panel.open_portrait(bad)
    assert panel.message()
    open_and_wait(qtbot, panel, sample_portrait("real_male1.jpeg"))
    assert panel.message() == "" and not panel.message_label.isVisible() and len(panel.face_rects()) == 1


def drag_events(path: Path):
    position = QPointF(100, 100)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    # QDragEnterEvent takes an integer point in PySide6 < 6.12
    enter = QDragEnterEvent(position.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    drop = QDropEvent(position, Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    return mime, enter, drop


def test_dropping_a_portrait_opens_it(qtbot, panel):
    path = sample_portrait("real_female_1.jpeg")
    _mime, enter, drop = drag_events(path)
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()
    ready = qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT)
    with qtbot.waitSignal(panel.portraitOpened) as opened, ready:
        QApplication.sendEvent(panel, drop)
    assert opened.args == [str(path)] and panel.path == path
    assert panel.recent()[0] == str(path)


def test_dropping_something_else_is_refused(qtbot, panel, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    _mime, enter, drop = drag_events(notes)
    QApplication.sendEvent(panel, enter)
    assert not enter.isAccepted()
    with qtbot.assertNotEmitted(panel.portraitOpened):
        QApplication.sendEvent(panel, drop)
    assert not panel.busy


def test_open_button_and_recent_menu(qtbot, panel, monkeypatch, tmp_path):
    chosen = sample_portrait("real_male1.jpeg")
    monkeypatch.setattr(panel_module.QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: (str(chosen), "Images"))
    assert not panel.recent_button.isEnabled()
    ready = qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT)
    with qtbot.waitSignal(panel.portraitOpened) as opened, ready:
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [str(chosen)] and panel.path == chosen

    other = sample_portrait("real_female_1.jpeg")
    missing = tmp_path / "deleted.jpg"
    panel.set_recent([other, missing, chosen])
    actions = panel.recent_menu.actions()
    assert [a.text() for a in actions] == ["real_female_1.jpeg", "deleted.jpg", "real_male1.jpeg"]
    assert [a.isEnabled() for a in actions] == [True, False, True]
    assert actions[0].toolTip() == str(other) and panel.recent_button.isEnabled()
    ready = qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT)
    with qtbot.waitSignal(panel.portraitOpened) as opened, ready:
        actions[0].trigger()
    assert opened.args == [str(other)] and panel.path == other
    assert panel.recent()[:2] == [str(other), str(missing)]


def test_open_dialog_cancelled_changes_nothing(qtbot, panel, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: ("", ""))
    with qtbot.assertNotEmitted(panel.portraitOpened):
        panel.choose_file()
    assert not panel.busy and panel.path is None


def test_a_newer_request_supersedes_the_running_one(qtbot, panel, analyser, two_faces):
    slow = sample_portrait("real_female_1.jpeg")
    analyser.gates[slow.name] = threading.Event()
    ready, failed = [], []
    panel.portraitReady.connect(ready.append)
    panel.portraitFailed.connect(failed.append)
    panel.open_portrait(slow)
    qtbot.waitUntil(lambda: slow.name in analyser.started)
    with qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT):
        panel.open_portrait(two_faces)  # starts at once, beside the cancelled one
    assert [r[0] for r in ready] == [two_faces] and len(panel.face_rects()) == 2
    analyser.gates[slow.name].set()
    qtbot.waitUntil(lambda: slow.name in analyser.finished, timeout=TIMEOUT)
    qtbot.wait(100)  # let the cancelled task's last signals arrive
    assert [r[0] for r in ready] == [two_faces] and failed == []
    assert panel.path == two_faces and len(panel.face_rects()) == 2 and not panel.busy


def test_requests_queue_behind_cancelled_ones_and_only_the_last_counts(qtbot, panel, analyser, two_faces):
    first, second = sample_portrait("real_female_1.jpeg"), sample_portrait("real_male1.jpeg")
    for path in (first, second):
        analyser.gates[path.name] = threading.Event()
    ready = []
    panel.portraitReady.connect(lambda result: ready.append(result[0]))
    panel.open_portrait(first)
    qtbot.waitUntil(lambda: first.name in analyser.started)
    panel.open_portrait(second)
    qtbot.waitUntil(lambda: second.name in analyser.started)
    panel.open_portrait(two_faces)  # two analyses still winding down: this one waits its turn
    qtbot.wait(100)
    assert two_faces.name not in analyser.started and panel.busy
    with qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT):
        for path in (first, second):
            analyser.gates[path.name].set()
    assert ready == [two_faces] and analyser.started[-1] == two_faces.name
    qtbot.waitUntil(lambda: not panel.busy)


def test_event_loop_stays_live_and_the_photo_shows_before_the_faces(qtbot, panel, analyser):
    path = sample_portrait("real_female_1.jpeg")
    analyser.gates[path.name] = threading.Event()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    busy = []
    panel.busyChanged.connect(busy.append)
    panel.open_portrait(path)
    assert panel.busy and busy == [True]
    assert panel.busy_row.isVisible() and panel.busy_label.text() == BUSY_TEXT
    qtbot.waitUntil(panel.view.has_photo)  # the quick decode is on screen while the faces are sought
    assert panel.face_rects() == [] and panel.path is None
    assert panel.info_label.text() == "real_female_1.jpeg · 450×450 px"
    qtbot.wait(300)
    timer.stop()
    assert len(ticks) >= 10 and max(np.diff(ticks)) < 0.25
    with qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT):
        analyser.gates[path.name].set()
    assert busy == [True, False] and len(panel.face_rects()) == 1


def test_overlapping_boxes_choose_the_smallest_under_the_pointer(qtbot, panel):
    view = panel.view
    view.set_photo(display_image(np.zeros((400, 400, 3), dtype=np.uint8)), QSize(400, 400))
    view.set_faces([(0, 0, 400, 400), (150, 150, 250, 250)], (0, 0, 400, 400), 0)
    centre = view.image_rect().center()
    assert view.face_at(centre) == 1
    assert view.face_at(view.image_rect().topLeft() + QPointF(5, 5)) == 0
    assert view.face_at(QPointF(-5, -5)) is None


def test_huge_photos_are_painted_from_a_downscaled_copy(qtbot, panel):
    rgb = np.zeros((3000, 8000, 3), dtype=np.uint8)
    rgb[:, :, 0] = np.linspace(0, 255, 8000, dtype=np.uint8)
    image = display_image(rgb)
    assert image.width() == MAX_DISPLAY_SIDE and image.height() == round(3000 * MAX_DISPLAY_SIDE / 8000)
    assert image.pixelColor(image.width() - 1, 0).red() > 250  # the whole width, not a crop
    small = display_image(rgb[:100, :200])
    assert small.size() == QSize(200, 100)

    panel.view.set_photo(image, QSize(8000, 3000))
    panel.view.repaint()
    count = panel.view.scale_count
    panel.view.repaint()
    panel.view.repaint()
    assert panel.view.scale_count == count == 1  # rescaled once per size, not per paint
    rect = panel.view.image_rect()
    assert abs(rect.width() / rect.height() - 8000 / 3000) < 0.01 and rect.width() <= panel.view.width()
    panel.resize(900, 640)
    qtbot.waitUntil(lambda: panel.view.scale_count == 2)


def test_a_27_megapixel_photo_is_analysed_at_full_size_and_shown_downscaled(qtbot, panel, tmp_path):
    big = tmp_path / "big.jpg"
    Image.open(sample_portrait("real_female_1.jpeg")).resize((6000, 4500)).save(big, quality=85)
    _, portrait, analysis = open_and_wait(qtbot, panel, big)
    assert (portrait.width, portrait.height) == (6000, 4500) and len(analysis.faces) == 1
    shown = panel.view.photo()
    assert max(shown.width(), shown.height()) == MAX_DISPLAY_SIDE
    assert_rect_close(panel.face_rects()[0], expected_rect(panel, analysis.faces[0].box))
    assert panel.crop_preview().size() == QSize(OUTPUT_SIZE, OUTPUT_SIZE)
    assert panel.info_label.text().startswith("big.jpg · 6000×4500 px · 1 face\nHead ")


def test_a_failed_portrait_keeps_the_one_that_worked_and_stays_out_of_recent(qtbot, panel, tmp_path):
    good = sample_portrait("real_male1.jpeg")
    ready = qtbot.waitSignal(panel.portraitReady, timeout=TIMEOUT)
    with qtbot.waitSignal(panel.portraitOpened) as opened, ready:
        panel._user_opened(str(good))
    assert opened.args == [str(good)]

    faceless = tmp_path / "wall.png"
    Image.new("RGB", (320, 240), (128, 128, 128)).save(faceless)
    with qtbot.assertNotEmitted(panel.portraitOpened), qtbot.waitSignal(panel.portraitFailed,
                                                                         timeout=TIMEOUT) as failed:
        panel._user_opened(str(faceless))
    assert failed.args[0].startswith(NO_FACE_MESSAGE) and "real_male1.jpeg is still in use" in failed.args[0]
    assert panel.path == good and panel.analysis is not None and len(panel.face_rects()) == 1
    assert panel.message() == failed.args[0] and panel.info_label.text().startswith("real_male1.jpeg")
    assert panel.recent() == [str(good)], "a file that failed is not offered again"


def test_pose_and_eyes_in_plain_words():
    # 3DDFA signs: positive yaw faces the photo's left, positive pitch lowers the chin, positive roll tilts the
    # top of the head to the photo's left.
    assert describe_pose(12.4, 0.0, 0.0) == "Head turned 12° to the left"
    assert describe_pose(-12.4, -7.0, 0.0) == "Head turned 12° to the right, chin up 7°"
    assert describe_pose(1.0, 8.6, -13.8) == "Head tilted 14° to the right, chin down 9°"
    assert describe_pose(0.0, 8.6, 0.0) == "Chin down 9°"
    assert describe_pose(2.0, -1.0, 2.9) == "Head straight, facing the camera"
    assert describe_eyes(0.30, 0.29) == "Eyes open"
    assert describe_eyes(0.05, 0.04) == "Eyes closed"
    assert describe_eyes(0.30, 0.15) == "Left eye open, right eye half open"
