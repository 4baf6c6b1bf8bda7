"""``dawn-studio models``: list on a fresh machine, download with progress, import, verify, use-folder."""

import io
import json
import subprocess
import sys

import pytest

from dawn_studio.cli import main


@pytest.fixture
def cli_env(monkeypatch, tmp_path, catalog):
    monkeypatch.setenv("DAWN_STUDIO_CATALOG", str(catalog.source_path))
    monkeypatch.setenv("DAWN_STUDIO_MODELS", str(tmp_path / "store"))
    return tmp_path / "store"


def test_list_on_a_fresh_machine_explains_what_is_missing_and_how_to_get_it(tmp_path):
    env = {"DAWN_STUDIO_MODELS": str(tmp_path / "fresh"), "PATH": "/usr/bin:/bin",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "dawn_studio", "models", "list"], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Model folder: {tmp_path / 'fresh'} (set by $DAWN_STUDIO_MODELS)" in out
    assert "DAWN 128 missing 13 files" in out and "Recording does not need models" in out
    assert "missing" in out and "DAWN_256.pth" in out and "3ddfa/bfm_noneck_v3.pkl" in out
    assert "dawn-studio models download dawn128" in out and "dawn-studio models import PATH" in out
    assert "Hanbo-Cheng/DAWN" in out and "raw.githubusercontent.com/cleardusk/3DDFA_V2" in out
    assert "academic use only" in out and "research use only" in out


def test_download_shows_terms_and_progress_then_list_reports_ready(cli_env, online, capsys):
    assert main(["models", "download", "--yes", "face"]) == 0
    captured = capsys.readouterr()
    assert "For research purposes only." not in captured.out and "MIT License." in captured.out
    assert "downloading 3ddfa/FaceDetector.pth" in captured.err and "Installed 2 file(s)." in captured.out
    assert "Face analysis ready" in captured.out
    assert main(["models", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    states = {f["id"]: f["state"] for f in listing["files"]}
    assert states == {"big": "missing", "settings": "missing", "detector": "verified", "stats": "verified"}


def test_download_without_a_terminal_needs_yes(cli_env, online, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["models", "download", "stats"]) == 1
    captured = capsys.readouterr()
    assert "Pass --yes" in captured.err and not (cli_env / "3ddfa" / "stats.pkl").exists()


def test_offline_download_is_a_message_not_a_traceback(cli_env, online, capsys):
    assert main(["models", "download", "--yes", "--mirror", "web=http://127.0.0.1:9/web/", "stats"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Cannot download") and "offline" in err and "Traceback" not in err


def test_import_then_verify(cli_env, tmp_path, files, capsys):
    source = tmp_path / "copy" / "pretrain_models"
    (source / "x" / "pose").mkdir(parents=True)
    (source / "big_model.pth").write_bytes(files["big_model.pth"])
    (source / "x" / "pose" / "opt.yaml").write_bytes(files["settings/opt.yaml"])
    assert main(["models", "import", str(tmp_path / "copy")]) == 0
    out = capsys.readouterr().out
    assert "Imported 2 file(s)" in out and "Still missing: 3ddfa/FaceDetector.pth, 3ddfa/stats.pkl" in out
    assert main(["models", "verify", "--force"]) == 0
    out = capsys.readouterr().out
    assert "verified  big_model.pth" in out and "2 file(s) are not installed" in out
    (cli_env / "big_model.pth").write_bytes(b"PK\x03\x04 damaged")
    assert main(["models", "verify"]) == 1
    assert "CORRUPT   big_model.pth" in capsys.readouterr().out


def test_unknown_name_is_a_clear_error(cli_env, capsys):
    assert main(["models", "download", "--yes", "dawn512"]) == 1
    assert "'dawn512' is neither a model file nor a feature" in capsys.readouterr().err


def test_use_folder_is_remembered(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAWN_STUDIO_MODELS", raising=False)
    target = tmp_path / "my-models"
    assert main(["models", "use-folder", str(target)]) == 0
    assert "now keep their models in" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["store"] == str(target.resolve())
    assert main(["models", "use-folder", "--reset"]) == 0
