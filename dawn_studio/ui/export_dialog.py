"""Export dialog: format, full photo or face crop, a quality preset, GIF size and frame rate with the
estimated size, and a destination that is always a free name (``talk-2.mp4``). It remembers the last
format, folder and options, asks before replacing a file the user typed, and refuses to write over the
portrait or the speech the clip was made from."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..modelstore.store import human_size
from ..stages.export import FORMAT_LABELS, FORMAT_SUFFIX, ExportSettings, estimate_gif_bytes, same_file
from ..stages.export_naming import free_name


@dataclass(frozen=True)
class QualityPreset:
    """A named trade-off between file size and picture quality (CRF and x264 preset in the tooltip)."""

    name: str
    mp4_crf: int
    mp4_preset: str
    webm_crf: int
    description: str


QUALITY_PRESETS: tuple[QualityPreset, ...] = (
    QualityPreset("Small file", 28, "medium", 40, "Smallest file; fine for messages and previews"),
    QualityPreset("Balanced", 20, "medium", 32, "Good picture at a moderate size"),
    QualityPreset("Best", 16, "slow", 24, "Best picture, largest file, slower to write"),
)
DEFAULT_QUALITY = "Balanced"
GIF_SIDES: tuple[int | None, ...] = (320, 480, 640, None)  # None: the frames' own size
DEFAULT_GIF_SIDE = 480
GIF_RATES = ((1, "25 fps (smoothest)"), (2, "12.5 fps"), (3, "8 fps (smallest)"))
DEFAULT_GIF_STEP = 2


@dataclass(frozen=True)
class ExportRequest:
    """What the user asked for: where, how, and which picture (full photo or face crop)."""

    path: Path
    settings: ExportSettings
    full_frame: bool


class ExportPreferences:
    """The last export's choices (format, folder, quality, GIF options), kept in the app settings so
    the next export — also after a restart — starts from them."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    def _get(self, key: str, default: str) -> str:
        value = self.store.value(f"export/{key}", default)
        return str(value) if value is not None else default

    def format(self) -> str:
        value = self._get("format", "mp4")
        return value if value in FORMAT_SUFFIX else "mp4"

    def folder(self) -> Path | None:
        """The folder of the last export (before this setting existed: of the newest recent export)."""
        value = self._get("folder", "")
        if not value:
            recent = self.store.value("recent/export", [])
            recent = [recent] if isinstance(recent, str) else list(recent or [])
            value = str(Path(recent[0]).parent) if recent else ""
        return Path(value) if value and Path(value).is_dir() else None

    def quality(self) -> str:
        value = self._get("quality", DEFAULT_QUALITY)
        return value if value in {p.name for p in QUALITY_PRESETS} else DEFAULT_QUALITY

    def gif_side(self) -> int | None:
        value = self._get("gif_side", str(DEFAULT_GIF_SIDE))
        if value == "original":
            return None
        return int(value) if value.isdigit() and int(value) in GIF_SIDES else DEFAULT_GIF_SIDE

    def gif_step(self) -> int:
        value = self._get("gif_step", str(DEFAULT_GIF_STEP))
        return int(value) if value.isdigit() and int(value) in dict(GIF_RATES) else DEFAULT_GIF_STEP

    def remember(self, request: ExportRequest, quality: str) -> None:
        settings = request.settings
        self.store.setValue("export/format", settings.format)
        self.store.setValue("export/folder", str(request.path.parent))
        self.store.setValue("export/quality", quality)
        if settings.format == "gif":
            side = settings.gif_max_side
            self.store.setValue("export/gif_side", "original" if side is None else str(side))
            self.store.setValue("export/gif_step", str(settings.gif_frame_step))
        self.store.sync()


