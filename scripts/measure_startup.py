#!/usr/bin/env python3
"""How long `dawn-studio` (no arguments: the desktop app) takes to put something on screen.

Starts the real entry point in a fresh process (own settings, empty model store), watches every paint
and reports, in seconds from process start: the first paint of any window, which window it was, whether
torch was already imported then, and the first paint of the main window. The process quits right after.

Usage: .venv/bin/python scripts/measure_startup.py [--runs 3] [--json] [--root DIR]
(--root: the checkout whose dawn_studio to start, e.g. an older one for a before/after comparison).
Uses the offscreen Qt platform unless DISPLAY is set and --xcb is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, time
t0 = float(os.environ["DAWN_STARTUP_T0"])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication.instance() or QApplication(["dawn-studio"])
seen = {}

class Spy(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget):
            top = obj.window()
            now = time.time() - t0
            if "first_paint_s" not in seen:
                seen.update(first_paint_s=now, first_window=type(top).__name__,
                            torch_loaded_at_first_paint="torch" in sys.modules)
            if type(top).__name__ == "MainWindow" and "main_window_paint_s" not in seen:
                seen["main_window_paint_s"] = now
                QTimer.singleShot(0, QApplication.instance().quit)
        return False

spy = Spy()
app.installEventFilter(spy)
from dawn_studio import cli
code = cli.main([])
seen["exit_code"] = code
print("STARTUP " + json.dumps(seen), flush=True)
"""


def run_once(root: Path, platform: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="dawn-startup-") as scratch:
        env = dict(os.environ)
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[var] = str(Path(scratch) / var.lower())
        env["DAWN_STUDIO_MODELS"] = str(Path(scratch) / "models")
        env["QT_QPA_PLATFORM"] = platform
        env["PYTHONPATH"] = str(root)
        env["DAWN_STARTUP_T0"] = repr(time.time())
        result = subprocess.run([sys.executable, "-c", CHILD], cwd=root, env=env, capture_output=True,
                                text=True, timeout=300)
    for line in result.stdout.splitlines():
        if line.startswith("STARTUP "):
            return json.loads(line[len("STARTUP "):])
    raise RuntimeError(f"the app did not report (exit {result.returncode}): {result.stderr[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    parser.add_argument("--xcb", action="store_true", help="use the X server in DISPLAY instead of offscreen")
    args = parser.parse_args()
    platform = "xcb" if args.xcb else "offscreen"
    runs = [run_once(args.root.resolve(), platform) for _ in range(args.runs)]
    if args.json:
        for run in runs:
            print(json.dumps(run))
        return 0
    for key in ("first_paint_s", "main_window_paint_s"):
        values = [r[key] for r in runs if key in r]
        if values:
            print(f"{key}: median {statistics.median(values):.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"first window: {runs[0].get('first_window')}; torch loaded at first paint: "
          f"{runs[0].get('torch_loaded_at_first_paint')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
