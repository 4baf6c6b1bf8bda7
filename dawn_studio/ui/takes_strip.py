"""The strip of takes under the preview: a thumbnail per Generate, select one to watch, two to compare.

The strip only shows and selects; the studio plays, compares, renames, deletes and exports (it owns the
take store). Selecting a third take drops the oldest selection, so a comparison is always of two.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..takes import Take

THUMB = 56

UNLIMITED = (1 << 24) - 1  # Qt's QWIDGETSIZE_MAX, which PySide6 does not export


class TakesStrip(QWidget):
    """Signals carry take ids: ``selectionChanged([ids])`` (one or two), ``renameRequested(id, name)``,
    ``deleteRequested([ids])``, ``exportRequested(id)``."""

    selectionChanged = Signal(list)
    renameRequested = Signal(str, str)
    deleteRequested = Signal(list)
    exportRequested = Signal(str)
    useSettingsRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("takesStrip")
        self._order: list[str] = []  # selected ids, oldest selection first
        self._updating = False
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setFlow(QListWidget.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # Ctrl+click adds a second
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setFixedHeight(THUMB + self.fontMetrics().height() * 2 + 22)
        self.list.setToolTip("Your takes, newest on the right. Click one to watch it; Ctrl+click a second to "
                             "compare the two side by side.")
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemDoubleClicked.connect(lambda _item: self.ask_rename())

        self.hint = QLabel("Takes: every Generate is kept here.")
        self.hint.setObjectName("takesHint")
        self.hint.setWordWrap(True)  # the thumbnails get the width, the hint wraps
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setToolTip("Give the selected take a name (F2)")
        self.rename_button.clicked.connect(self.ask_rename)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected takes and their files")
        self.delete_button.clicked.connect(lambda: self.deleteRequested.emit(self.selected()))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the selected take as a video file")
        self.export_button.clicked.connect(self._export)
        self.use_button = QPushButton("Use Settings")
        self.use_button.setToolTip("Set the controls to the settings and seed this take was made with")
        self.use_button.clicked.connect(lambda: self.useSettingsRequested.emit(self.selected()[-1]))
        self.list.installEventFilter(self)  # F2 renames, Delete removes, while the strip has the focus

        # The buttons sit two by two beside the thumbnails: in one row they took 350 px and left a 1024-px
        # window one and a half thumbnails; the hint wraps above them within the same narrow column.
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for index, button in enumerate((self.use_button, self.export_button, self.rename_button,
                                        self.delete_button)):
            grid.addWidget(button, index // 2, index % 2)
        column = QWidget()
        column.setObjectName("takesActions")
        buttons = QVBoxLayout(column)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        buttons.addWidget(self.hint)
        buttons.addLayout(grid)
        buttons.addStretch(1)
        self._column_width = max(column.sizeHint().width(), 220)
        column.setMaximumWidth(self._column_width)
        self.actions_column = column
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.list, 1)
        layout.addWidget(column)
        layout.addStretch(0)  # with no takes (the list hidden) the hint stays at the left, not centred
        self._update_buttons()

    # contents -----------------------------------------------------------------------------
    def set_takes(self, takes: list[Take], selected: list[str] | None = None) -> None:
        """Show ``takes`` (oldest first) and select ``selected`` without emitting."""
        self._updating = True
        try:
            self.list.clear()
            for take in takes:
                self.list.addItem(self._item(take))
            self._mark_selected(selected or [])
        finally:
            self._updating = False
        self._update_buttons()

    def _mark_selected(self, ids: list[str]) -> None:
        """Select the items of ``ids`` (in that order, skipping unknown ones) without emitting."""
        self._order = []
        for take_id in ids:
            item = self._find(take_id)
            if item is not None:
                item.setSelected(True)
                self._order.append(take_id)

    def add_take(self, take: Take, select: bool = True) -> None:
        item = self._item(take)
        self.list.addItem(item)
        self.list.scrollToItem(item)
        if select:
            self.select([take.id])

    def update_take(self, take: Take) -> None:
        item = self._find(take.id)
        if item is not None:
            item.setText(take.name)
            item.setToolTip(take.summary())

    def take_ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def select(self, ids: list[str]) -> None:
        """Select exactly ``ids`` (the way a click would), emitting ``selectionChanged``."""
        self._updating = True
        try:
            self.list.clearSelection()
            self._mark_selected(ids[-2:])
        finally:
            self._updating = False
        self._update_buttons()
        self.selectionChanged.emit(list(self._order))

    def selected(self) -> list[str]:
        return list(self._order)

    def ask_rename(self) -> None:
        ids = self.selected()
        if len(ids) != 1:
            return
        item = self._find(ids[0])
        assert item is not None
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename Take")
        dialog.setLabelText("Name of this take:")
        dialog.setTextValue(item.text())
        dialog.textValueSelected.connect(lambda name, i=ids[0]: self.renameRequested.emit(i, name))
        dialog.open()
        self.rename_dialog = dialog

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.list and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_F2:
                self.ask_rename()
                return True
            if event.key() == Qt.Key.Key_Delete and self.selected():
                self.deleteRequested.emit(self.selected())
                return True
        return super().eventFilter(watched, event)

    # internals ----------------------------------------------------------------------------
    def _item(self, take: Take) -> QListWidgetItem:
        image = QImage(str(take.thumbnail))
        icon = QIcon(QPixmap.fromImage(image.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                    Qt.TransformationMode.SmoothTransformation))) \
            if not image.isNull() else QIcon()
        item = QListWidgetItem(icon, take.name)
        item.setData(Qt.ItemDataRole.UserRole, take.id)
        item.setToolTip(take.summary())
        item.setSizeHint(QSize(THUMB + 24, THUMB + self.fontMetrics().height() + 12))
        return item

    def _find(self, take_id: str) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == take_id:
                return item
        return None

    def _selection_changed(self) -> None:
        if self._updating:
            return
        now = {item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()}
        order = [i for i in self._order if i in now] + [i for i in self.take_ids() if i in now and i not in
                                                          self._order]
        if len(order) > 2:  # a third click replaces the oldest of the two compared
            drop = order[:-2]
            self._updating = True
            try:
                for take_id in drop:
                    item = self._find(take_id)
                    if item is not None:
                        item.setSelected(False)
            finally:
                self._updating = False
            order = order[-2:]
        self._order = order
        self._update_buttons()
        self.selectionChanged.emit(list(order))

    def _export(self) -> None:
        ids = self.selected()
        if ids:
            self.exportRequested.emit(ids[-1])

    def _update_buttons(self) -> None:
        count = len(self._order)
        self.rename_button.setEnabled(count == 1)
        self.use_button.setEnabled(count >= 1)
        self.delete_button.setEnabled(count >= 1)
        self.export_button.setEnabled(count >= 1)
        total = self.list.count()
        self.list.setVisible(total > 0)  # an empty strip is one line of text, not a blank band
        for button in (self.use_button, self.rename_button, self.delete_button, self.export_button):
            button.setVisible(total > 0)
        # Empty, the hint is the whole strip: one line, not a narrow column of three.
        self.hint.setWordWrap(total > 0)
        self.actions_column.setMaximumWidth(self._column_width if total > 0 else UNLIMITED)
        if total == 0:
            self.hint.setText("Takes: every Generate is kept here.")
        elif count == 2:
            self.hint.setText("Comparing two takes side by side.")
        else:
            self.hint.setText(f"{total} take{'s' if total != 1 else ''} — Ctrl+click a second to compare.")
