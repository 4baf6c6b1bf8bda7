"""The main window as a user meets it: menus, About, remembered state, themes, file routing, crashes."""

import sys

import pytest
import torch
from PySide6.QtCore import QByteArray, QMimeData, QPoint, QPointF, QSettings, Qt, QUrl, qVersion
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from dawn_studio import __version__
from dawn_studio.device import default_device
from dawn_studio.ui.about import about_html
from dawn_studio.ui.app import create_application, create_main_window
from dawn_studio.ui.errors import ExceptionDialogHook
from dawn_studio.ui.settings import AppSettings
from dawn_studio.ui.theme import Theme


@pytest.fixture
def window(qtbot, app_settings):
    app = create_application()
    win = create_main_window(app, app_settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def menu_titles(win):
    return [a.text().replace("&", "") for a in win.menuBar().actions()]


def action_texts(menu):
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def test_window_shows_with_menus(window):
    assert window.isVisible()
    assert window.windowTitle() == "DAWN Studio"
    assert not window.windowIcon().isNull()
    assert menu_titles(window) == ["File", "View", "Help"]
    file_items = action_texts(window.file_menu)
    for expected in ("Open Portrait…", "Open Audio…", "Recent", "Export…", "Quit"):
        assert expected in file_items
    assert "About DAWN Studio" in action_texts(window.help_menu)
    assert not window.export_action.isEnabled(), "nothing to export before a clip exists"
    assert window.open_portrait_action.shortcut().toString()


def test_status_bar_names_the_compute_device(window):
    assert default_device().label in window.device_label.text()


def test_about_shows_versions(window, qtbot):
    html = about_html()
    for value in (__version__, torch.__version__, qVersion(), default_device().label):
        assert value in html
    window.about_action.trigger()
    box = window._about_box
    qtbot.waitUntil(box.isVisible)
    assert torch.__version__ in box.text()
    box.close()


def test_geometry_and_state_round_trip(qtbot, settings_file):
    app = create_application()
    first = create_main_window(app, AppSettings(QSettings(str(settings_file), QSettings.Format.IniFormat)))
    qtbot.addWidget(first)
    first.show()
    first.resize(720, 520)
    first.move(QPoint(40, 50))
    qtbot.wait(10)
    first.close()

    reopened = AppSettings(QSettings(str(settings_file), QSettings.Format.IniFormat))
    assert isinstance(reopened.window_geometry(), QByteArray)
    second = create_main_window(app, reopened)
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (720, 520)


def test_theme_choice_is_applied_and_remembered(window, settings_file):
    window.theme_actions[Theme.DARK].trigger()
    app = QApplication.instance()
    assert app.property("dawnTheme") == "dark"
    assert app.palette().window().color().lightness() < 80
    window.theme_actions[Theme.LIGHT].trigger()
    assert app.property("dawnTheme") == "light"
    assert app.palette().window().color().lightness() > 200
    assert AppSettings(QSettings(str(settings_file), QSettings.Format.IniFormat)).theme() is Theme.LIGHT


def _drop(win, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    win.dropEvent(event)


def test_dropped_files_are_routed_by_type_and_remembered(window, qtbot, tmp_path):
    portrait = tmp_path / "me.png"
    speech = tmp_path / "talk.mp3"
    clip = tmp_path / "vlog.mp4"
    for p in (portrait, speech, clip):
        p.write_bytes(b"x")
    portraits, audios = [], []
    window.portraitRequested.connect(portraits.append)
    window.audioRequested.connect(audios.append)
    _drop(window, [portrait, speech, clip, tmp_path / "notes.txt"])
    assert portraits == [str(portrait)]
    assert audios == [str(speech), str(clip)], "a video's sound is used as the speech"
    # Recent gets them once they have opened fine (the studio records them; a file that fails is not).
    assert window.settings.recent("portrait") == [] and window.settings.recent("audio") == []
    window.settings.add_recent("portrait", str(portrait))
    window.settings.add_recent("audio", str(speech))
    window.recent_menu.aboutToShow.emit()
    entries = [a.toolTip() for a in window.recent_menu.actions() if a.toolTip().startswith(str(tmp_path))]
    assert str(portrait) in entries and str(speech) in entries


def test_unknown_file_type_says_so(window):
    assert window.request_file("/tmp/readme.txt") is False
    assert "not an image" in window.statusBar().currentMessage()


def test_uncaught_exception_shows_a_dialog_not_a_crash(window, qtbot):
    hook = ExceptionDialogHook(QApplication.instance())
    try:
        raise RuntimeError("portrait decoder exploded")
    except RuntimeError:
        hook.handle(*sys.exc_info())
    qtbot.waitUntil(lambda: bool(hook.shown) and hook.shown[0].isVisible())
    box = hook.shown[0]
    assert isinstance(box, QMessageBox)
    assert "portrait decoder exploded" in box.text()
    assert "RuntimeError" in box.detailedText()
    box.close()
