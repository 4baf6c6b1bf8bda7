"""The controls panel, driven through its real widgets: what the creator sets ends up in the job."""

import random

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QLabel, QSlider, QWidget

from dawn_studio.engine.job import QUALITY_STEPS
from dawn_studio.stages.motion import DEFAULT_SEED, MotionControls
from dawn_studio.ui.controls_panel import ControlsPanel

MISSING_256 = "DAWN 256 model files are missing — open Models… to get them"


def test_defaults_reproduce_the_reference_setup(make_controls_panel, job):
    panel = make_controls_panel()
    assert panel.controls() == MotionControls()
    assert panel.apply_to(job) == job
    assert panel.quality() == "standard" and panel.seed_locked()
    assert not panel.new_seed_button.isEnabled()
    assert not panel.advanced_box.isVisibleTo(panel)


def test_sliders_and_toggles_change_controls_and_job(make_controls_panel, job, qtbot):
    panel = make_controls_panel()
    with qtbot.waitSignal(panel.changed, timeout=1000):
        panel.head_motion_slider.slider.setValue(150)
    assert panel.head_motion_slider.value_label.text() == "150 %"
    panel.rotation_slider.slider.setValue(50)
    panel.translation_slider.slider.setValue(0)
    panel.blink_slider.slider.setValue(200)
    panel.variety_slider.slider.setValue(25)
    controls = panel.controls()
    assert controls.head_motion == 1.5 and controls.rotation_strength == 0.5
    assert controls.translation_strength == 0.0
    assert (controls.blink_strength, controls.variety) == (2.0, 0.25)

    panel.still_head_check.setFocus()
    with qtbot.waitSignal(panel.changed, timeout=1000):
        qtbot.keyClick(panel.still_head_check, Qt.Key.Key_Space)
    assert panel.controls().still_head and panel.controls().rotation_factor == 0.0
    assert not panel.head_motion_slider.isEnabled() and not panel.rotation_slider.isEnabled()
    assert panel.blink_slider.isEnabled()

    updated = panel.apply_to(job)
    assert updated.motion == panel.controls() and updated.portrait == job.portrait


def test_keyboard_moves_a_slider(make_controls_panel, qtbot):
    panel = make_controls_panel()
    slider = panel.blink_slider.slider
    slider.setFocus()
    with qtbot.waitSignal(panel.changed, timeout=1000):
        qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert panel.controls().blink_strength == pytest.approx(1.05)
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    assert panel.controls().blink_strength == 0.0


def test_quality_preset_and_custom_steps(make_controls_panel, job, qtbot):
    panel = make_controls_panel()
    combo = panel.quality_combo
    with qtbot.waitSignal(panel.changed, timeout=1000):
        combo.setCurrentIndex(combo.findData("draft"))
    assert panel.steps() == QUALITY_STEPS["draft"] and panel.apply_to(job).steps == QUALITY_STEPS["draft"]

    combo.setCurrentIndex(combo.findData("custom"))
    assert panel.advanced_box.isVisibleTo(panel), "choosing Custom opens the advanced settings"
    with qtbot.waitSignal(panel.changed, timeout=1000):
        panel.steps_spin.setValue(35)
    assert panel.quality() == "custom" and combo.currentData() == "custom"
    panel.steps_spin.setValue(QUALITY_STEPS["standard"])
    assert combo.currentData() == "standard"

    with qtbot.waitSignal(panel.changed, timeout=1000):
        panel.guidance_spin.setValue(2.5)
    assert panel.apply_to(job).guidance_scale == 2.5


def test_advanced_section_collapses(make_controls_panel, qtbot):
    panel = make_controls_panel()
    qtbot.mouseClick(panel.advanced_button, Qt.MouseButton.LeftButton)
    assert panel.advanced_box.isVisibleTo(panel)
    qtbot.mouseClick(panel.advanced_button, Qt.MouseButton.LeftButton)
    assert not panel.advanced_box.isVisibleTo(panel)


