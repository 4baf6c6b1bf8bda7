"""Test-suite settings: headless Qt, an isolated home for settings/logs/caches, helpers on the path."""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Nothing a test does may touch the user's real settings, logs, caches or model store.
_ISOLATED_HOME = Path(tempfile.mkdtemp(prefix="dawn-studio-tests-"))
for _var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    os.environ[_var] = str(_ISOLATED_HOME / _var.lower())
sys.path.insert(0, str(Path(__file__).parent))
