"""The model manager dialog: what is installed and what is missing, download (with the terms shown
first), import from a folder or zip, verify, choose the model folder. Work runs off the UI thread on a
``TaskRunner`` with progress for the current file and the whole batch, and a Cancel button."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..modelstore import (
    FileState,
    ModelStore,
    ModelStoreError,
    StoreProgress,
    download,
    import_models,
    use_folder,
)
from ..modelstore.catalog import CatalogFile
from ..modelstore.errors import OfflineError
from ..modelstore.store import human_size
from ..progress import CancelToken
from .worker import TaskRunner

StoreFactory = Callable[[], ModelStore]
_STATE_TEXT = {
    FileState.VERIFIED: "Verified", FileState.PRESENT: "Installed", FileState.MISSING: "Missing",
    FileState.PARTIAL: "Interrupted (resumes)", FileState.CORRUPT: "Damaged",
}
_PROGRESS_INTERVAL = 0.1  # seconds between progress signals from the worker


def _throttled(report: Callable[[Any], None]) -> Callable[[StoreProgress], None]:
    """Forward progress at most every 0.1 s (and every change of file or phase) to the UI thread."""
    last = {"time": 0.0, "key": None}

    def forward(event: StoreProgress) -> None:
        now = time.monotonic()
        key = (event.file_id, event.phase)
        if key != last["key"] or now - last["time"] >= _PROGRESS_INTERVAL:
            last["time"], last["key"] = now, key
            report(event)

    return forward


class ModelManagerDialog(QDialog):
    """Self-contained: give it a way to open the store (default: the user's store)."""

    modelsChanged = Signal()  # files were added, checked or the folder changed

    def __init__(self, store_factory: StoreFactory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setMinimumSize(760, 620)
        self.store = (store_factory or ModelStore.locate)()
        self.runner = TaskRunner(self)
        self.last_error = ""
        self._missing_count = 0
        #: Exact sizes the server stated while downloading (the catalog knows some only roughly).
        self.known_sizes: dict[str, int] = {}
        self._offline = False  # the last download failed for want of a connection

        self.folder_label = QLabel()
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setWordWrap(True)
        self.folder_button = QPushButton("Use Another Folder…")
        self.folder_button.setToolTip("Keep the model files in another folder (e.g. a larger disk)")
        self.folder_button.clicked.connect(self._browse_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(self.folder_button)

        self.features_label = QLabel()
        self.features_label.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["File", "Needed for", "Size", "Status"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        # Rows one text line high: at the default 30 px a 640-px dialog showed three and a half of 16 files.
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

        self.terms_text = QPlainTextEdit()
        self.terms_text.setReadOnly(True)
        self.terms_text.setMaximumHeight(130)
        self.accept_terms = QCheckBox("I have read these terms and accept them")
        self.accept_terms.toggled.connect(self._update_buttons)
        terms_box = QGroupBox("Terms of use of the files to download")
        terms_layout = QVBoxLayout(terms_box)
        terms_layout.addWidget(self.terms_text)
        terms_layout.addWidget(self.accept_terms)

        self.file_progress = QProgressBar()
        self.file_progress.setFormat("%p%")
        self.total_progress = QProgressBar()
        self.file_caption = QLabel("")
        self.file_caption.setVisible(False)  # shown while a file is being fetched; empty lines cost table rows
        self.status_label = QLabel("")
        self.status_label.setVisible(False)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.status_label.linkActivated.connect(self._link_activated)
        self.total_label = QLabel("")
        self.total_label.setWordWrap(True)
        self.total_label.setToolTip("Sizes marked 'about' are the publisher's rounded figures; the exact size "
                                    "of each file is asked from the server when its download starts.")
        progress = QGridLayout()
        progress.addWidget(QLabel("File:"), 0, 0)
        progress.addWidget(self.file_progress, 0, 1)
        progress.addWidget(QLabel("Total:"), 1, 0)
        progress.addWidget(self.total_progress, 1, 1)
        progress.addWidget(self.file_caption, 2, 0, 1, 2)

        self.download_button = QPushButton("Download Missing")
        self.download_button.setToolTip("Download every missing file from its publisher "
                                        "(resumes if interrupted)")
        self.download_button.clicked.connect(lambda: self.start_download(self.download_scope()))
        self.scope_combo = QComboBox()
        self.scope_combo.setToolTip("Download everything, or only what one video size or face enhancement needs")
        self.scope_combo.addItem("Everything missing", None)
        for feature in self.store.catalog.offered_features():
            self.scope_combo.addItem(f"Only what {feature.title} needs", feature.id)
        self.scope_combo.currentIndexChanged.connect(lambda _index: self.refresh())
        self.import_folder_button = QPushButton("Import Folder…")
        self.import_folder_button.setToolTip("Copy model files from a folder, e.g. a pretrain_models/ copy")
        self.import_folder_button.clicked.connect(self._browse_import_folder)
        self.import_zip_button = QPushButton("Import Zip…")
        self.import_zip_button.clicked.connect(self._browse_import_zip)
        self.verify_button = QPushButton("Verify")
        self.verify_button.setToolTip("Check every installed file against its checksum")
        self.verify_button.clicked.connect(lambda: self.start_verify(force=True))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop; nothing half-written is kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.scope_combo)
        for button in (self.download_button, self.import_folder_button, self.import_zip_button,
                       self.verify_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(folder_row)
        layout.addWidget(self.features_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.total_label)
        layout.addWidget(terms_box)
        layout.addLayout(progress)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)

        self.runner.progressed.connect(self._on_progress)
        self.runner.succeeded.connect(self._on_succeeded)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.busyChanged.connect(lambda busy: self._update_buttons())
        self.refresh()

    # state -------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    def refresh(self) -> None:
        """Re-read the store's status (fast: no hashing) and show it."""
        status = self.store.status()
        self.folder_label.setText(f"Model folder: {self.store.root}\n({self.store.reason})")
        lines = []
        for feature in status.features:
            mark = "✓" if feature.ready else "✗"
            lines.append(f"{'•' if not feature.needs_models else mark} {feature.summary}")
        self.features_label.setText("\n".join(lines))
        catalog = self.store.catalog
        self.table.setRowCount(len(status.files))
        for row, file_status in enumerate(status.files):
            file = file_status.file
            needed = ", ".join(f.title for f in catalog.features if file.id in f.files)
            if file_status.size_on_disk is not None and file_status.state is not FileState.PARTIAL:
                size_text = human_size(file_status.size_on_disk)
            else:
                size_text = self._size_text(file)
            cells = [file.path, needed, size_text, _STATE_TEXT[file_status.state]]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{file.title}: {file.purpose}\n{file_status.detail}")
                self.table.setItem(row, column, item)
        scope = self.download_scope()
        wanted = {f.id for f in catalog.expand(scope)} if scope else {f.id for f in catalog.files}
        missing = [s.file for s in status.missing if s.file.id in wanted]
        licences = sorted({f.licence for f in missing})
        self.terms_text.setPlainText("\n\n".join(
            f"{catalog.licences[lid].name}\n{catalog.licences[lid].url}\n{catalog.licences[lid].text}"
            for lid in licences
        ) or "Nothing to download.")
        self._missing_count = len(missing)
        self.total_label.setText(self._total_text(missing))
        self._update_buttons()

    def _size(self, file: CatalogFile) -> tuple[int | None, bool]:
        """The best size known for ``file`` and whether it is exact."""
        if file.id in self.known_sizes:
            return self.known_sizes[file.id], True
        return file.shown_size

    def _size_text(self, file: CatalogFile) -> str:
        size, exact = self._size(file)
        if size is None:
            return "known at download"
        return human_size(size) if exact else f"about {human_size(size)}"

    def _total_text(self, missing: list[CatalogFile]) -> str:
        """The download the button would start, in one line: how much, how many files."""
        if not missing:
            return "Nothing to download."
        sizes = [self._size(f) for f in missing]
        total = sum(size for size, _exact in sizes if size is not None)
        unknown = sum(1 for size, _exact in sizes if size is None)
        about = "" if all(exact for size, exact in sizes if size is not None) else "about "
        count = f"{len(missing)} file{'s' if len(missing) != 1 else ''}"
        text = f"To download: {about}{human_size(total)} in {count}"
        if unknown:
            text += (f" (plus {unknown} file{'s' if unknown != 1 else ''} whose size the server states when "
                     "the download starts)")
        return text + "."

    def download_scope(self) -> list[str] | None:
        """The feature chosen in the scope box (None: everything missing)."""
        feature_id = self.scope_combo.currentData()
        return [feature_id] if feature_id else None

    def _update_buttons(self) -> None:
        busy = self.busy
        can_download = self._missing_count > 0 and self.accept_terms.isChecked()
        self.download_button.setEnabled(not busy and can_download)
        for button in (self.import_folder_button, self.import_zip_button, self.verify_button,
                       self.folder_button):
            button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.close_button.setEnabled(not busy)

    def show_message(self, text: str) -> None:
        self._set_status(text)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #c0392b;" if error else "")
        self.status_label.setToolTip("")
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    # actions -----------------------------------------------------------------------------------
    def start_download(self, names: list[str] | None = None) -> None:
        """Download the missing files (or the named files/features); the terms must be accepted first."""
        if self.busy or not self.accept_terms.isChecked():
            return
        store = self.store
        self._begin("Downloading…")
        self._offline = False

        def task(report: Callable[[Any], None], cancel: CancelToken) -> Any:
            try:
                return download(store, names, progress=_throttled(report), cancel=cancel)
            except OfflineError:
                self._offline = True  # read on the UI thread once the failure has arrived there
                raise

        self.runner.start(task)

    def start_import(self, source: Path, link: bool = False) -> None:
        if self.busy:
            return
        store = self.store
        self._begin(f"Importing from {source}…")
        self.runner.start(
            lambda report, cancel: import_models(store, Path(source), link=link, progress=_throttled(report),
                                                 cancel=cancel))

    def start_verify(self, force: bool = False) -> None:
        if self.busy:
            return
        store = self.store

        def task(report: Callable[[Any], None], cancel: CancelToken) -> Any:
            forward = _throttled(report)

            def progress(file_id: str, done: int, total: int) -> None:
                path = store.catalog.file(file_id).path
                forward(StoreProgress("verifying", file_id, path, 0, 1, done, total, done, total))

            return store.verify(force=force, progress=progress, cancel=cancel)

        self._begin("Checking the installed files…")
        self.runner.start(task)

    def cancel(self) -> None:
        if self.busy:
            self._set_status("Cancelling…")
            self.runner.cancel()

    def use_folder(self, folder: Path) -> None:
        """Switch to ``folder`` and remember it for the app and the command line."""
        try:
            candidate = ModelStore(Path(folder), self.store.catalog, reason="chosen with 'use this folder'")
            candidate.ensure_writable()
            use_folder(Path(folder))
        except ModelStoreError as exc:
            self._set_status(str(exc), error=True)
            return
        self.store = candidate
        self._set_status(f"Using {candidate.root} for the model files.")
        self.refresh()
        self.modelsChanged.emit()

    def _begin(self, text: str) -> None:
        self.last_error = ""
        self.file_progress.setValue(0)
        self.total_progress.setValue(0)
        self.file_caption.setText("")
        self.file_caption.setVisible(bool(self.file_caption.text()))
        self._set_status(text)

    # results -----------------------------------------------------------------------------------
    def _on_progress(self, event: object) -> None:
        if not isinstance(event, StoreProgress):
            return
        if event.phase in ("downloading", "installed") and event.file_total \
                and self.known_sizes.get(event.file_id) != event.file_total:
            self.known_sizes[event.file_id] = event.file_total  # the server's exact size
            self._show_known_size(event.file_id)
        if event.file_total:
            self.file_progress.setRange(0, 1000)
            self.file_progress.setValue(int(1000 * event.file_done / event.file_total))
        else:
            self.file_progress.setRange(0, 0)  # busy indicator while the size is unknown
        if event.total:
            self.total_progress.setRange(0, 1000)
            self.total_progress.setValue(int(1000 * event.done / event.total))
        total = f" — {human_size(event.done)} of {human_size(event.total)} in all" if event.total else ""
        file_total = f" of {human_size(event.file_total)}" if event.file_total else ""
        self.file_caption.setText(f"[{event.index + 1}/{event.count}] {event.phase} {event.file_path}: "
                                  f"{human_size(event.file_done)}{file_total}{total}")
        self.file_caption.setVisible(bool(self.file_caption.text()))

    def _show_known_size(self, file_id: str) -> None:
        catalog = self.store.catalog
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == catalog.file(file_id).path:
                self.table.item(row, 2).setText(self._size_text(catalog.file(file_id)))

    def _operation_ended(self) -> None:
        """No line about a file stays once the work has stopped (it read '[1/15] resolving…' for good)."""
        self.file_caption.setText("")
        self.file_caption.setVisible(bool(self.file_caption.text()))

    def _link_activated(self, link: str) -> None:
        if link == "import-folder":
            self._browse_import_folder()

    def _on_succeeded(self, result: object) -> None:
        self._operation_ended()
        self.file_progress.setRange(0, 1000)
        self.file_progress.setValue(1000)
        self.total_progress.setRange(0, 1000)
        self.total_progress.setValue(1000)
        self.refresh()
        summary = getattr(result, "summary", None)
        if callable(summary):
            text = summary(self.store.catalog)
        elif isinstance(result, list):
            damaged = [s.file.path for s in result if s.state is FileState.CORRUPT]
            text = "All checks passed."
            if damaged:
                text = "Damaged: " + ", ".join(damaged) + ". Download them again."
        else:
            text = "Done. " + " · ".join(f.summary for f in self.store.status().features if f.needs_models)
        self._set_status(text, error=text.startswith("Damaged"))
        self.modelsChanged.emit()

    def _on_failed(self, message: str, details: str) -> None:
        self._operation_ended()
        self.file_progress.setRange(0, 1000)
        self.refresh()
        if self._offline:
            # The store's message names a terminal command (it serves the command line too); here the
            # way out is a button away.
            message = ("Cannot download: no connection to the server (are you offline?). On a computer with "
                       "internet, get the model files (or copy them from another DAWN Studio), then bring "
                       "them here with Import Folder….")
            self.last_error = message
            self._set_status(f'{html.escape(message[:-len("Import Folder….")])}'
                             '<a href="import-folder">Import Folder…</a>.', error=True)
            self.status_label.setToolTip(html.escape(self._offline_details(details)))
            return
        self.last_error = message
        self._set_status(message, error=True)

    @staticmethod
    def _offline_details(details: str) -> str:
        """The server's own words (last line of the traceback), for the tooltip."""
        lines = [line for line in details.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def _on_cancelled(self) -> None:
        self._operation_ended()
        self.file_progress.setRange(0, 1000)
        self.file_progress.setValue(0)
        self.refresh()
        self._set_status("Cancelled; nothing half-written was kept.")

    # file pickers ------------------------------------------------------------------------------
    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the model files", str(self.store.root))
        if folder:
            self.use_folder(Path(folder))

    def _browse_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with model files (e.g. pretrain_models)")
        if folder:
            self.start_import(Path(folder))

    def _browse_import_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Zip with model files", "", "Zip archives (*.zip)")
        if path:
            self.start_import(Path(path))

    # closing -----------------------------------------------------------------------------------
    def reject(self) -> None:
        if self.busy:  # closing the window cancels the work and waits for it to clean up
            self.runner.cancel()
            self.runner.wait()
        super().reject()


def first_run_dialog(store_factory: StoreFactory | None = None,
                     parent: QWidget | None = None) -> ModelManagerDialog | None:
    """The dialog to show at start-up when no model file is installed at all; None otherwise."""
    store = (store_factory or ModelStore.locate)()
    if not store.status().nothing_installed:
        return None
    dialog = ModelManagerDialog(lambda: store, parent)
    dialog.show_message("No model files are installed yet. Download them (accept the terms first) or "
                        "import a folder copied from another machine.")
    return dialog
