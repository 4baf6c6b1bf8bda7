"""The screenshot script works on a real X server (Xvfb) and captures real pixels."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run not installed (apt-get install xvfb)")
def test_screenshot_of_main_window_under_xvfb(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    temp = tmp_path / "temp"
    temp.mkdir()
    env["TMPDIR"] = str(temp)
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "take_screenshots.py"), "--out", str(tmp_path),
         "main", "models", "first-start", "splash"],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(tmp_path / "main-window.png"))
    assert not image.isNull()
    assert (image.width(), image.height()) == (1366, 768)
    colours = {image.pixel(x, y) for x in range(0, 1366, 37) for y in range(0, 768, 29)}
    assert len(colours) > 5, "the screenshot is blank"
    assert not QImage(str(tmp_path / "model-manager.png")).isNull()
    first = QImage(str(tmp_path / "first-start.png"))  # no models: the window with its banner, same size
    assert (first.width(), first.height()) == (1366, 768)
    assert not QImage(str(tmp_path / "splash.png")).isNull()
    assert [p.name for p in temp.iterdir() if p.name.startswith("dawn-")] == [], "the script left files behind"


def test_the_readme_shows_screenshots_that_exist_for_every_state():
    """The README links each screenshot; a renamed or dropped state must not leave a broken image."""
    import re

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from take_screenshots import FILE_NAMES, STATES
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\((docs/screenshots[^)\s]*)\)", readme))
    assert linked, "the README shows no screenshots"
    missing = sorted(p for p in linked if not (ROOT / p).exists())
    assert missing == [], f"the README links screenshots that do not exist: {missing}"
    for state in STATES:
        name = f"docs/screenshots/{FILE_NAMES[state]}"
        assert (ROOT / name).is_file(), f"no screenshot of the '{state}' state at 1366x768"
        assert name in linked, f"the README does not link the '{state}' screenshot"
    for folder in ("light", "1024x640", "1024x640-light"):
        assert (ROOT / "docs" / "screenshots" / folder / "takes.png").is_file()
    total = sum(p.stat().st_size for p in (ROOT / "docs" / "screenshots").rglob("*.png"))
    assert total < 12 * 1024 * 1024, f"docs/screenshots holds {total / 2**20:.1f} MB"
