"""The question before quitting, starting a new project or opening another one with unsaved work.

The box is window-modal but never blocks the event loop (``open()`` and ``finished``): a generation or an
export keeps reporting while it is shown, and tests answer it like a person would, by its buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from PySide6.QtWidgets import QMessageBox, QWidget


class Answer(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


#: ``asker(parent, action, on_answer)``: asks about unsaved changes before ``action`` (words such as
#: "quitting"), and calls ``on_answer`` with the answer once given.
Asker = Callable[[QWidget, str, Callable[[Answer], None]], object]


def ask_unsaved_changes(parent: QWidget, action: str, on_answer: Callable[[Answer], None]) -> QMessageBox:
    """Open the Save / Don't Save / Cancel box; ``on_answer`` gets the choice (Esc and closing: Cancel)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                      "This project has changes that are not saved.", parent=parent)
    box.setObjectName("unsavedChangesBox")
    box.setInformativeText(f"Save them before {action}? If you don't save, the takes and settings of this "
                           "session are not brought back next time.")
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    answers = {QMessageBox.StandardButton.Save: Answer.SAVE, QMessageBox.StandardButton.Discard: Answer.DISCARD}

    def finished(_result: int) -> None:
        button = box.standardButton(box.clickedButton()) if box.clickedButton() is not None else None
        on_answer(answers.get(button, Answer.CANCEL))  # type: ignore[arg-type]
        box.deleteLater()

    box.finished.connect(finished)
    box.open()
    return box
