"""The data files travel inside the package and are found through it, whatever the working folder."""

from pathlib import Path

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
    assert qapp.styleSheet() == data_path("styles", "common.qss").read_text(encoding="utf-8")
    assert not app_icon().isNull()
