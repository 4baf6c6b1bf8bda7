"""The About box: versions a bug report needs (app, torch, Qt, compute device)."""

from __future__ import annotations

import platform

import PySide6
import torch
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from .. import APP_NAME, __version__
from ..device import default_device


def version_info() -> dict[str, str]:
    return {
        APP_NAME: __version__,
        "PyTorch": torch.__version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "Python": platform.python_version(),
        "Compute device": default_device().label,
    }


def about_html() -> str:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;{v}</td></tr>" for k, v in version_info().items())
    return (
        f"<h3>{APP_NAME}</h3>"
        "<p>Turns one portrait photo and a speech recording into a talking-head video with "
        "DAWN (Dynamic frame Avatar With Non-autoregressive diffusion, ICLR 2025).</p>"
        f"<table>{rows}</table>"
        "<p>The DAWN model weights are for research use only, per their authors.</p>"
    )


def show_about(parent: QWidget | None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle(f"About {APP_NAME}")
    box.setTextFormat(PySide6.QtCore.Qt.TextFormat.RichText)
    box.setText(about_html())
    box.setIconPixmap(parent.windowIcon().pixmap(64, 64) if parent is not None else box.iconPixmap())
    box.open()
    return box
