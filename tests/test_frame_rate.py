"""The video frame rate is defined once (dawn_studio/frame_rate.py); every layer imports it."""

import re
from pathlib import Path

import dawn_studio
from dawn_studio.frame_rate import FPS, FRAME_MS

DEFINITION = re.compile(r"^\s*[A-Z_]*FPS[A-Z_]*\s*(:\s*int\s*)?=\s*\d", re.MULTILINE)


def test_frame_rate_is_defined_in_one_place():
    package = Path(dawn_studio.__file__).parent
    defining = sorted(str(p.relative_to(package)) for p in package.rglob("*.py") if DEFINITION.search(p.read_text()))
    assert defining == ["frame_rate.py"]
    assert FPS == 25 and FRAME_MS == 40
