"""Export dialog: format preset, full photo or face crop, quality, destination (asks before overwriting)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
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
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..stages.export import FORMAT_LABELS, FORMAT_SUFFIX, ExportSettings

QUALITY_PRESETS = {"Best (large file)": 14, "High": 18, "Good": 23, "Small file": 28}


@dataclass(frozen=True)
class ExportRequest:
    """What the user asked for: where, how, and which picture (full photo or face crop)."""

    path: Path
    settings: ExportSettings
    full_frame: bool


class ExportDialog(QDialog):
    def __init__(self, suggested: Path, full_frame_available: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Video")
        self.overwrite = False
        self.setMinimumWidth(520)
        self.format_combo = QComboBox()
        for key, label in FORMAT_LABELS.items():
            self.format_combo.addItem(label, key)
        self.format_combo.setToolTip("MP4 plays everywhere; WebM suits the web; GIF has no sound; "
                                     "PNG frames are lossless images plus a WAV file")
        self.format_combo.currentIndexChanged.connect(self._format_changed)

        self.full_radio = QRadioButton("Full photo (face pasted back)")
        self.full_radio.setToolTip("The animated face inside your original photo, at the photo's size")
        self.crop_radio = QRadioButton("Face crop only")
        self.crop_radio.setToolTip("Only the square face image the model generated")
        self.full_radio.setEnabled(full_frame_available)
        (self.full_radio if full_frame_available else self.crop_radio).setChecked(True)
        picture = QHBoxLayout()
        picture.addWidget(self.full_radio)
        picture.addWidget(self.crop_radio)

        self.quality_slider = QSlider(Qt.Orientation.Horizontal)
        self.quality_slider.setRange(0, len(QUALITY_PRESETS) - 1)
        self.quality_slider.setValue(1)
        self.quality_slider.setToolTip("Higher quality makes bigger files")
        self.quality_label = QLabel()
        self.quality_slider.valueChanged.connect(self._quality_changed)
        quality = QHBoxLayout()
        quality.addWidget(self.quality_slider, 1)
        quality.addWidget(self.quality_label)

        self.path_edit = QLineEdit(str(suggested))
        self.path_edit.setToolTip("Where the video is saved")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        destination = QHBoxLayout()
        destination.addWidget(self.path_edit, 1)
        destination.addWidget(browse)

        form = QFormLayout()
        form.addRow("Format", self.format_combo)
        form.addRow("Picture", picture)
        form.addRow("Quality", quality)
        form.addRow("Save as", destination)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._quality_changed(self.quality_slider.value())

    def format(self) -> str:
        return str(self.format_combo.currentData())

    def set_format(self, key: str) -> None:
        self.format_combo.setCurrentIndex(self.format_combo.findData(key))

    def _format_changed(self) -> None:
        key = self.format()
        path = Path(self.path_edit.text())
        stem = path.with_suffix("") if path.suffix else path
        self.path_edit.setText(str(stem) + FORMAT_SUFFIX[key])
        self.quality_slider.setEnabled(key in ("mp4", "webm"))

    def _quality_changed(self, index: int) -> None:
        self.quality_label.setText(list(QUALITY_PRESETS)[index])

    def _browse(self) -> None:
        if self.format() == "png":
            start = str(Path(self.path_edit.text()).parent)
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the frames", start)
            if chosen:
                self.path_edit.setText(str(Path(chosen) / Path(self.path_edit.text()).name))
            return
        suffix = FORMAT_SUFFIX[self.format()]
        chosen, _ = QFileDialog.getSaveFileName(self, "Export Video", self.path_edit.text(),
                                                f"{self.format_combo.currentText()} (*{suffix})")
        if chosen:
            self.path_edit.setText(chosen if chosen.endswith(suffix) else chosen + suffix)

    def request(self, overwrite: bool = False) -> ExportRequest:
        crf = list(QUALITY_PRESETS.values())[self.quality_slider.value()]
        settings = ExportSettings(format=self.format(), quality=crf, overwrite=overwrite)  # type: ignore[arg-type]
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
        self.overwrite = False
        if path.exists():
            if not self.confirm_overwrite(path):
                return
            self.overwrite = True
        super().accept()

    def result_request(self) -> ExportRequest:
        """The request after the dialog was accepted (overwrite only if the user confirmed)."""
        return self.request(overwrite=self.overwrite)
