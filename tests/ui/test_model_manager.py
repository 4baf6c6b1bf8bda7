"""The model manager dialog: status, terms before download, downloads off the UI thread with progress,
cancel, offline errors, import, verify, choosing the folder, first-run offer."""

import socket

import huggingface_hub.constants
import pytest
from modelstore.fake_sources import ModelServer, payloads, write_catalog
from PySide6.QtWidgets import QFileDialog

from dawn_studio.modelstore import FileState, ModelStore, load_catalog, use_folder
from dawn_studio.modelstore.store import human_size
from dawn_studio.ui.model_manager import ModelManagerDialog, first_run_dialog


@pytest.fixture
def files():
    return payloads()


@pytest.fixture
def server(files, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    server = ModelServer(files)
    yield server
    server.close()


@pytest.fixture
def store(tmp_path, server, files):
    return ModelStore(tmp_path / "store", load_catalog(write_catalog(tmp_path, server.url, files)))


@pytest.fixture
def dialog(qtbot, store):
    dialog = ModelManagerDialog(lambda: store)
    qtbot.addWidget(dialog)
    yield dialog
    dialog.runner.cancel()
    dialog.runner.wait()


def test_shows_what_is_missing_and_needs_the_terms_accepted(dialog):
    assert "Talking video missing 4 files" in dialog.features_label.text()
    assert "Recording does not need models" in dialog.features_label.text()
    assert dialog.table.rowCount() == 4 and dialog.table.item(0, 3).text() == "Missing"
    assert "For research purposes only." in dialog.terms_text.toPlainText()
    assert not dialog.download_button.isEnabled()
    dialog.accept_terms.setChecked(True)
    assert dialog.download_button.isEnabled()


def test_download_runs_in_the_background_with_progress(qtbot, dialog, store):
    seen = []
    dialog.runner.progressed.connect(seen.append)
    dialog.accept_terms.setChecked(True)
    with qtbot.waitSignal(dialog.modelsChanged, timeout=20_000):
        dialog.download_button.click()
        assert dialog.busy and dialog.cancel_button.isEnabled() and not dialog.close_button.isEnabled()
    assert seen and dialog.total_progress.value() == dialog.total_progress.maximum()
    assert all(s.state is FileState.VERIFIED for s in store.status().files)
    assert "Talking video ready" in dialog.features_label.text()
    assert dialog.table.item(0, 3).text() == "Verified" and not dialog.download_button.isEnabled()


def test_download_scope_and_terms_follow_what_is_missing(qtbot, dialog, store):
    dialog.scope_combo.setCurrentIndex(dialog.scope_combo.findData("talk"))
    assert dialog.download_scope() == ["talk"]
    assert "MIT License." in dialog.terms_text.toPlainText()
    dialog.accept_terms.setChecked(True)
    with qtbot.waitSignal(dialog.modelsChanged, timeout=20_000):
        dialog.start_download(["face"])
    assert "Face analysis ready" in dialog.features_label.text() and not store.path_of("big").exists()
    terms = dialog.terms_text.toPlainText()
    assert "For research purposes only." in terms and "MIT License." not in terms
    with qtbot.waitSignal(dialog.modelsChanged, timeout=20_000):
        dialog.download_button.click()
    assert "Talking video ready" in dialog.features_label.text()
    assert dialog.terms_text.toPlainText() == "Nothing to download."


def test_cancel_stops_the_download_and_keeps_nothing(qtbot, dialog, store, server, files):
    server.delay = 0.05
    dialog.accept_terms.setChecked(True)
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=20_000):
        dialog.start_download(["big"])
        qtbot.waitUntil(lambda: dialog.file_progress.value() > 0, timeout=10_000)
        dialog.cancel_button.click()
    assert "Cancelled" in dialog.status_label.text()
    assert not list(store.root.rglob("*.part")) and not store.path_of("big").exists()
    assert not dialog.busy and dialog.download_button.isEnabled()
    assert dialog.file_caption.text() == "", "no stale '[1/1] downloading…' line once the work has stopped"
    big_row = [dialog.table.item(r, 2).text() for r in range(4)
               if dialog.table.item(r, 0).text() == "big_model.pth"]
    assert big_row == [human_size(len(files["big_model.pth"]))], "the size the server stated stays shown"


def test_offline_is_reported_in_the_dialog_quickly(qtbot, tmp_path, files, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    store = ModelStore(tmp_path / "store", load_catalog(write_catalog(tmp_path, dead, files)))
    dialog = ModelManagerDialog(lambda: store)
    qtbot.addWidget(dialog)
    dialog.accept_terms.setChecked(True)
    with qtbot.waitSignal(dialog.runner.failed, timeout=5_000):
        dialog.download_button.click()
    assert "offline" in dialog.last_error and "Import Folder…" in dialog.last_error
    assert "dawn-studio models import" not in dialog.status_label.text(), "no terminal command in the app"
    assert '<a href="import-folder">Import Folder…</a>' in dialog.status_label.text()
    assert dialog.file_caption.text() == "", "the '[1/4] resolving…' line is cleared"
    assert not dialog.busy and dialog.import_folder_button.isEnabled()
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: asked.append(a) or "")
    dialog.status_label.linkActivated.emit("import-folder")
    assert asked, "the link opens the Import Folder… picker"