def test_missing_resolution_is_disabled_with_reason_and_falls_back(make_controls_panel, job, qtbot):
    panel = make_controls_panel()
    qtbot.mouseClick(panel.resolution_buttons[256], Qt.MouseButton.LeftButton)
    assert panel.apply_to(job).resolution == 256

    with qtbot.waitSignal(panel.changed, timeout=1000):
        panel.set_available_resolutions({128: (True, ""), 256: (False, MISSING_256)})
    button = panel.resolution_buttons[256]
    assert not button.isEnabled() and button.toolTip() == MISSING_256
    assert panel.resolution() == 128 and panel.resolution_buttons[128].isChecked()
    assert panel.apply_to(job).resolution == 128

    panel.set_available_resolutions({256: (True, "")})
    assert button.isEnabled() and button.toolTip() != MISSING_256
    assert panel.resolution() == 256, "the creator's choice comes back once the model is there"


def test_no_model_at_all_keeps_the_preferred_resolution(make_controls_panel, job):
    panel = make_controls_panel()
    panel.resolution_buttons[256].click()
    panel.set_available_resolutions({128: (False, "no 128"), 256: (False, MISSING_256)})
    assert not any(button.isEnabled() or button.isChecked() for button in panel.resolution_buttons.values())
    assert panel.resolution_buttons[128].toolTip() == "no 128"
    assert panel.apply_to(job).resolution == 256
    panel.set_available_resolutions({128: (True, "")})
    assert panel.resolution() == 128 and panel.resolution_buttons[128].isChecked()


def test_unknown_resolution_is_refused_without_changing_anything(make_controls_panel):
    panel = make_controls_panel()
    with pytest.raises(ValueError, match=r"Unknown resolution\(s\) \[512\]"):
        panel.set_available_resolutions({128: (False, "gone"), 512: (True, "")})
    assert panel.resolution_buttons[128].isEnabled() and panel.resolution() == 128


def test_seed_lock_new_seed_and_next_seed(make_controls_panel, job, qtbot):
    panel = make_controls_panel(rng=random.Random(7))
    assert panel.next_seed_if_unlocked() == DEFAULT_SEED, "locked: the shown seed is kept"

    qtbot.mouseClick(panel.lock_seed_check, Qt.MouseButton.LeftButton, pos=QPoint(6, 6))
    assert not panel.seed_locked() and panel.new_seed_button.isEnabled()
    with qtbot.waitSignal(panel.changed, timeout=1000):
        qtbot.mouseClick(panel.new_seed_button, Qt.MouseButton.LeftButton)
    rolled = panel.controls().seed
    assert rolled != DEFAULT_SEED and panel.seed_spin.text() == str(rolled)

    with qtbot.assertNotEmitted(panel.changed):
        fresh = panel.next_seed_if_unlocked()
    assert fresh != rolled and panel.controls().seed == fresh and panel.apply_to(job).motion.seed == fresh

    qtbot.mouseClick(panel.lock_seed_check, Qt.MouseButton.LeftButton, pos=QPoint(6, 6))
    assert not panel.new_seed_button.isEnabled()
    assert panel.next_seed_if_unlocked() == fresh


def test_seed_typed_by_hand_including_64_bit(make_controls_panel, qtbot):
    panel = make_controls_panel()
    panel.seed_spin.lineEdit().clear()
    with qtbot.waitSignal(panel.changed, timeout=1000):
        qtbot.keyClicks(panel.seed_spin.lineEdit(), "42")
    assert panel.controls().seed == 42
    panel.seed_spin.lineEdit().selectAll()
    qtbot.keyClicks(panel.seed_spin.lineEdit(), "x")
    assert panel.controls().seed == 42, "letters are refused"
    big = 2**63 - 1
    panel.seed_spin.setValue(big)
    assert panel.controls().seed == big
    panel.seed_spin.stepBy(1)
    assert panel.controls().seed == big, "stays in range"
    panel.seed_spin.setValue(0)
    panel.seed_spin.stepBy(-1)
    assert panel.controls().seed == 0


