"""Import from a copied folder tree or a zip: recognised by name and layout, checked, copied or linked,
with a report of what was found and what is still missing."""

import hashlib
import os
import zipfile

import pytest

from dawn_studio.modelstore import FileState, ModelImportError, import_models, load_catalog
from dawn_studio.modelstore.importer import recognise
from dawn_studio.progress import Cancelled, CancelToken


def copied_tree(root, files):
    """Files laid out like someone's copy: nested folders, unrelated files, an ambiguous bare opt.yaml."""
    tree = root / "backup" / "pretrain_models"
    (tree / "nets_v2" / "pose").mkdir(parents=True)
    (tree / "3ddfa").mkdir()
    (tree / "big_model.pth").write_bytes(files["big_model.pth"])
    (tree / "nets_v2" / "pose" / "opt.yaml").write_bytes(files["settings/opt.yaml"])
    (tree / "3ddfa" / "FaceDetector.pth").write_bytes(files["FaceDetector.pth"])
    (tree / "stats.pkl").write_bytes(files["stats.pkl"])
    (tree / "opt.yaml").write_text("ambiguous: true\n")
    (tree / "notes.txt").write_text("copied from the lab machine")
    return root / "backup"


def test_import_recognises_a_copied_tree(tmp_path, store, files):
    source = copied_tree(tmp_path, files)
    events = []
    report = import_models(store, source, progress=events.append)
    assert sorted(report.installed) == ["big", "detector", "settings", "stats"]
    assert report.missing == () and report.rejected == ()
    assert report.unrecognised == 2  # notes.txt and the bare opt.yaml
    assert store.path_of("settings").read_bytes() == files["settings/opt.yaml"]
    assert all(s.state is FileState.VERIFIED for s in store.status().files)
    assert {e.phase for e in events} >= {"copying", "verifying", "installed"}
    assert "Every model file is installed" in report.summary(store.catalog)
    assert not list(store.root.rglob("*.part"))


def test_import_from_a_zip(tmp_path, store, files):
    archive = tmp_path / "models.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pretrain_models/big_model.pth", files["big_model.pth"])
        zf.writestr("pretrain_models/3ddfa/FaceDetector.pth", files["FaceDetector.pth"])
        zf.writestr("readme.md", "hello")
    report = import_models(store, archive)
    assert sorted(report.installed) == ["big", "detector"]
    assert sorted(report.missing) == ["settings", "stats"]
    assert store.path_of("big").read_bytes() == files["big_model.pth"]
    assert "Still missing: nets/pose/opt.yaml, 3ddfa/stats.pkl" in report.summary(store.catalog)


def test_damaged_file_in_an_import_is_refused_and_reported(tmp_path, store, files):
    source = copied_tree(tmp_path, files)
    damaged = bytearray(files["FaceDetector.pth"])
    damaged[len(damaged) // 2] ^= 0xFF  # inside the tensor data: the structure still loads
    (source / "pretrain_models" / "3ddfa" / "FaceDetector.pth").write_bytes(bytes(damaged))
    report = import_models(store, source)
    where = "pretrain_models/3ddfa/FaceDetector.pth"
    assert report.rejected == ((where, "SHA-256 differs from the catalog"),)
    assert report.missing == ("detector",)
    assert not store.path_of("detector").exists() and not list(store.root.rglob("*.part"))


def test_import_can_link_instead_of_copying(tmp_path, store, files):
    source = copied_tree(tmp_path, files)
    import_models(store, source, link=True)
    original = source / "pretrain_models" / "big_model.pth"
    assert store.path_of("big").resolve() == original.resolve() or (
        os.stat(store.path_of("big")).st_ino == original.stat().st_ino
    )


def test_file_without_any_checksum_gets_one_recorded_at_import(tmp_path, store, files):
    source = copied_tree(tmp_path, files)
    import_models(store, source)
    recorded = store.ledger.recorded("big_model.pth")
    assert recorded.sha256 == hashlib.sha256(files["big_model.pth"]).hexdigest()
    assert "first import" in recorded.how


def test_cancelled_import_leaves_no_partial_file(tmp_path, store, files):
    source = copied_tree(tmp_path, files)
    cancel = CancelToken()

    def on_progress(event):
        if event.phase == "copying":
            cancel.cancel()

    with pytest.raises(Cancelled):
        import_models(store, source, progress=on_progress, cancel=cancel)
    assert not list(store.root.rglob("*.part"))


def test_import_of_something_that_is_not_a_folder_or_zip(tmp_path, store):
    text = tmp_path / "models.txt"
    text.write_text("nope")
    with pytest.raises(ModelImportError, match="neither a folder nor a zip"):
        import_models(store, text)
    with pytest.raises(ModelImportError, match="does not exist"):
        import_models(store, tmp_path / "nowhere")


def test_real_catalog_recognises_the_reference_layout_and_a_hub_cache():
    catalog = load_catalog()
    cases = {
        "DAWN-pytorch/pretrain_models/DAWN_256.pth": "dawn_256",
        "pretrain_models/pbnet_seperate/pose/opt.yaml": "pbnet_pose_config",
        "pretrain_models/pbnet-seperate/blink/opt.yaml": "pbnet_blink_config",
        "pretrain_models/pbnet_seperate/blink/checkpoint_95000.pth.tar": "pbnet_blink_weights",
        "pretrain_models/hubert-large-ls960-ft/config.json": "hubert_config",
        "hub/models--facebook--hubert-large-ls960-ft/snapshots/abc123/pytorch_model.bin": "hubert_weights",
        "DAWN-pytorch/extract_init_states/FaceBoxes/weights/FaceBoxesProd.pth": "faceboxes",
        "extract_init_states/configs/bfm_noneck_v3.pkl": "bfm_noneck_v3",
        "extract_init_states/weights/mb1_120x120.pth": "tddfa_mb1",
    }
    for path, file_id in cases.items():
        assert recognise(catalog, path).id == file_id, path
    for unrelated in ("opt.yaml", "some/other/config.json", "weights/mb05_120x120.pth"):
        assert recognise(catalog, unrelated) is None, unrelated
