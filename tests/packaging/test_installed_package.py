"""The package as a user installs it: build the sdist and a wheel from it, install the wheel into a fresh
venv, and run ``dawn-studio`` from a folder outside the checkout (no source tree on the path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import av
import pytest
from support.paths import PROJECT_ROOT, sample_portrait

DATA_FILES = ("dawn_studio/data/catalog.json", "dawn_studio/data/icons/dawn-studio.svg",
              "dawn_studio/data/styles/common.qss", "dawn_studio/data/dawn-studio.desktop")


def run(*args, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                            env=env)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(venv, its dawn-studio) with the wheel installed; the heavy dependencies come from this venv."""
    pytest.importorskip("build", reason="the test extra provides 'build'")
    dist = tmp_path_factory.mktemp("dist")
    # sdist first, then the wheel built from the sdist: a file missing from the sdist fails here too
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, PROJECT_ROOT, cwd=PROJECT_ROOT)
    (wheel,) = dist.glob("dawn_studio-*.whl")
    (sdist,) = dist.glob("dawn_studio-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        assert set(DATA_FILES) <= set(archive.namelist())
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert set(DATA_FILES) <= names

    venv = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=dist)
    python = venv / "bin" / "python"
    # this venv's pip installs into the new one (--python); nothing else of this venv is visible to it yet
    run(sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "install", "-q",
        "--no-deps", "--no-index", wheel, cwd=dist)
    # then torch, Qt & co. from this venv, after the new venv's own site-packages (.pth lines are plain
    # path entries: the editable install's finder in this venv is not activated)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=dist)
                .stdout.strip())
    ours = [p for p in sys.path if p.endswith("-packages") and Path(p).is_dir()]
    (site / "reused-dependencies.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    return venv, venv / "bin" / "dawn-studio"


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DAWN_STUDIO_CATALOG")}
    env["DAWN_STUDIO_MODELS"] = str(tmp_path / "store")
    return env


def test_installed_copy_is_the_one_that_runs(installed, tmp_path, user_env):
    venv, _ = installed
    code = "import dawn_studio.data as d; print(d.catalog_path())"
    where = Path(run(venv / "bin" / "python", "-c", code, cwd=tmp_path, env=user_env).stdout.strip())
    assert where.is_file() and venv in where.parents and PROJECT_ROOT not in where.parents
    assert PROJECT_ROOT not in tmp_path.parents


def test_version_and_model_list_from_any_folder(installed, tmp_path, user_env):
    from dawn_studio import __version__
    from dawn_studio.modelstore import load_catalog

    _, exe = installed
    assert run(exe, "--version", cwd=tmp_path, env=user_env).stdout.strip() == f"dawn-studio {__version__}"
    listing = run(exe, "models", "list", "--json", cwd=tmp_path, env=user_env).stdout
    assert {f["path"] for f in json.loads(listing)["files"]} == {f.path for f in load_catalog().files}


def test_tiny_render_from_any_folder(installed, tmp_path, user_env, tiny_store, speech_2s):
    _, exe = installed
    out = tmp_path / "talk.mp4"
    run(exe, "render", "--portrait", sample_portrait(), "--audio", speech_2s, "-o", out, "--models", tiny_store,
        "--steps", 2, "--seed", 3, cwd=tmp_path, env=user_env)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames - 50) <= 1