def test_import_and_verify(qtbot, dialog, store, files, tmp_path):
    source = tmp_path / "copy" / "pretrain_models"
    source.mkdir(parents=True)
    (source / "stats.pkl").write_bytes(files["stats.pkl"])
    (source / "FaceDetector.pth").write_bytes(files["FaceDetector.pth"])
    with qtbot.waitSignal(dialog.modelsChanged, timeout=10_000):
        dialog.start_import(tmp_path / "copy")
    assert "Imported 2 file(s)" in dialog.status_label.text()
    assert "Face analysis ready" in dialog.features_label.text()
    store.path_of("stats").write_bytes(b"\x80\x02 changed")
    with qtbot.waitSignal(dialog.modelsChanged, timeout=10_000):
        dialog.verify_button.click()
    assert "Damaged: 3ddfa/stats.pkl" in dialog.status_label.text()


def test_use_another_folder(dialog, tmp_path, monkeypatch):
    monkeypatch.delenv("DAWN_STUDIO_MODELS", raising=False)
    with_models = tmp_path / "elsewhere"
    dialog.use_folder(with_models)
    assert dialog.store.root == with_models and str(with_models) in dialog.folder_label.text()
    assert ModelStore.locate(dialog.store.catalog).root == with_models.resolve()  # remembered
    use_folder(None)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    dialog.use_folder(blocker / "sub")
    assert "Cannot write to the model folder" in dialog.status_label.text()
    assert dialog.store.root == with_models


def test_first_run_offer_only_when_nothing_is_installed(qtbot, store, files):
    dialog = first_run_dialog(lambda: store)
    qtbot.addWidget(dialog)
    assert "No model files are installed yet" in dialog.status_label.text()
    detector = store.path_of("detector")
    detector.parent.mkdir(parents=True)
    detector.write_bytes(files["FaceDetector.pth"])
    assert first_run_dialog(lambda: store) is None


def test_the_real_catalog_states_sizes_and_the_total_before_downloading(qtbot, tmp_path):
    store = ModelStore(tmp_path / "empty")  # the catalog the app ships
    dialog = ModelManagerDialog(lambda: store)
    qtbot.addWidget(dialog)
    sizes = {dialog.table.item(r, 0).text(): dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())}
    assert sizes["DAWN_128.pth"] == "about 599.0 MB" and sizes["LFG_256_400ep.pth"] == "about 792.0 MB"
    assert sizes["hubert-large-ls960-ft/pytorch_model.bin"] == "about 1.3 GB"
    assert sizes["3ddfa/FaceBoxesProd.pth"] == "4.1 MB"
    assert "?" not in sizes.values()
    unknown = [name for name, text in sizes.items() if text == "known at download"]
    assert unknown == ["pbnet_seperate/blink/opt.yaml", "pbnet_seperate/blink/checkpoint_95000.pth.tar"]
    total = dialog.total_label.text()
    assert total.startswith("To download: about 4.5 GB in 16 files") and "plus 2 files" in total  # with GFPGAN
    dialog.scope_combo.setCurrentIndex(dialog.scope_combo.findData("dawn128"))
    assert dialog.total_label.text().startswith("To download: about 2.7 GB in 13 files")


def test_the_face_enhancer_is_listed_with_its_licence(qtbot, tmp_path):
    store = ModelStore(tmp_path / "empty")  # the shipped catalog
    dialog = ModelManagerDialog(lambda: store)
    qtbot.addWidget(dialog)
    rows = {dialog.table.item(r, 0).text(): r for r in range(dialog.table.rowCount())}
    row = rows["gfpgan/GFPGANv1.4.pth"]
    assert dialog.table.item(row, 1).text() == "Face enhancement"
    assert dialog.table.item(row, 2).text() == "348.6 MB" and dialog.table.item(row, 3).text() == "Missing"
    assert "Face enhancement missing 1 file" in dialog.features_label.text()
    dialog.scope_combo.setCurrentIndex(dialog.scope_combo.findData("enhance"))
    assert dialog.download_scope() == ["enhance"]
    terms = dialog.terms_text.toPlainText()
    assert terms.startswith("GFPGAN v1.4 weights (TencentARC/GFPGAN): Apache License 2.0")
    assert "research purposes only" not in terms  # only the licence of what this scope downloads


def test_the_file_list_shows_most_files_at_laptop_height(qtbot, tmp_path):
    """Seen on the screenshot (900×640, the real catalogue, nothing installed): 30-px rows and two empty
    caption lines left room for three and a half of the 16 files."""
    empty = ModelStore(tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    dialog = ModelManagerDialog(lambda: empty)
    qtbot.addWidget(dialog)
    dialog.resize(900, 640)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    assert table.rowCount() >= 10
    assert not dialog.file_caption.isVisible() and not dialog.status_label.isVisible()
    assert table.viewport().height() >= 6 * table.rowHeight(0), "fewer than six files visible"
    assert table.rowHeight(0) >= table.fontMetrics().height() + 4, "rows too tight for their text"
