"""Store status (fast, cached by size+mtime), readiness per feature, ``require``, the store location,
the catalog's own consistency, and format checks."""

import json
import os
import zipfile

import pytest

from dawn_studio.modelstore import (
    CatalogError,
    FileState,
    ModelsMissingError,
    ModelStore,
    UnknownModelError,
    import_models,
    load_catalog,
    locate_store,
    use_folder,
)
from dawn_studio.modelstore import location as location_module
from dawn_studio.modelstore import store as store_module
from dawn_studio.modelstore.catalog import parse_catalog
from dawn_studio.modelstore.formats import format_problem


@pytest.fixture
def installed(tmp_path, store, files):
    source = tmp_path / "copy"
    copies = {"big_model.pth": files["big_model.pth"], "pose/opt.yaml": files["settings/opt.yaml"],
              "FaceDetector.pth": files["FaceDetector.pth"], "stats.pkl": files["stats.pkl"]}
    for name, data in copies.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    import_models(store, source)
    return store


def test_feature_summaries(store, files):
    status = store.status()
    assert status.nothing_installed
    assert status.feature("talk").summary == "Talking video missing 4 files"
    assert status.feature("record").summary == "Recording does not need models"
    detector = store.path_of("detector")
    detector.parent.mkdir(parents=True)
    detector.write_bytes(files["FaceDetector.pth"])
    (detector.parent / "stats.pkl").write_bytes(files["stats.pkl"])
    status = store.status()
    assert status.feature("face").summary == "Face analysis ready"
    assert status.feature("talk").summary == "Talking video missing 2 files"
    assert not status.nothing_installed


def test_status_never_reads_file_contents(installed, monkeypatch):
    def no_hashing(*args, **kwargs):
        raise AssertionError("status must not hash files")

    monkeypatch.setattr(store_module, "file_digests", no_hashing)
    monkeypatch.setattr(store_module, "format_problem", no_hashing)
    status = installed.status()
    assert all(s.state is FileState.VERIFIED for s in status.files)
    assert installed.verify() and all(s.state is FileState.VERIFIED for s in installed.status().files)


def test_changed_file_loses_its_verified_state_and_verify_finds_the_damage(installed):
    path = installed.path_of("detector")
    data = bytearray(path.read_bytes())
    data[50] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert installed.file_status(installed.catalog.file("detector")).state is FileState.PRESENT
    results = {s.file.id: s for s in installed.verify(["detector"])}
    assert results["detector"].state is FileState.CORRUPT
    assert "differs from the catalog" in results["detector"].detail
    with pytest.raises(ModelsMissingError):
        installed.require("face")


def test_file_with_the_wrong_size_is_corrupt_without_hashing(store):
    path = store.path_of("detector")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 too short")
    status = store.file_status(store.catalog.file("detector"))
    assert status.state is FileState.CORRUPT and "instead of" in status.detail


def test_partial_file_is_never_treated_as_installed(store, files):
    part = store.part_path(store.catalog.file("stats"))
    part.parent.mkdir(parents=True)
    part.write_bytes(files["stats.pkl"])
    assert store.file_status(store.catalog.file("stats")).state is FileState.PARTIAL
    with pytest.raises(ModelsMissingError) as caught:
        store.require("face")
    assert caught.value.missing == ("detector", "stats")


def test_require_returns_paths_or_says_what_is_missing_and_how_to_get_it(installed, store):
    paths = installed.require("talk")
    assert paths["big"] == installed.path_of("big") and paths["big"].is_file()
    assert set(paths) == {"big", "settings", "detector", "stats"}
    assert installed.require("record") == {}
    installed.path_of("big").unlink()
    with pytest.raises(ModelsMissingError) as caught:
        installed.require("talk")
    message = str(caught.value)
    assert "Talking video needs 1 model file" in message and "big_model.pth" in message
    assert "dawn-studio models download talk" in message and "dawn-studio models import" in message
    with pytest.raises(UnknownModelError, match="No feature called 'nope'"):
        installed.require("nope")


def test_store_location_precedence(tmp_path, monkeypatch, request):
    request.addfinalizer(lambda: use_folder(None))
    monkeypatch.delenv("DAWN_STUDIO_MODELS", raising=False)
    monkeypatch.setattr(location_module, "checkout_models_dir", lambda: tmp_path / "checkout" / "models")
    assert locate_store().path == tmp_path / "checkout" / "models"
    chosen = tmp_path / "chosen"
    use_folder(chosen)
    assert locate_store().path == chosen.resolve() and "use this folder" in locate_store().reason
    monkeypatch.setenv("DAWN_STUDIO_MODELS", str(tmp_path / "env"))
    assert locate_store().path == tmp_path / "env"
    monkeypatch.delenv("DAWN_STUDIO_MODELS")
    use_folder(None)
    monkeypatch.setattr(location_module, "checkout_models_dir", lambda: None)
    where = locate_store()
    assert where.path.name == "models" and "user data" in where.reason
    assert ModelStore.locate().root == where.path


