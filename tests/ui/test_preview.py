"""The preview player shows real decoded frames, steps, scrubs, loops and switches views."""

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QMediaPlayer

from dawn_studio.stages.export import ExportSettings, export_video
from dawn_studio.ui.preview import PreviewPlayer, format_time


def write_clip(path, value_of_frame, size=64, frames=25):
    def gen():
        for i in range(frames):
            yield np.full((size, size, 3), value_of_frame(i), np.uint8)
    return export_video(gen(), frames, path, audio=np.zeros(16000, np.float32),
                        settings=ExportSettings(quality=10))


@pytest.fixture
def clips(tmp_path):
    full = write_clip(tmp_path / "full.mp4", lambda i: 40 + 8 * i, size=96)
    crop = write_clip(tmp_path / "crop.mp4", lambda i: 200, size=64)
    return full, crop


@pytest.fixture
def player(qtbot):
    widget = PreviewPlayer()
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    return widget


def shown_level(player):
    image = player.video_view.image.convertToFormat(QImage.Format.Format_RGB888)
    return image.pixelColor(image.width() // 2, image.height() // 2).green()


def test_time_format():
    assert format_time(0) == "0:00.0" and format_time(61_250) == "1:01.2"


def test_empty_player_is_disabled(player):
    assert not player.play_button.isEnabled() and not player.slider.isEnabled()
    player.toggle_play()  # no clip: nothing happens, nothing breaks


def test_plays_real_frames_and_steps(player, qtbot, clips):
    full, crop = clips
    portrait = QImage(32, 32, QImage.Format.Format_RGB888)
    portrait.fill(0x336699)
    player.load(full, crop, portrait)
    qtbot.waitUntil(lambda: player.player.duration() > 900, timeout=5000)
    qtbot.waitUntil(lambda: not player.video_view.image.isNull(), timeout=5000)
    assert player.slider.maximum() == player.player.duration()
    assert shown_level(player) < 60, "paused on the first (dark) frame"
    player.step(10)
    qtbot.waitUntil(lambda: player.player.position() >= 400, timeout=5000)
    qtbot.waitUntil(lambda: shown_level(player) > 100, timeout=5000)
    player.step(-20)
    qtbot.waitUntil(lambda: player.player.position() == 0, timeout=5000)
    player.toggle_play()
    qtbot.waitUntil(lambda: player.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=3000)
    player.toggle_play()
    assert player.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
    player.side_by_side_box.setChecked(True)
    assert player.original_view.isVisible() and not player.original_view.image.isNull()


def test_view_toggle_switches_clip(player, qtbot, clips):
    full, crop = clips
    player.load(full, crop)
    qtbot.waitUntil(lambda: not player.video_view.image.isNull(), timeout=5000)
    assert player.video_view.image.width() == 96
    with qtbot.waitSignal(player.viewChanged):
        player.crop_button.click()
    qtbot.waitUntil(lambda: player.video_view.image.width() == 64, timeout=5000)
    assert shown_level(player) > 180


def test_loop_setting(player, clips):
    player.load(*clips)
    player.loop_box.setChecked(True)
    assert player.player.loops() == QMediaPlayer.Loops.Infinite
    player.loop_box.setChecked(False)
    assert player.player.loops() == 1


def test_switching_views_keeps_the_playhead(player, qtbot, clips):
    full, crop = clips
    player.load(full, crop)
    qtbot.waitUntil(lambda: player.player.duration() > 900, timeout=5000)
    player.step(12)
    qtbot.waitUntil(lambda: player.player.position() >= 400, timeout=5000)
    before = player.player.position()
    player.crop_button.click()
    qtbot.waitUntil(lambda: player.video_view.image.width() == 64, timeout=5000)
    qtbot.wait(300)
    assert abs(player.player.position() - before) <= 40, "Face crop must open where Full photo was"
    player.full_button.click()
    qtbot.waitUntil(lambda: player.video_view.image.width() == 96, timeout=5000)
    qtbot.wait(300)
    assert abs(player.player.position() - before) <= 40
    assert player.slider.value() == player.player.position()


def test_side_by_side_compares_like_with_like(player, qtbot, clips):
    full, crop = clips
    photo = QImage(120, 90, QImage.Format.Format_RGB888)
    photo.fill(0x336699)
    face = QImage(64, 64, QImage.Format.Format_RGB888)
    face.fill(0x993366)
    player.load(full, crop, photo, face)
    player.side_by_side_box.setChecked(True)
    assert player.original_view.isVisible() and player.original_view.image.size() == photo.size()
    player.crop_button.click()
    assert player.original_view.image.size() == face.size(), "Face crop is compared with the portrait's crop"
    player.full_button.click()
    assert player.original_view.image.size() == photo.size()
    player.clear()
    assert player.original_view.image.isNull()


def test_scrub_bar_is_usable_at_a_narrow_width_and_shows_the_frame(player, qtbot, clips):
    full, crop = clips
    player.load(full, crop)
    player.resize(520, 360)  # the preview's share of a 1024-px window
    qtbot.waitUntil(lambda: player.player.duration() > 900, timeout=5000)
    assert player.slider.isVisible() and player.slider.width() >= 160
    assert "frame 1/25" in player.time_label.text()
    player.step(1)
    qtbot.waitUntil(lambda: "frame 2/25" in player.time_label.text(), timeout=5000)


@pytest.mark.parametrize("outputs, silent", [([], True), (["speakers"], False)])
def test_no_sound_output_says_the_preview_is_silent(qtbot, clips, outputs, silent):
    widget = PreviewPlayer(audio_outputs=lambda: outputs)
    qtbot.addWidget(widget)
    widget.show()
    assert not widget.silent_notice.isVisible(), "no clip yet: nothing to warn about"
    widget.load(*clips)
    assert widget.silent_notice.isVisible() == silent
    if silent:
        assert "silently" in widget.silent_notice.text()
    outputs.append("headphones plugged in")
    widget.media_devices.audioOutputsChanged.emit()
    assert not widget.silent_notice.isVisible(), "a device that appears is used, and the warning goes"
