#!/usr/bin/env python3
"""Screenshots of the real app on a real X server (Xvfb), for docs/screenshots/ and reviewers.

Usage: .venv/bin/python scripts/take_screenshots.py [--out docs/screenshots] [--size 1366x768] [--theme dark]
       [STATE ...]
States: main (empty window), loaded, generating (the progress over the preview), preview, takes (two takes
compared side by side), motion (the Motion tab after a generation), enhance (face enhancement switched on in
Controls), export, export-done (the notice after a background export), models, first-start (no models
installed: the banner), splash (the start-up window).
For 125 % scaling run it with QT_SCALE_FACTOR=1.25 (sizes are then in logical pixels: 1536x864 fills
a 1920x1080 screen).
All but 'main' need a portrait, a speech file and models: by default the sample files in
../shared/samples and a tiny random-weight model set built from ../shared/models/3ddfa
(so the generated face is meaningless; the screenshots show the app, not model quality).
Without a DISPLAY the script re-runs itself under ``xvfb-run`` (Debian package ``xvfb``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
STATES = ("main", "loaded", "generating", "preview", "takes", "motion", "export", "export-done", "enhance",
          "models", "first-start", "splash")
FILE_NAMES = {"main": "main-window.png", "loaded": "loaded.png", "generating": "generating.png",
              "preview": "preview.png", "takes": "takes.png", "motion": "motion.png", "enhance": "enhance.png",
              "export": "export-dialog.png", "export-done": "export-done.png", "models": "model-manager.png",
              "first-start": "first-start.png", "splash": "splash.png"}
NEED_NO_MODELS = {"main", "export", "models", "first-start", "splash"}


def _reexec_under_xvfb() -> int:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        print("No DISPLAY and no xvfb-run: install it with  sudo apt-get install xvfb xauth", file=sys.stderr)
        return 3
    command = [xvfb_run, "-a", "-s", "-screen 0 1920x1080x24", sys.executable, *sys.argv]
    return subprocess.call(command)


def shrink_png(path: Path) -> None:
    """Re-save ``path`` with a 256-colour palette (no dithering): the window's flat colours stay exact, the
    photo and the clip band slightly, and the file is about a third of the size (docs/screenshots holds ~60
    of them)."""
    from PIL import Image

    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                 dither=Image.Dither.NONE)
    palette.save(path, "PNG", optimize=True)


class Shooter:
    """Drives the real window through the states and grabs the X server's pixels."""

    def __init__(self, out: Path, scratch: Path, models: Path | None, portrait: Path, audio: Path,
                 theme: str = "dark", size: tuple[int, int] = (1366, 768), full_colour: bool = False) -> None:
        from PySide6.QtCore import QSettings

        from dawn_studio.modelstore import ModelStore
        from dawn_studio.ui.app import create_application, create_main_window
        from dawn_studio.ui.settings import AppSettings
        from dawn_studio.ui.theme import Theme

        self.out, self.scratch, self.portrait, self.audio = out, scratch, portrait, audio
        self.size = size
        self.full_colour = full_colour
        self.app = create_application(["dawn-studio"])
        settings = AppSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
        settings.set_theme(Theme(theme))
        self.settings = settings
        self.window = create_main_window(self.app, settings)
        self.window.resize(*size)
        self.window.move(0, 0)
        self.studio = None
        if models is not None:
            from dawn_studio.ui.studio import Studio

            self.studio = Studio(self.window, ModelStore(models), autosave_path=scratch / "autosave.dawn",
                                 show_first_run=False)
        self.window.show()
        self.settle(800)

    def settle(self, ms: int = 300) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        self.app.processEvents()

    def wait_until(self, condition, timeout_ms: int = 120_000) -> None:
        waited = 0
        while not condition():
            if waited > timeout_ms:
                raise TimeoutError("the app did not reach the expected state in time")
            self.settle(50)
            waited += 50

    def shoot(self, state: str) -> None:
        getattr(self, f"state_{state.replace('-', '_')}")()

    def grab(self, widget, name: str, whole_screen_area: bool = False) -> None:
        """The window's pixels; with ``whole_screen_area`` the screen where the window is, so windows of
        their own on top of it (a notice) are in the picture too."""
        if whole_screen_area:
            frame = widget.frameGeometry()
            pixmap = widget.screen().grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
        else:
            pixmap = widget.screen().grabWindow(widget.winId())
        if pixmap.isNull():
            raise RuntimeError("the X server returned an empty screenshot")
        path = self.out / FILE_NAMES[name]
        pixmap.save(str(path), "PNG")
        if not self.full_colour:
            shrink_png(path)
        print(f"saved {path}")

    def need_studio(self):
        if self.studio is None:
            raise SystemExit("this state needs models: pass --models or make ../shared available")
        return self.studio

    def load_inputs(self) -> None:
        studio = self.need_studio()
        if studio.portrait_panel.analysis is None:
            self.window.request_file(str(self.portrait), "image")
            self.window.request_file(str(self.audio), "audio")
            self.wait_until(lambda: studio.portrait_panel.analysis is not None and studio.audio_path is not None)
            self.settle(500)

    def state_main(self) -> None:
        self.grab(self.window, "main")

    def state_loaded(self) -> None:
        self.load_inputs()
        self.grab(self.window, "loaded")

    def state_generating(self) -> None:
        studio = self.need_studio()
        self.load_inputs()
        job = studio.current_job()
        studio.controls.load_from(job.with_changes(steps=20))
        studio.generate()
        self.wait_until(lambda: "Generating motion" in studio.stage_label.text())
        self.settle(200)
        self.grab(self.window, "generating")
        self.wait_until(lambda: not studio.runner.busy)

    def state_preview(self) -> None:
        studio = self.need_studio()
        if studio.result is None:
            self.load_inputs()
            studio.generate()
            self.wait_until(lambda: studio.result is not None and not studio.runner.busy)
        studio.preview.side_by_side_box.setChecked(True)
        self.settle(1500)
        self.grab(self.window, "preview")

    def generate_take(self, new_seed: bool = False) -> None:
        studio = self.need_studio()
        self.load_inputs()
        if new_seed:  # a second take that differs from the first: another seed
            if studio.controls.lock_seed_check.isChecked():
                studio.controls.lock_seed_check.click()
            studio.controls.new_seed_button.click()
        studio.generate()
        self.wait_until(lambda: not studio.runner.busy)
        self.wait_until(lambda: studio.result is not None)

    def state_takes(self) -> None:
        studio = self.need_studio()
        ids = studio.takes_strip.take_ids()
        if len(ids) < 1:
            self.generate_take()
        if len(studio.takes_strip.take_ids()) < 2:
            self.generate_take(new_seed=True)
        ids = studio.takes_strip.take_ids()
        studio.takes_strip.select([ids[-1], ids[-2]])  # the newest (with its sound) on the right
        studio.overlay.hide()
        self.settle(1500)
        self.grab(self.window, "takes")

    def state_enhance(self) -> None:
        studio = self.need_studio()
        self.load_inputs()
        switch = studio.controls.enhance_controls.switch
        if switch.isEnabled() and not switch.isChecked():
            switch.click()
        scroll = self.window.panels["controls"].widget()
        scroll.ensureWidgetVisible(studio.controls.enhance_controls)
        self.settle(500)
        self.grab(self.window, "enhance")

    def state_export_done(self) -> None:
        from dawn_studio.stages.export import ExportSettings
        from dawn_studio.ui.export_dialog import ExportRequest

        studio = self.need_studio()
        if studio.result is None:
            self.generate_take()
        studio.overlay.hide()
        target = self.scratch / "exports" / "talk.mp4"
        target.parent.mkdir(exist_ok=True)
        studio.start_export(ExportRequest(target, ExportSettings(), full_frame=True))
        notice = studio.exports.notice
        self.wait_until(lambda: notice.isVisible())
        self.settle(800)
        self.grab(self.window, "export-done", whole_screen_area=True)
        notice.close()

    def state_motion(self) -> None:
        studio = self.need_studio()
        if studio.result is None:
            self.state_preview()
        studio.window.panels["motion"].raise_()
        self.settle(800)
        self.grab(self.window, "motion")
        studio.window.panels["audio"].raise_()

    def state_first_start(self) -> None:
        from dawn_studio.modelstore import ModelStore
        from dawn_studio.ui.app import create_main_window
        from dawn_studio.ui.studio import Studio

        folder = self.scratch / "empty-store"
        folder.mkdir(exist_ok=True)
        window = create_main_window(self.app, self.settings)
        window.resize(*self.size)
        window.move(0, 0)
        studio = Studio(window, ModelStore(folder), autosave_path=self.scratch / "first-start.dawn",
                        show_first_run=False)
        window.show()
        self.settle(800)
        try:
            self.grab(window, "first-start")
        finally:
            studio.shutdown()
            window.close()
            window.deleteLater()

    def state_splash(self) -> None:
        from dawn_studio.ui.splash import HEAVY_MODULES, STEP_TEXTS, StartupSplash

        splash = StartupSplash()
        splash.show_centred()
        splash.bar.setRange(0, len(HEAVY_MODULES) + 1)
        splash.bar.setValue(1)
        splash.say(STEP_TEXTS[HEAVY_MODULES[1]])
        self.settle(500)
        self.grab(splash, "splash")
        splash.close()

    def state_export(self) -> None:
        from dawn_studio.ui.export_dialog import ExportDialog

        dialog = ExportDialog(Path.home() / "talk.mp4", parent=self.window)
        dialog.show()
        self.settle(500)
        self.grab(dialog, "export")
        dialog.close()

    def state_models(self) -> None:
        from dawn_studio.modelstore import ModelStore
        from dawn_studio.ui.model_manager import ModelManagerDialog

        folder = self.scratch / "empty-store"
        folder.mkdir(exist_ok=True)
        empty = ModelStore(folder)
        dialog = ModelManagerDialog(lambda: empty, self.window)
        dialog.resize(900, 640)
        dialog.show()
        self.settle(800)
        self.grab(dialog, "models")
        dialog.close()

    def close(self) -> None:
        if self.studio is not None:
            self.studio.shutdown()
        self.window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--models", type=Path, help="model folder (default: a tiny set from ../shared)")
    parser.add_argument("--portrait", type=Path, default=SHARED / "samples" / "real_female_1.jpeg")
    parser.add_argument("--audio", type=Path, default=SHARED / "samples" / "WRA_MarcoRubio_000.wav")
    parser.add_argument("--theme", choices=("dark", "light"), default="dark")
    parser.add_argument("--size", default="1366x768", help="window size WIDTHxHEIGHT, e.g. 1024x640")
    parser.add_argument("--full-colour", action="store_true",
                        help="keep every colour (files about three times larger than the 256-colour default)")
    parser.add_argument("states", nargs="*", default=list(STATES), help=f"which: {', '.join(STATES)}")
    args = parser.parse_args()
    unknown = [s for s in args.states if s not in STATES]
    if unknown:
        parser.error(f"unknown state(s): {', '.join(unknown)}")
    if not os.environ.get("DISPLAY"):
        return _reexec_under_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    # Screenshots must not depend on (or change) the person's own settings; nothing is left behind.
    scratch = Path(tempfile.mkdtemp(prefix="dawn-shots-"))
    try:
        return _shoot(args, parser, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _shoot(args: argparse.Namespace, parser: argparse.ArgumentParser, scratch: Path) -> int:
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(scratch / var.lower())
    models = args.models
    if models is None and set(args.states) - NEED_NO_MODELS:
        from dawn_studio.engine.tiny_models import write_tiny_model_set

        face_models = SHARED / "models" / "3ddfa"
        if not face_models.is_dir():
            parser.error("give --models DIR (no ../shared/models/3ddfa for a tiny set)")
        models = write_tiny_model_set(scratch / "tiny-models", face_models)
    if args.audio == SHARED / "samples" / "WRA_MarcoRubio_000.wav" and args.audio.is_file():
        import soundfile

        samples, rate = soundfile.read(args.audio, dtype="float32")
        args.audio = scratch / "speech_4s.wav"
        soundfile.write(args.audio, samples[: 4 * rate], rate)
    args.out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.lower().split("x"))
    shooter = Shooter(args.out, scratch, models, args.portrait, args.audio, args.theme, (width, height),
                      args.full_colour)
    try:
        for state in args.states:
            shooter.shoot(state)
            shooter.settle()
    finally:
        shooter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
