"""First start: a window on screen at once (before torch loads), and a banner that leads to the model manager
while the model files are missing."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from dawn_studio.modelstore import ModelStore
from dawn_studio.ui.app import create_application, create_main_window
from dawn_studio.ui.model_banner import BANNER_BUTTON
from dawn_studio.ui.model_manager import ModelManagerDialog
from dawn_studio.ui.settings import AppSettings
from dawn_studio.ui.splash import STEP_TEXTS, StartupSplash, import_in_background
from dawn_studio.ui.studio import Studio

ROOT = Path(__file__).resolve().parents[2]


def make_studio(qtbot, tmp_path, store_root: Path) -> Studio:
    app = create_application()
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = create_main_window(app, settings)
    qtbot.addWidget(window)
    studio = Studio(window, ModelStore(store_root), autosave_path=tmp_path / "autosave.dawn", show_first_run=False)
    window.resize(1366, 768)
    window.show()
    return studio


def test_banner_with_no_models_opens_the_manager_and_goes_once_they_are_installed(qtbot, tmp_path, tiny_store):
    store_root = tmp_path / "models"
    store_root.mkdir()
    studio = make_studio(qtbot, tmp_path, store_root)
    try:
        banner = studio.window.banner
        assert banner.isVisible()
        assert "not installed" in banner.label.text() and banner.button.text() == BANNER_BUTTON
        assert banner.button.isVisible() and banner.button.width() >= banner.button.sizeHint().width()

        banner.button.click()
        dialog = studio._models_dialog
        assert isinstance(dialog, ModelManagerDialog)
        qtbot.waitUntil(dialog.isVisible, timeout=5000)

        # The creator installs the models (here: the tiny set copied in) and the manager says so.
        shutil.copytree(tiny_store, store_root, dirs_exist_ok=True)
        dialog.modelsChanged.emit()
        assert not banner.isVisible()
        dialog.reject()
    finally:
        studio.shutdown()


def test_no_banner_when_the_models_are_there(qtbot, tmp_path, tiny_store):
    studio = make_studio(qtbot, tmp_path, tiny_store)
    try:
        assert not studio.window.banner.isVisible()
    finally:
        studio.shutdown()


def test_missing_face_models_alone_are_named(qtbot, tmp_path, tiny_store):
    store_root = tmp_path / "models"
    shutil.copytree(tiny_store, store_root)
    shutil.rmtree(store_root / "3ddfa")
    studio = make_studio(qtbot, tmp_path, store_root)
    try:
        assert studio.window.banner.isVisible() and "face-analysis" in studio.window.banner.label.text()
    finally:
        studio.shutdown()


def test_the_start_up_window_paints_before_torch_loads():
    """`dawn-studio` started for real: its first painted window is the splash, painted before torch is
    imported; the main window follows. (The first start once showed a black window for up to 25 s.)"""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "measure_startup.py"), "--runs", "1", "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["first_window"] == "StartupSplash"
    assert run["torch_loaded_at_first_paint"] is False
    assert run["main_window_paint_s"] > run["first_paint_s"] and run["exit_code"] == 0


def test_the_gui_entry_imports_no_torch():
    code = ("import sys; from dawn_studio import cli; cli.build_parser(with_commands=False).parse_args([]); "
            "import dawn_studio.ui.app; print('torch' in sys.modules, 'numpy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.stdout.split() == ["False", "False"], result.stderr
    assert not __import__("dawn_studio.cli", fromlist=["opens_gui"]).opens_gui(["render", "--help"])


def test_background_import_failure_is_raised_on_the_gui_thread(qtbot):
    splash = StartupSplash()
    qtbot.addWidget(splash)
    splash.show_centred()
    assert splash.isVisible() and splash.message.text() == "Starting…"
    with pytest.raises(ModuleNotFoundError):
        import_in_background(["dawn_studio.no_such_module"], splash)
    import_in_background(["json", "csv"], splash)  # modules that load: returns normally, the bar stepped on
    assert splash.bar.maximum() == 3 and splash.bar.value() == 2
    for text in STEP_TEXTS.values():  # every message fits the splash
        splash.say(text)
        assert splash.message.width() >= splash.message.fontMetrics().horizontalAdvance(text)
