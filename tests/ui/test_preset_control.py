"""The pipeline preset in the controls panel's Advanced section: chosen, put in the job, shown from it."""

from PySide6.QtCore import QSettings

from dawn_studio.engine.job import Job
from dawn_studio.ui.controls_panel import ControlsPanel


def test_preset_choice_goes_into_the_job_and_back(qtbot, settings_file, tmp_path):
    panel = ControlsPanel(QSettings(str(settings_file), QSettings.Format.IniFormat))
    qtbot.addWidget(panel)
    job = Job(portrait=str(tmp_path / "face.jpg"), audio=str(tmp_path / "speech.wav"))
    assert panel.apply_to(job).preset == "studio"
    assert panel.preset_combo.parent() is panel.advanced_box
    with qtbot.waitSignal(panel.changed, timeout=1000):
        panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("reference"))
    assert panel.apply_to(job).preset == "reference"
    assert "original" in panel.preset_combo.toolTip()

    panel.load_from(job)
    assert panel.apply_to(job).preset == "studio"
    panel.load_from(job.with_changes(preset="reference"))
    assert panel.preset_combo.currentData() == "reference"
    panel.reset()
    assert panel.apply_to(job).preset == "studio"
