"""The data files travel inside the package and are found through it, whatever the working folder."""

import subprocess
from pathlib import Path

from support.paths import PROJECT_ROOT

import dawn_studio
from dawn_studio.data import catalog_path, data_path
from dawn_studio.modelstore import load_catalog


def test_catalog_icon_and_styles_live_in_the_package(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAWN_STUDIO_CATALOG", raising=False)
    package = Path(dawn_studio.__file__).parent
    assert catalog_path() == package / "data" / "catalog.json"
    assert load_catalog().source_path == catalog_path()
    for parts in (("icons", "dawn-studio.svg"), ("styles", "common.qss"), ("dawn-studio.desktop",)):
        assert data_path(*parts).is_file()
    desktop = data_path("dawn-studio.desktop").read_text(encoding="utf-8")
    assert "Exec=dawn-studio" in desktop and "Icon=dawn-studio" in desktop


def test_the_app_uses_the_packaged_style_sheet_and_icon(qapp, monkeypatch, tmp_path):
    from dawn_studio.ui.resources import app_icon
    from dawn_studio.ui.theme import Theme, apply_theme

    monkeypatch.chdir(tmp_path)
    apply_theme(qapp, Theme.DARK)
    assert qapp.styleSheet().startswith(data_path("styles", "common.qss").read_text(encoding="utf-8"))
    assert not app_icon().isNull()


def test_desktop_entry_installs_into_the_users_menu(tmp_path):
    exe = tmp_path / "my apps" / "dawn-studio"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "share")}
    result = subprocess.run(["bash", str(PROJECT_ROOT / "packaging" / "install-desktop-entry.sh"), str(exe)],
                            capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    entry = (tmp_path / "share" / "applications" / "dawn-studio.desktop").read_text(encoding="utf-8")
    assert f'Exec="{exe}"' in entry.splitlines() and "Icon=dawn-studio" in entry
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "dawn-studio.svg"
    assert icon.read_bytes() == data_path("icons", "dawn-studio.svg").read_bytes()
