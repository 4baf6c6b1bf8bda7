"""Controls panel: the creator's knobs for one generation, turned into a :class:`Job`.

Resolution (a model choice), quality preset (diffusion steps), face enhancement (when installed),
head-motion and blink strengths, motion variety, still head, seed, and under "Advanced" the guidance
scale and a custom step count. Values are remembered in the settings store under ``controls/`` and restored when the
panel is built again.

Seed policy: while the seed is **locked** every generation uses the seed shown, so moving a
slider and generating again changes only what the slider does. While it is **unlocked** the
caller asks :meth:`ControlsPanel.next_seed_if_unlocked` before each generation; the panel draws a
fresh seed, shows it (so the creator can lock it if they like the result) and returns it. The
seed starts locked at the reference's seed, so a first run matches the published model's setup.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.job import QUALITY_STEPS, RESOLUTIONS, Job
from ..stages.motion import DEFAULT_SEED, MAX_STRENGTH, MAX_VARIETY, MotionControls
from .enhance_controls import DEFAULT_STRENGTH, EnhanceControls
from .settings import AppSettings

SETTINGS_GROUP = "controls"
#: Largest seed :class:`MotionControls` accepts.
MAX_SEED = 2**63 - 1
#: "New seed" draws below this so seeds stay short enough to read out and type.
NEW_SEED_LIMIT = 2**31
MAX_STEPS = 1000
MAX_GUIDANCE = 10.0
DEFAULT_RESOLUTION = 128
DEFAULT_GUIDANCE = 1.0
CUSTOM_QUALITY = "custom"
QUALITY_LABELS = {
    "draft": f"Draft — quick look ({QUALITY_STEPS['draft']} steps)",
    "standard": f"Standard ({QUALITY_STEPS['standard']} steps)",
    CUSTOM_QUALITY: "Custom (set the steps under Advanced)",
}
PRESET_LABELS = {"studio": "Studio (recommended)", "reference": "Reference (the original DAWN code)"}
_MOTION_FIELDS = tuple(f.name for f in fields(MotionControls))
_DIGITS = re.compile(r"[0-9]+")


class StrengthSlider(QWidget):
    """A 0–max slider in percent with its value shown beside it.

    Keeps the exact value it was given until the creator moves it, so loading 1.234 and reading
    it back gives 1.234, not the slider's rounded position. ``setValue`` does not emit.
    """

    valueChanged = Signal(float)

    def __init__(self, maximum: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = 1.0
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, round(maximum * 100))
        self.slider.setSingleStep(5)
        self.slider.setPageStep(25)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(100)
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(self.value_label.fontMetrics().horizontalAdvance("200 %") + 4)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)
        self.setFocusProxy(self.slider)
        self.slider.valueChanged.connect(self._moved)
        self.setValue(1.0)

    def value(self) -> float:
        return self._value

    def setValue(self, value: float) -> None:  # noqa: N802 (Qt naming)
        self._value = float(value)
        with QSignalBlocker(self.slider):
            self.slider.setValue(round(self._value * 100))
        self._show()

    def setToolTip(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setToolTip(text)
        self.slider.setToolTip(text)
        self.value_label.setToolTip(text)

    def _moved(self, position: int) -> None:
        self._value = position / 100
        self._show()
        self.valueChanged.emit(self._value)

    def _show(self) -> None:
        self.value_label.setText(f"{round(self._value * 100)} %")
        self.slider.setAccessibleDescription(self.value_label.text())


class SeedSpinBox(QAbstractSpinBox):
    """Spin box for a seed of up to 63 bits (``QSpinBox`` stops at 2^31 − 1)."""

    valueChanged = Signal(object)
    # Class-level default: Qt may call stepEnabled() during construction or on a widget whose
    # Python side is being torn down (style changes reach every live widget).
    _value: int = DEFAULT_SEED

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = DEFAULT_SEED
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.lineEdit().setText(str(self._value))
        self.lineEdit().textEdited.connect(self._edited)
        self.editingFinished.connect(self._show)

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:  # noqa: N802 (Qt naming)
        value = min(max(int(value), 0), MAX_SEED)
        changed = value != self._value
        self._value = value
        self._show()
        if changed:
            self.valueChanged.emit(value)

    def validate(self, text: str, pos: int) -> object:
        stripped = text.strip()
        if not stripped:
            return QValidator.State.Intermediate, text, pos
        if not _DIGITS.fullmatch(stripped) or int(stripped) > MAX_SEED:
            return QValidator.State.Invalid, text, pos
        return QValidator.State.Acceptable, text, pos

    def fixup(self, text: str) -> str:
        return str(self._value)

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt API)
        self.setValue(self._value + steps)
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 (Qt API)
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self._value > 0:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self._value < MAX_SEED:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags

    def _edited(self, text: str) -> None:
        stripped = text.strip()
        if _DIGITS.fullmatch(stripped) and int(stripped) <= MAX_SEED and int(stripped) != self._value:
            self._value = int(stripped)
            self.valueChanged.emit(self._value)

    def _show(self) -> None:
        if self.lineEdit().text() != str(self._value):
            self.lineEdit().setText(str(self._value))


class ControlsPanel(QWidget):
    """The generation controls. ``changed`` fires on every change the creator makes.

    Changes made through the API (:meth:`load_from`, :meth:`next_seed_if_unlocked`) do not emit
    ``changed``; a resolution fallback forced by :meth:`set_available_resolutions` does, since it
    changes the job.
    """

    changed = Signal()

    def __init__(
        self,
        settings: QSettings | AppSettings | None = None,
        parent: QWidget | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("controlsPanel")
        self._store = settings.store if isinstance(settings, AppSettings) else settings
        self._rng = rng or random.Random()
        self._quiet_depth = 0
        self._wanted_resolution = DEFAULT_RESOLUTION
        self._unavailable: dict[int, str] = {}
        self._build()
        self._restore()
        self._connect()

    # construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.resolution_buttons: dict[int, QRadioButton] = {}
        self.resolution_group = QButtonGroup(self)
        resolution_row = QHBoxLayout()
        self._resolution_tips = {
            128: "128 × 128 pixels: the faster model, good for trying things out",
            256: "256 × 256 pixels: the sharper model; takes longer and needs more memory",
        }
        for size in RESOLUTIONS:
            button = QRadioButton(f"{size} px")
            button.setToolTip(self._resolution_tips[size])
            self.resolution_group.addButton(button, size)
            self.resolution_buttons[size] = button
            resolution_row.addWidget(button)
        resolution_row.addStretch(1)

        self.quality_combo = QComboBox()
        for key, label in QUALITY_LABELS.items():
            self.quality_combo.addItem(label, key)
        self.quality_combo.setToolTip(
            "How carefully each frame is made. Draft is quick for checking timing and motion; "
            "Standard is the model's published setting and looks best"
        )

        video = QGroupBox("Video")
        video_form = QFormLayout(video)
        self._add_row(
            video_form, "&Resolution:", resolution_row, self.resolution_buttons[RESOLUTIONS[0]],
            "Size of the video the model makes; each size is a separate model",
        )
        self._add_row(video_form, "&Quality:", self.quality_combo)
        self.enhance_controls = EnhanceControls()
        video_form.addRow(self.enhance_controls)

        self.still_head_check = QCheckBox("Keep the head &still")
        self.still_head_check.setToolTip(
            "Hold the head in the photo's pose for the whole clip; only the face and eyes move"
        )
        self.head_motion_slider = StrengthSlider(MAX_STRENGTH)
        self.head_motion_slider.setToolTip(
            "How much the head moves overall. 0 % keeps it still, 100 % moves it as the model "
            "suggests, 200 % exaggerates the movement"
        )
        self.rotation_slider = StrengthSlider(MAX_STRENGTH)
        self.rotation_slider.setToolTip(
            "How far the head turns, nods and tilts, on top of the head-motion setting"
        )
        self.translation_slider = StrengthSlider(MAX_STRENGTH)
        self.translation_slider.setToolTip(
            "How far the head shifts sideways, up and down, and towards the camera, "
            "on top of the head-motion setting"
        )
        self.blink_slider = StrengthSlider(MAX_STRENGTH)
        self.blink_slider.setToolTip(
            "How strongly the eyes blink. 0 % keeps the eyes as open as in the photo; "
            "above 100 % makes blinks deeper"
        )
        self.variety_slider = StrengthSlider(MAX_VARIETY)
        self.variety_slider.setToolTip(
            "How lively and unpredictable the motion is. 0 % gives the calmest, most typical motion "
            "for this speech; higher values give bigger, more varied movements"
        )

        self.seed_spin = SeedSpinBox()
        self.seed_spin.setToolTip(
            "The number the random motion starts from. The same speech, seed and settings "
            "always give the same motion"
        )
        self.seed_spin.setAccessibleName("Seed")
        self.new_seed_button = QPushButton("&New seed")
        self.new_seed_button.setToolTip("Pick a random seed to try a different take of the motion")
        self.lock_seed_check = QCheckBox("Loc&k")
        self.lock_seed_check.setToolTip(
            "Locked: every generation uses this seed, so only your changes make a difference. "
            "Unlocked: each generation picks a new seed and shows it here"
        )
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.new_seed_button)
        seed_row.addWidget(self.lock_seed_check)

        motion = QGroupBox("Motion")
        motion_form = QFormLayout(motion)
        motion_form.addRow(self.still_head_check)
        self._add_row(motion_form, "Head &motion:", self.head_motion_slider)
        self._add_row(motion_form, "R&otation:", self.rotation_slider)
        self._add_row(motion_form, "&Translation:", self.translation_slider)
        self._add_row(motion_form, "&Blinks:", self.blink_slider)
        self._add_row(motion_form, "Var&iety:", self.variety_slider)
        self._add_row(motion_form, "S&eed:", seed_row, self.seed_spin)

        self.advanced_button = QToolButton()
        self.advanced_button.setText("&Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setToolTip("Show or hide settings most people never need to change")
        self.guidance_spin = QDoubleSpinBox()
        self.guidance_spin.setRange(0.0, MAX_GUIDANCE)
        self.guidance_spin.setDecimals(2)
        self.guidance_spin.setSingleStep(0.1)
        self.guidance_spin.setToolTip(
            "How strictly the video follows the speech and the head motion. 1 is the model's "
            "published setting and the fastest; above 1 follows them more strongly but each step "
            "takes twice as long and faces can look overdone"
        )
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, MAX_STEPS)
        self.steps_spin.setToolTip(
            "How many refinement passes make each frame. More passes take longer; "
            f"{QUALITY_STEPS['standard']} is the published setting"
        )
        self.preset_combo = QComboBox()
        for preset, text in PRESET_LABELS.items():
            self.preset_combo.addItem(text, preset)
        self.preset_combo.setToolTip(
            "Studio: the studio's fixes of the original DAWN code's quirks (recommended). Reference: "
            "reproduce the original code exactly (whole photo squashed to a square, its eye and face-box "
            "measurements, first audio channel only, at most 8 seconds rendered)"
        )
        self.advanced_box = QWidget()
        advanced_form = QFormLayout(self.advanced_box)
        advanced_form.setContentsMargins(16, 0, 0, 0)
        self._add_row(advanced_form, "&Guidance scale:", self.guidance_spin)
        self._add_row(advanced_form, "Diffusion ste&ps:", self.steps_spin)
        self._add_row(advanced_form, "Pipeline prese&t:", self.preset_combo)

        self.reset_button = QPushButton("Reset to &defaults")
        self.reset_button.setToolTip(
            "Put quality, motion, seed and advanced settings back to their defaults (the resolution stays)"
        )
        reset_row = QHBoxLayout()
        reset_row.addStretch(1)
        reset_row.addWidget(self.reset_button)

        layout = QVBoxLayout(self)
        layout.addWidget(video)
        layout.addWidget(motion)
        layout.addWidget(self.advanced_button)
        layout.addWidget(self.advanced_box)
        layout.addLayout(reset_row)
        layout.addStretch(1)

        order = [
            self.resolution_buttons[128], self.resolution_buttons[256], self.quality_combo,
            self.enhance_controls.switch, self.enhance_controls.strength_slider, self.still_head_check,
            self.head_motion_slider.slider, self.rotation_slider.slider,
            self.translation_slider.slider, self.blink_slider.slider, self.variety_slider.slider,
            self.seed_spin, self.new_seed_button, self.lock_seed_check, self.advanced_button,
            self.guidance_spin, self.steps_spin, self.preset_combo, self.reset_button,
        ]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)

    @staticmethod
    def _add_row(
        form: QFormLayout, text: str, field: Any, buddy: QWidget | None = None, tip: str = ""
    ) -> None:
        """A form row whose label's mnemonic focuses the control and which shares its tooltip."""
        label = QLabel(text)
        target = buddy if buddy is not None else field
        label.setBuddy(target.focusProxy() or target)
        label.setToolTip(tip or target.toolTip())
        form.addRow(label, field)

    def _connect(self) -> None:
        self.resolution_group.idToggled.connect(self._resolution_toggled)
        self.quality_combo.currentIndexChanged.connect(self._quality_chosen)
        self.steps_spin.valueChanged.connect(self._steps_edited)
        self.guidance_spin.valueChanged.connect(self._user_changed)
        self.preset_combo.currentIndexChanged.connect(self._user_changed)
        self.still_head_check.toggled.connect(self._still_head_toggled)
        for slider in self._sliders().values():
            slider.valueChanged.connect(self._user_changed)
        self.seed_spin.valueChanged.connect(self._user_changed)
        self.new_seed_button.clicked.connect(self.new_seed)
        self.lock_seed_check.toggled.connect(self._lock_toggled)
        self.advanced_button.toggled.connect(self._advanced_toggled)
        self.reset_button.clicked.connect(self.reset)
        self.enhance_controls.changed.connect(self._user_changed)

    def _sliders(self) -> dict[str, StrengthSlider]:
        return {
            "head_motion": self.head_motion_slider,
            "rotation_strength": self.rotation_slider,
            "translation_strength": self.translation_slider,
            "blink_strength": self.blink_slider,
            "variety": self.variety_slider,
        }

    # reading ---------------------------------------------------------------------------
    def controls(self) -> MotionControls:
        """The motion controls as set now."""
        values = {name: slider.value() for name, slider in self._sliders().items()}
        still = self.still_head_check.isChecked()
        return MotionControls(seed=self.seed_spin.value(), still_head=still, **values)

    def resolution(self) -> int:
        """The selected resolution; the preferred one when no model is available at all."""
        checked = self.resolution_group.checkedId()
        return checked if checked in RESOLUTIONS else self._wanted_resolution

    def steps(self) -> int:
        return self.steps_spin.value()

    def guidance_scale(self) -> float:
        return self.guidance_spin.value()

    def quality(self) -> str:
        """'draft', 'standard' or 'custom' (a step count that is no preset)."""
        return _quality_of(self.steps())

    def seed_locked(self) -> bool:
        return self.lock_seed_check.isChecked()

    def apply_to(self, job: Job) -> Job:
        """``job`` with this panel's resolution, steps, guidance scale, motion controls and enhancement."""
        return job.with_changes(
            resolution=self.resolution(),
            enhance=self.enhance_controls.value(),
            steps=self.steps(),
            guidance_scale=self.guidance_scale(),
            motion=self.controls(),
            preset=self.preset_combo.currentData(),
        )

    # setting ---------------------------------------------------------------------------
    def load_from(self, job: Job, lock_seed: bool = True) -> None:
        """Show a job's settings (an opened project). The seed is locked so the project's seed is kept."""
        with self._quiet():
            self._wanted_resolution = job.resolution
            self._select_resolution()
            self._show_controls(job.motion)
            self.steps_spin.setValue(job.steps)
            self.guidance_spin.setValue(job.guidance_scale)
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(job.preset))
            self.enhance_controls.load(job.enhance)
            self._sync_quality()
            if lock_seed:
                self.lock_seed_check.setChecked(True)
        self._save()

    def reset(self) -> None:
        """Defaults for everything but the resolution (a model choice), the seed locked again."""
        with self._quiet():
            self._show_controls(MotionControls())
            self.steps_spin.setValue(QUALITY_STEPS["standard"])
            self.guidance_spin.setValue(DEFAULT_GUIDANCE)
            self.preset_combo.setCurrentIndex(self.preset_combo.findData("studio"))
            self._sync_quality()
            self.lock_seed_check.setChecked(True)
        self._user_changed()

    def new_seed(self) -> int:
        """Draw a random seed and show it (what the "New seed" button does)."""
        seed = self._draw_seed()
        self.seed_spin.setValue(seed)
        return seed

    def next_seed_if_unlocked(self) -> int:
        """The seed for the next generation: the shown one if locked, else a new one (shown too)."""
        if self.seed_locked():
            return self.seed_spin.value()
        with self._quiet():
            self.seed_spin.setValue(self._draw_seed())
        self._save()
        return self.seed_spin.value()

    def set_available_resolutions(self, availability: Mapping[int, tuple[bool, str]]) -> None:
        """Enable or disable resolutions; a disabled one shows ``reason`` as its tooltip.

        ``availability`` maps a resolution to ``(available, reason)``; resolutions not named keep
        their state. When the chosen one is missing the panel falls back to an available one and
        goes back to the creator's choice once it is available again.
        """
        unknown = sorted(set(availability) - set(self.resolution_buttons))
        if unknown:
            raise ValueError(f"Unknown resolution(s) {unknown}; expected some of {RESOLUTIONS}")
        for size, (available, reason) in availability.items():
            if available:
                self._unavailable.pop(size, None)
            else:
                self._unavailable[size] = reason or f"The {size}-pixel model is not installed"
        for size, button in self.resolution_buttons.items():
            button.setEnabled(size not in self._unavailable)
            button.setToolTip(self._unavailable.get(size, self._resolution_tips[size]))
        before = self.resolution()
        with self._quiet():
            self._select_resolution()
        if self.resolution() != before:
            self._user_changed()

    def set_enhancer_available(self, available: bool, reason: str = "") -> None:
        """Enable face enhancement when its weights are installed; ``reason`` says what is missing.
        Emits ``changed`` when this switches the job's enhancement on or off."""
        before = self.enhance_controls.value()
        self.enhance_controls.set_available(available, reason)
        if self.enhance_controls.value() != before:
            self._user_changed()

    # reactions -------------------------------------------------------------------------
    def _resolution_toggled(self, size: int, checked: bool) -> None:
        if checked and not self._is_quiet():
            self._wanted_resolution = size
            self._user_changed()

    def _quality_chosen(self, index: int) -> None:
        key = self.quality_combo.itemData(index)
        if self._is_quiet() or key is None:
            return
        if key == CUSTOM_QUALITY:
            self.advanced_button.setChecked(True)
            self.steps_spin.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        with self._quiet():
            self.steps_spin.setValue(QUALITY_STEPS[key])
        self._user_changed()

    def _steps_edited(self) -> None:
        if self._is_quiet():
            return
        self._sync_quality()
        self._user_changed()

    def _still_head_toggled(self) -> None:
        self._sync_enabled()
        self._user_changed()

    def _lock_toggled(self) -> None:
        self._sync_enabled()
        self._user_changed()

    def _advanced_toggled(self, shown: bool) -> None:
        self.advanced_box.setVisible(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if self._store is not None:
            self._store.setValue(f"{SETTINGS_GROUP}/advanced_open", shown)

    def _user_changed(self) -> None:
        if self._is_quiet():
            return
        self._save()
        self.changed.emit()

    # helpers ---------------------------------------------------------------------------
    @contextmanager
    def _quiet(self) -> Iterator[None]:
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    def _is_quiet(self) -> bool:
        return self._quiet_depth > 0

    def _draw_seed(self) -> int:
        current = self.seed_spin.value()
        seed = current
        while seed == current:
            seed = self._rng.randrange(NEW_SEED_LIMIT)
        return seed

    def _select_resolution(self) -> None:
        available = [size for size in RESOLUTIONS if size not in self._unavailable]
        if not available:
            self.resolution_group.setExclusive(False)
            for button in self.resolution_buttons.values():
                button.setChecked(False)
            self.resolution_group.setExclusive(True)
            return
        target = self._wanted_resolution if self._wanted_resolution in available else available[0]
        self.resolution_buttons[target].setChecked(True)

    def _show_controls(self, controls: MotionControls) -> None:
        for name, slider in self._sliders().items():
            slider.setValue(getattr(controls, name))
        self.still_head_check.setChecked(bool(controls.still_head))
        self.seed_spin.setValue(int(controls.seed))
        self._sync_enabled()

    def _sync_quality(self) -> None:
        with QSignalBlocker(self.quality_combo):
            self.quality_combo.setCurrentIndex(self.quality_combo.findData(_quality_of(self.steps())))

    def _sync_enabled(self) -> None:
        moving = not self.still_head_check.isChecked()
        for slider in (self.head_motion_slider, self.rotation_slider, self.translation_slider):
            slider.setEnabled(moving)
        self.new_seed_button.setEnabled(not self.lock_seed_check.isChecked())

    # persistence -----------------------------------------------------------------------
    def _save(self) -> None:
        if self._store is None:
            return
        controls = self.controls()
        values: dict[str, Any] = {
            "resolution": self._wanted_resolution,
            "steps": self.steps(),
            "guidance_scale": self.guidance_scale(),
            "seed_locked": self.seed_locked(),
            "enhance_on": self.enhance_controls.wanted(),
            "enhance_strength": self.enhance_controls.strength(),
        }
        values.update({name: getattr(controls, name) for name in _MOTION_FIELDS})
        values["seed"] = str(controls.seed)  # INI files keep big integers exactly as text
        for key, value in values.items():
            self._store.setValue(f"{SETTINGS_GROUP}/{key}", value)

    def _restore(self) -> None:
        """Saved values, each falling back to its default when missing or unusable."""
        saved = _SavedValues(self._store)
        defaults = MotionControls()
        motion: dict[str, Any] = {}
        for name in self._sliders():
            high = MAX_VARIETY if name == "variety" else MAX_STRENGTH
            motion[name] = saved.number(name, getattr(defaults, name), 0.0, high)
        motion["seed"] = int(saved.number("seed", DEFAULT_SEED, 0, MAX_SEED, whole=True))
        motion["still_head"] = saved.flag("still_head", False)
        with self._quiet():
            self._wanted_resolution = int(saved.choice("resolution", DEFAULT_RESOLUTION, RESOLUTIONS))
            self._select_resolution()
            self._show_controls(MotionControls(**motion))
            steps = saved.number("steps", QUALITY_STEPS["standard"], 1, MAX_STEPS, whole=True)
            self.steps_spin.setValue(int(steps))
            self.guidance_spin.setValue(saved.number("guidance_scale", DEFAULT_GUIDANCE, 0.0, MAX_GUIDANCE))
            self._sync_quality()
            self.lock_seed_check.setChecked(saved.flag("seed_locked", True))
            self.enhance_controls.set_wanted(saved.flag("enhance_on", False),
                                             saved.number("enhance_strength", DEFAULT_STRENGTH, 0.0, 1.0))
            self._sync_enabled()
        shown = saved.flag("advanced_open", False)
        self.advanced_button.setChecked(shown)
        self._advanced_toggled(shown)


def _quality_of(steps: int) -> str:
    for key, preset in QUALITY_STEPS.items():
        if steps == preset:
            return key
    return CUSTOM_QUALITY


class _SavedValues:
    """Reads ``controls/…`` values back from an INI store, where everything comes back as text."""

    def __init__(self, store: QSettings | None) -> None:
        self.store = store

    def _raw(self, name: str) -> Any:
        return None if self.store is None else self.store.value(f"{SETTINGS_GROUP}/{name}")

    def number(self, name: str, default: float, low: float, high: float, whole: bool = False) -> float:
        raw = self._raw(name)
        try:
            value: float = int(str(raw)) if whole else float(raw)
        except (TypeError, ValueError):
            return default
        return value if low <= value <= high else default

    def flag(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "1"):
            return True
        if str(raw).lower() in ("false", "0"):
            return False
        return default

    def choice(self, name: str, default: int, allowed: tuple[int, ...]) -> int:
        value = self.number(name, default, min(allowed), max(allowed), whole=True)
        return int(value) if value in allowed else default
