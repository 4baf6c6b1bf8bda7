#!/usr/bin/env python3
"""Screenshots of the real app on a real X server (Xvfb), for docs/screenshots/ and reviewers.

Usage: .venv/bin/python scripts/take_screenshots.py [--out docs/screenshots] [STATE ...]
Without a DISPLAY the script re-runs itself under ``xvfb-run`` (Debian package ``xvfb``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _reexec_under_xvfb() -> int:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        print("No DISPLAY and no xvfb-run: install it with  sudo apt-get install xvfb xauth", file=sys.stderr)
        return 3
    env = dict(os.environ, DAWN_SCREENSHOT_CHILD="1")
    command = [xvfb_run, "-a", "-s", "-screen 0 1440x900x24", sys.executable, *sys.argv]
    return subprocess.call(command, env=env)


def _settle(app, ms: int = 300) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    app.processEvents()


def _grab(window, path: Path) -> None:
    """Grab the window's pixels from the X server (what a person would see)."""
    screen = window.screen()
    pixmap = screen.grabWindow(window.winId())
    if pixmap.isNull():
        raise RuntimeError("the X server returned an empty screenshot")
    pixmap.save(str(path), "PNG")
    print(f"saved {path}")


def state_main_empty(app, window, out: Path) -> None:
    _grab(window, out / "main-window.png")


STATES: dict[str, Callable] = {"main": state_main_empty}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("states", nargs="*", default=list(STATES), help=f"which: {', '.join(STATES)}")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        return _reexec_under_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    # Screenshots must not depend on (or change) the person's own settings.
    scratch = Path(tempfile.mkdtemp(prefix="dawn-shots-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(scratch / var.lower())

    from PySide6.QtCore import QSettings

    from dawn_studio.ui.app import create_application, create_main_window
    from dawn_studio.ui.settings import AppSettings
    from dawn_studio.ui.theme import Theme

    app = create_application(["dawn-studio"])
    settings = AppSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_theme(Theme.DARK)
    window = create_main_window(app, settings)
    window.resize(1280, 800)
    window.move(0, 0)
    window.show()
    _settle(app, 600)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.states:
        STATES[name](app, window, args.out)
        _settle(app)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
