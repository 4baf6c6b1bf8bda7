"""The one-folder desktop bundle (``make bundle``) as a user starts it: without this venv or any system
Python on the path, headless. Building it takes minutes, so CI does not: point ``$DAWN_TEST_BUNDLE`` at
a built bundle folder (``dist/dawn-studio``) to run these; packaging/README.md records the last run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import av
import pytest
from support.paths import sample_portrait

BUNDLE = os.environ.get("DAWN_TEST_BUNDLE")
pytestmark = pytest.mark.skipif(not BUNDLE, reason="set DAWN_TEST_BUNDLE=dist/dawn-studio after `make bundle`")


@pytest.fixture
def exe() -> Path:
    path = Path(BUNDLE or "").resolve() / "dawn-studio"
    assert path.is_file(), f"no bundle at {path}: run `make bundle`"
    return path


@pytest.fixture
def bare_env(tmp_path) -> dict[str, str]:
    """No Python of ours to lean on: PATH has only system folders, nothing points into a venv."""
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8",
           "DAWN_STUDIO_MODELS": str(tmp_path / "store"), "HF_HUB_OFFLINE": "1"}
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(home / var.lower())
    return env


def run(exe: Path, *args, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=300)
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def test_version_and_models_list(exe, bare_env, tmp_path):
    from dawn_studio import __version__

    assert run(exe, "--version", env=bare_env, cwd=tmp_path).stdout.strip() == f"dawn-studio {__version__}"
    assert "DAWN_128.pth" in run(exe, "models", "list", env=bare_env, cwd=tmp_path).stdout


def test_tiny_render(exe, bare_env, tmp_path, tiny_store, speech_2s):
    out = tmp_path / "talk.mp4"
    run(exe, "render", "--portrait", sample_portrait(), "--audio", speech_2s, "-o", out, "--models", tiny_store,
        "--steps", 2, "--seed", 3, env=bare_env, cwd=tmp_path)
    with av.open(str(out)) as container:
        assert abs(sum(1 for _ in container.decode(video=0)) - 50) <= 1


def test_window_starts_headless(exe, bare_env, tmp_path):
    log = Path(bare_env["XDG_STATE_HOME"]) / "dawn-studio" / "log" / "dawn-studio.log"
    app = subprocess.Popen([str(exe)], env=bare_env, cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and app.poll() is None:
            if log.is_file() and "started" in log.read_text(encoding="utf-8", errors="replace"):
                break
            time.sleep(0.5)
        assert app.poll() is None, f"the app exited ({app.returncode}):\n{app.communicate()[0]}"
        assert log.is_file() and "started" in log.read_text(encoding="utf-8"), "the window did not come up"
    finally:
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=30)
