"""Qt fixtures: settings stored in a temp INI file, never the user's."""

import pytest
from PySide6.QtCore import QSettings

from dawn_studio.engine.job import Job
from dawn_studio.ui.controls_panel import ControlsPanel
from dawn_studio.ui.settings import AppSettings


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "settings.ini"


@pytest.fixture
def app_settings(settings_file):
    return AppSettings(QSettings(str(settings_file), QSettings.Format.IniFormat))


@pytest.fixture
def make_controls_panel(qtbot, settings_file):
    """Controls panels over the same temp INI file, as if the app were started again."""

    def make(**kwargs) -> ControlsPanel:
        panel = ControlsPanel(QSettings(str(settings_file), QSettings.Format.IniFormat), **kwargs)
        qtbot.addWidget(panel)
        panel.show()
        return panel

    return make


@pytest.fixture
def job(tmp_path):
    """A job over input paths that need not exist (the panels only read its settings)."""
    return Job(portrait=str(tmp_path / "face.jpg"), audio=str(tmp_path / "speech.wav"))
