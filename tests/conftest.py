"""Test-suite settings: headless Qt, an isolated home for settings/logs/caches, helpers on the path."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Nothing a test does may touch the user's real settings, logs, caches or model store.
_ISOLATED_HOME = Path(tempfile.mkdtemp(prefix="dawn-studio-tests-"))
atexit.register(shutil.rmtree, _ISOLATED_HOME, ignore_errors=True)  # nothing is left in the temp folder
for _var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    os.environ[_var] = str(_ISOLATED_HOME / _var.lower())
sys.path.insert(0, str(Path(__file__).parent))


import pytest  # noqa: E402  (after the environment is set)


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    """A tiny model set (real architectures, small widths, random weights) with the real 3DDFA files."""
    from support.paths import tddfa_model_dir

    from dawn_studio.engine.tiny_models import write_tiny_model_set

    return write_tiny_model_set(tmp_path_factory.mktemp("tiny-models"), tddfa_model_dir())


@pytest.fixture(scope="session")
def speech_2s(tmp_path_factory):
    """The first two seconds of the sample speech, as its own file."""
    import soundfile
    from support.paths import sample_speech

    samples, rate = soundfile.read(sample_speech(), dtype="float32")
    path = tmp_path_factory.mktemp("speech") / "speech_2s.wav"
    soundfile.write(path, samples[: 2 * rate], rate)
    return path