def test_values_are_remembered(make_controls_panel, job, qtbot):
    panel = make_controls_panel()
    panel.resolution_buttons[256].click()
    panel.quality_combo.setCurrentIndex(panel.quality_combo.findData("draft"))
    panel.head_motion_slider.slider.setValue(40)
    panel.variety_slider.slider.setValue(180)
    panel.still_head_check.setChecked(True)
    panel.lock_seed_check.setChecked(False)
    panel.seed_spin.setValue(2**40 + 3)
    panel.guidance_spin.setValue(1.5)
    panel.advanced_button.click()
    expected = panel.apply_to(job)
    panel.close()

    again = make_controls_panel()
    assert again.apply_to(job) == expected
    assert not again.seed_locked() and again.new_seed_button.isEnabled()
    assert again.quality() == "draft" and again.advanced_box.isVisibleTo(again)


def test_unusable_saved_values_fall_back_to_defaults(make_controls_panel, settings_file, job):
    store = QSettings(str(settings_file), QSettings.Format.IniFormat)
    saved = {"head_motion": "lots", "variety": "9", "seed": "-5", "steps": "nan", "resolution": "512",
             "guidance_scale": "inf", "seed_locked": "maybe", "blink_strength": "0.5"}
    for key, value in saved.items():
        store.setValue(f"controls/{key}", value)
    store.sync()
    panel = make_controls_panel()
    assert panel.apply_to(job) == job.with_changes(motion=MotionControls(blink_strength=0.5))
    assert panel.seed_locked()


def test_accepts_app_settings_wrapper(qtbot, app_settings, job):
    panel = ControlsPanel(app_settings)
    qtbot.addWidget(panel)
    panel.blink_slider.slider.setValue(0)
    again = ControlsPanel(app_settings)
    qtbot.addWidget(again)
    assert again.controls().blink_strength == 0.0


def test_reset_restores_defaults_but_keeps_resolution(make_controls_panel, job, qtbot):
    panel = make_controls_panel()
    panel.resolution_buttons[256].click()
    panel.blink_slider.slider.setValue(10)
    panel.still_head_check.setChecked(True)
    panel.lock_seed_check.setChecked(False)
    panel.new_seed()
    panel.quality_combo.setCurrentIndex(panel.quality_combo.findData("draft"))
    panel.guidance_spin.setValue(3.0)
    with qtbot.waitSignal(panel.changed, timeout=1000):
        qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert panel.apply_to(job) == job.with_changes(resolution=256)
    assert panel.seed_locked() and panel.head_motion_slider.isEnabled()


def test_load_from_job_shows_it_exactly_and_quietly(make_controls_panel, job, qtbot):
    panel = make_controls_panel()
    panel.lock_seed_check.setChecked(False)
    loaded = job.with_changes(
        resolution=256, steps=33, guidance_scale=1.75,
        motion=MotionControls(head_motion=1.234, blink_strength=0.0, variety=0.5, seed=99, still_head=True),
    )
    with qtbot.assertNotEmitted(panel.changed):
        panel.load_from(loaded)
    assert panel.apply_to(job) == loaded, "values between slider steps are kept exactly"
    assert panel.quality() == "custom" and panel.seed_locked()
    assert panel.blink_slider.value_label.text() == "0 %"


def test_every_control_has_a_tooltip_and_labels_have_buddies(make_controls_panel):
    panel = make_controls_panel()
    controls = [w for w in panel.findChildren(QWidget)
                if isinstance(w, (QAbstractButton, QComboBox, QSlider, QCheckBox)) or w is panel.seed_spin
                or w in (panel.guidance_spin, panel.steps_spin)]
    assert len(controls) >= 15
    for widget in controls:
        assert len(widget.toolTip()) > 15, f"{widget!r} has no helpful tooltip"
    labels = [label for label in panel.findChildren(QLabel) if label.text().endswith(":")]
    assert len(labels) >= 9
    for label in labels:
        assert "&" in label.text() and label.buddy() is not None and label.buddy().focusPolicy() != Qt.NoFocus
    assert panel.head_motion_slider.focusProxy() is panel.head_motion_slider.slider