def test_the_published_catalog_is_complete_and_consistent():
    catalog = load_catalog()
    paths = {f.path for f in catalog.files}
    for name in ("DAWN_128.pth", "DAWN_256.pth", "LFG_128_1000ep.pth", "LFG_256_400ep.pth",
                 "pbnet_seperate/pose/opt.yaml", "pbnet_seperate/pose/checkpoint_40000.pth.tar",
                 "pbnet_seperate/blink/opt.yaml", "pbnet_seperate/blink/checkpoint_95000.pth.tar",
                 "hubert-large-ls960-ft/pytorch_model.bin", "hubert-large-ls960-ft/config.json",
                 "3ddfa/FaceBoxesProd.pth", "3ddfa/mb1_120x120.pth", "3ddfa/bfm_noneck_v3.pkl",
                 "3ddfa/param_mean_std_62d_120x120.pkl"):
        assert name in paths
    for file in catalog.files:
        assert file.sources and file.purpose and file.checksum_note
        assert catalog.licences[file.licence].text
    dawn128 = {f.id for f in catalog.files_of_feature("dawn128")}
    assert {"dawn_128", "lfg_128", "faceboxes", "hubert_weights", "pbnet_blink_weights"} <= dawn128
    assert "dawn_256" not in dawn128
    assert catalog.files_of_feature("recording") == ()
    assert "academic" in catalog.licences[catalog.file("bfm_noneck_v3").licence].text
    assert "research" in catalog.licences[catalog.file("dawn_128").licence].text


def test_published_checksums_match_the_shared_3ddfa_copies():
    from support.paths import tddfa_model_dir

    folder = tddfa_model_dir()  # skips when the shared data is absent
    catalog = load_catalog()
    store = ModelStore(folder, catalog)
    for file_id in ("faceboxes", "tddfa_param_stats"):
        file = catalog.file(file_id)
        verification = store.check_candidate(file, folder / file.name)
        assert verification.ok, (file_id, verification.reason)


@pytest.mark.parametrize("change, message", [
    (lambda c: c["files"][0].update(path="../outside.pth"), "unsafe store path"),
    (lambda c: c["files"][0].update(path="/etc/passwd"), "unsafe store path"),
    (lambda c: c["files"][0].update(path="C:/models/x.pth"), "unsafe store path"),
    (lambda c: c["files"][0].update(path="a/../../x.pth"), "unsafe store path"),
    (lambda c: c["files"][0]["sources"][0].update(path="../../secret"), "unsafe source path"),
    (lambda c: c["files"][0]["sources"][0].update(path="/abs/file.pth"), "unsafe source path"),
    (lambda c: c["files"][0].update(match=["../*.pth"]), "unsafe import pattern"),
    (lambda c: c["files"][0].update(match="big_model.pth"), "list of path patterns"),
    (lambda c: c["files"][0].update(licence="nope"), "unknown licence"),
    (lambda c: c["files"][0].update(sha256="xyz"), "malformed sha256"),
    (lambda c: c["features"][0]["files"].append("ghost"), "unknown files"),
    (lambda c: c["origins"]["hub"].update(kind="ftp"), "unknown kind"),
])
def test_catalog_mistakes_are_reported(tmp_path, catalog, change, message):
    raw = json.loads(catalog.source_path.read_text())
    change(raw)
    with pytest.raises(CatalogError, match=message):
        parse_catalog(raw)


def test_format_checks(tmp_path):
    html = tmp_path / "model.pth"
    html.write_bytes(b"<!DOCTYPE html><html><body>404</body></html>")
    assert "HTML page" in format_problem(html)
    truncated = tmp_path / "weights.pth"
    with zipfile.ZipFile(truncated, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    truncated.write_bytes(truncated.read_bytes()[:-30])
    assert "damaged" in format_problem(truncated)
    settings = tmp_path / "opt.yaml"
    settings.write_text("- just\n- a list\n")
    assert "YAML" in format_problem(settings)
    settings.write_text("layers: 4\n")
    assert format_problem(settings) is None
    settings.write_text("device: !!python/object/apply:torch.device [cuda, 0]\n"
                        "sizes: !!python/tuple [1, 2]\n")
    assert format_problem(settings) is None  # tags of PyYAML's full dumper are read as plain data
    legacy = tmp_path / "legacy.pth.tar"
    legacy.write_bytes(b"\x80\x02\x8a\x0alegacy torch file")
    assert format_problem(legacy) is None


def test_status_sees_results_another_process_recorded(installed):
    other = ModelStore(installed.root, installed.catalog)  # e.g. the command line while the app is open
    path = installed.path_of("stats")
    path.write_bytes(path.read_bytes())  # rewritten: unchecked for both
    assert other.status().file("stats").state is FileState.PRESENT
    installed.verify(["stats"])
    assert other.status().file("stats").state is FileState.VERIFIED
