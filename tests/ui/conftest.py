"""Qt fixtures: settings stored in a temp INI file, never the user's."""

import pytest
from PySide6.QtCore import QSettings

from dawn_studio.ui.settings import AppSettings


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "settings.ini"


@pytest.fixture
def app_settings(settings_file):
    return AppSettings(QSettings(str(settings_file), QSettings.Format.IniFormat))