class ExportDialog(QDialog):
    """``stem``: the name to propose without suffix; ``taken``: targets of exports still queued;
    ``inputs``: the files the clip was made from (never written over); ``frame_sizes`` (width, height)
    of the full photo and the crop and ``num_frames``, for the GIF size estimate."""

    def __init__(self, suggested: Path, full_frame_available: bool = True, parent: QWidget | None = None, *,
                 preferences: ExportPreferences | None = None, taken: Collection[Path] = (),
                 inputs: Sequence[str | Path] = (), frame_sizes: dict[bool, tuple[int, int]] | None = None,
                 num_frames: int = 0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Video")
        self.overwrite = False
        self.preferences = preferences
        self.taken = [Path(p) for p in taken]
        self.inputs = [Path(p) for p in inputs]
        self.frame_sizes = frame_sizes or {}
        self.num_frames = num_frames
        self.setMinimumWidth(520)
        self.format_combo = QComboBox()
        for key, label in FORMAT_LABELS.items():
            self.format_combo.addItem(label, key)
        self.format_combo.setToolTip("MP4 plays everywhere; WebM suits the web; GIF has no sound; "
                                     "PNG frames are lossless images plus a WAV file")

        self.full_radio = QRadioButton("Full photo (face pasted back)")
        self.full_radio.setToolTip("The animated face inside your original photo, at the photo's size")
        self.crop_radio = QRadioButton("Face crop only")
        self.crop_radio.setToolTip("Only the square face image the model generated")
        self.full_radio.setEnabled(full_frame_available)
        (self.full_radio if full_frame_available else self.crop_radio).setChecked(True)
        picture = QHBoxLayout()
        picture.addWidget(self.full_radio)
        picture.addWidget(self.crop_radio)

        self.quality_combo = QComboBox()
        for preset in QUALITY_PRESETS:
            self.quality_combo.addItem(preset.name, preset.name)
            self.quality_combo.setItemData(
                self.quality_combo.count() - 1,
                f"{preset.description}\nMP4: CRF {preset.mp4_crf}, x264 preset '{preset.mp4_preset}'; "
                f"WebM: CRF {preset.webm_crf}", Qt.ItemDataRole.ToolTipRole)
        self.quality_combo.setToolTip("Smaller files or a better picture (the technical values are in each "
                                      "choice's tooltip)")

        self.gif_size_combo = QComboBox()
        for side in GIF_SIDES:
            self.gif_size_combo.addItem("Original size" if side is None else f"{side} px", side)
        self.gif_size_combo.setToolTip("The longer side of the GIF; smaller GIFs load faster and share easily")
        self.gif_rate_combo = QComboBox()
        for step, label in GIF_RATES:
            self.gif_rate_combo.addItem(label, step)
        self.gif_rate_combo.setToolTip("Fewer frames per second make a much smaller GIF")
        self.gif_estimate = QLabel()
        self.gif_estimate.setToolTip("Estimated from the picture size and frame count; photos vary by about "
                                     "a fifth either way")
        self.gif_row = QWidget()
        gif = QHBoxLayout(self.gif_row)
        gif.setContentsMargins(0, 0, 0, 0)
        gif.addWidget(self.gif_size_combo)
        gif.addWidget(self.gif_rate_combo)
        gif.addWidget(self.gif_estimate, 1)

        self.path_edit = QLineEdit()
        self.path_edit.setToolTip("Where the video is saved; a name already used gets a number (talk-2.mp4)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        destination = QHBoxLayout()
        destination.addWidget(self.path_edit, 1)
        destination.addWidget(browse)

        form = QFormLayout()
        form.addRow("Format", self.format_combo)
        form.addRow("Picture", picture)
        form.addRow("Quality", self.quality_combo)
        form.addRow("GIF", self.gif_row)
        form.addRow("Save as", destination)
        self.form = form
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

        # Start from the last export's choices, in the last folder, under a name nothing uses yet.
        if preferences is not None:
            self.format_combo.setCurrentIndex(self.format_combo.findData(preferences.format()))
            self.quality_combo.setCurrentIndex(self.quality_combo.findData(preferences.quality()))
            self.gif_size_combo.setCurrentIndex(self.gif_size_combo.findData(preferences.gif_side()))
            self.gif_rate_combo.setCurrentIndex(self.gif_rate_combo.findData(preferences.gif_step()))
            folder = preferences.folder()
            if folder is not None:
                suggested = folder / suggested.name
        else:
            self.quality_combo.setCurrentIndex(self.quality_combo.findData(DEFAULT_QUALITY))
            self.gif_size_combo.setCurrentIndex(self.gif_size_combo.findData(DEFAULT_GIF_SIDE))
            self.gif_rate_combo.setCurrentIndex(self.gif_rate_combo.findData(DEFAULT_GIF_STEP))
        stem = suggested.with_suffix("") if suggested.suffix else suggested
        self.path_edit.setText(str(free_name(str(stem) + FORMAT_SUFFIX[self.format()], self.taken)))
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        for widget in (self.gif_size_combo, self.gif_rate_combo):
            widget.currentIndexChanged.connect(self._update_estimate)
        self.full_radio.toggled.connect(self._update_estimate)
        self._show_options()

    def format(self) -> str:
        return str(self.format_combo.currentData())

    def set_format(self, key: str) -> None:
        self.format_combo.setCurrentIndex(self.format_combo.findData(key))

    def quality_preset(self) -> QualityPreset:
        return next(p for p in QUALITY_PRESETS if p.name == self.quality_combo.currentData())

    def _format_changed(self) -> None:
        path = Path(self.path_edit.text())
        stem = path.with_suffix("") if path.suffix else path
        self.path_edit.setText(str(free_name(str(stem) + FORMAT_SUFFIX[self.format()], self.taken)))
        self._show_options()

    def _show_options(self) -> None:
        key = self.format()
        self.quality_combo.setEnabled(key in ("mp4", "webm"))
        self.form.setRowVisible(self.gif_row, key == "gif")
        self._update_estimate()

    def _update_estimate(self) -> None:
        size = self.frame_sizes.get(self.full_radio.isChecked())
        if size is None or self.num_frames <= 0:
            self.gif_estimate.setText("")
            return
        estimate = estimate_gif_bytes(size[0], size[1], self.num_frames, self._gif_settings())
        self.gif_estimate.setText(f"About {human_size(estimate)}")

    def _gif_settings(self) -> ExportSettings:
        return ExportSettings(format="gif", gif_max_side=self.gif_size_combo.currentData(),
                              gif_frame_step=int(self.gif_rate_combo.currentData()))

    def _browse(self) -> None:
        if self.format() == "png":
            start = str(Path(self.path_edit.text()).parent)
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the frames", start)
            if chosen:
                self.path_edit.setText(str(free_name(Path(chosen) / Path(self.path_edit.text()).name, self.taken)))
            return
        suffix = FORMAT_SUFFIX[self.format()]
        chosen, _ = QFileDialog.getSaveFileName(self, "Export Video", self.path_edit.text(),
                                                f"{self.format_combo.currentText()} (*{suffix})")
        if chosen:  # the file dialog has asked about replacing already
            self.path_edit.setText(chosen if chosen.endswith(suffix) else chosen + suffix)

    def request(self, overwrite: bool = False) -> ExportRequest:
        key = self.format()
        preset = self.quality_preset()
        if key == "gif":
            settings = self._gif_settings()
        elif key == "webm":
            settings = ExportSettings(format="webm", quality=preset.webm_crf)
        elif key == "mp4":
            settings = ExportSettings(format="mp4", quality=preset.mp4_crf, preset=preset.mp4_preset)
        else:
            settings = ExportSettings(format=key)  # type: ignore[arg-type]
        settings = replace(settings, overwrite=overwrite)
        return ExportRequest(Path(self.path_edit.text()).expanduser(), settings, self.full_radio.isChecked())

    def confirm_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self, "Replace file?", f"{path.name} already exists in {path.parent}.\nDo you want to replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def accept(self) -> None:
        path = Path(self.path_edit.text()).expanduser()
        if not self.path_edit.text().strip():
            QMessageBox.warning(self, "No destination", "Choose where to save the video.")
            return
        if not path.parent.is_dir():
            QMessageBox.warning(self, "Folder not found", f"The folder {path.parent} does not exist.")
            return
        made_from = next((p for p in self.inputs if same_file(path, p)), None)
        if made_from is not None:
            QMessageBox.warning(self, "Choose another name",
                                f"{path.name} is the file this clip was made from; the export never "
                                "writes over it. Choose another name.")
            return
        if any(same_file(path, p) for p in self.taken):
            QMessageBox.warning(self, "Choose another name",
                                f"An export waiting in the queue will write {path.name}. Choose another name.")
            return
        self.overwrite = False
        if path.exists():
            if not self.confirm_overwrite(path):
                return
            self.overwrite = True
        if self.preferences is not None:
            self.preferences.remember(self.request(), self.quality_preset().name)
        super().accept()

    def result_request(self) -> ExportRequest:
        """The request after the dialog was accepted (overwrite only if the user confirmed)."""
        return self.request(overwrite=self.overwrite)