def _tab_stops(panel: ControlsPanel, start: QWidget) -> list[QWidget]:
    """Widgets Tab reaches from ``start``, in order, as Qt's focus chain gives them."""
    stops, widget = [], start
    for _ in range(200):
        widget = widget.nextInFocusChain()
        if widget is start:
            break
        reachable = widget.isVisibleTo(panel) and widget.isEnabled()
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and reachable:
            stops.append(widget.focusProxy() or widget)
    return stops


def test_tab_order_walks_the_controls_top_to_bottom(make_controls_panel):
    panel = make_controls_panel()
    panel.advanced_button.setChecked(True)
    panel.lock_seed_check.setChecked(False)
    stops = _tab_stops(panel, panel.resolution_buttons[128])
    sliders = [panel.head_motion_slider, panel.rotation_slider, panel.translation_slider,
               panel.blink_slider, panel.variety_slider]
    expected = [panel.resolution_buttons[256], panel.quality_combo, panel.still_head_check,
                *(s.slider for s in sliders), panel.seed_spin, panel.new_seed_button,
                panel.lock_seed_check, panel.advanced_button, panel.guidance_spin, panel.steps_spin,
                panel.reset_button]
    positions = [next(i for i, w in enumerate(stops) if w is e) for e in expected]
    assert positions == sorted(positions)


def test_no_settings_store_still_works(qtbot, job):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    panel.blink_slider.slider.setValue(30)
    assert panel.apply_to(job).motion.blink_strength == 0.3



def test_labels_are_plain_words_and_tooltips_hold_the_technical_terms(make_controls_panel):
    panel = make_controls_panel()
    panel.advanced_button.setChecked(True)
    widgets = panel.findChildren(QLabel) + panel.findChildren(QAbstractButton)
    shown = " ".join(w.text().replace("&", "") for w in widgets if w.isVisible()) + " " + " ".join(
        combo.itemText(i) for combo in panel.findChildren(QComboBox) for i in range(combo.count()))
    for jargon in ("Guidance", "Diffusion", "Pipeline", "Rotation", "Translation", "steps)", "DDIM"):
        assert jargon not in shown, f"'{jargon}' shown to the creator"
    labels = {w.text().replace("&", ""): w for w in panel.findChildren(QLabel) if w.text().endswith(":")}
    assert {"Head turns:", "Head shifts:", "Follow the speech:", "Refinement passes:", "Behaviour:"} <= set(labels)
    assert "yaw, pitch and roll" in labels["Head turns:"].toolTip()
    assert "guidance scale" in labels["Follow the speech:"].toolTip()
    assert "DDIM diffusion steps" in labels["Refinement passes:"].toolTip()
    quality = panel.quality_combo
    tips = [quality.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(quality.count())]
    assert any(f"{QUALITY_STEPS['draft']} diffusion steps" in tip for tip in tips)
    assert any(f"{QUALITY_STEPS['standard']} diffusion steps" in tip for tip in tips)


def test_fits_a_narrow_laptop_column(make_controls_panel):
    """The panel fits the side column of a 1024-pixel-wide window, with a ten-digit seed readable."""
    panel = make_controls_panel()
    assert panel.minimumSizeHint().width() <= 260
    panel.seed_spin.setValue(2**31 - 1)
    panel.resize(panel.minimumSizeHint())
    digits = panel.seed_spin.fontMetrics().horizontalAdvance(str(2**31 - 1))
    assert panel.seed_spin.lineEdit().width() >= digits
