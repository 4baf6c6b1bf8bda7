"""Downloads against a local stand-in of the hub and of a plain web server: progress, resume after an
interruption, corruption refused, cancel leaves nothing, offline fails fast and clearly."""

import errno
import hashlib
import importlib
import json
import socket
import time

import pytest

from dawn_studio.modelstore import (
    DiskSpaceError,
    DownloadError,
    FileState,
    IntegrityError,
    ModelStore,
    OfflineError,
    SourceNotFoundError,
    StoreAccessError,
    download,
    load_catalog,
)
from dawn_studio.modelstore.sources import OVERRIDES_NAME, RemoteFile
from dawn_studio.modelstore.transfer import fetch
from dawn_studio.progress import Cancelled, CancelToken

download_module = importlib.import_module("dawn_studio.modelstore.download")
transfer_module = importlib.import_module("dawn_studio.modelstore.transfer")


def leftovers(store):
    return sorted(p.name for p in store.root.rglob("*") if p.name.endswith((".part", ".part.json")))


def test_downloads_everything_with_file_and_total_progress(store, server, files, online):
    events = []
    result = download(store, progress=events.append)
    assert sorted(result.installed) == ["big", "detector", "settings", "stats"]
    for file_id, name in [("big", "big_model.pth"), ("settings", "settings/opt.yaml"),
                          ("detector", "FaceDetector.pth"), ("stats", "stats.pkl")]:
        assert store.path_of(file_id).read_bytes() == files[name]
    status = store.status()
    assert all(s.state is FileState.VERIFIED for s in status.files)
    assert status.feature("talk").summary == "Talking video ready"
    total = sum(len(data) for data in files.values())
    downloading = [e for e in events if e.phase == "downloading"]
    assert downloading and all(e.total == total for e in downloading)
    assert [e.done for e in downloading] == sorted(e.done for e in downloading)
    assert events[-1].phase == "installed" and events[-1].done == total
    big = [e for e in downloading if e.file_id == "big"]
    assert big[-1].file_done == big[-1].file_total == len(files["big_model.pth"]) and len(big) > 3
    assert leftovers(store) == []


def test_checksums_are_recorded_when_the_publisher_gives_none(store, files, online):
    download(store, ["big", "settings", "stats"])
    big = store.ledger.recorded("big_model.pth")
    assert big.sha256 == hashlib.sha256(files["big_model.pth"]).hexdigest()
    assert "first verified download" in big.how
    assert store.file_status(store.catalog.file("big")).detail == "SHA-256 matches the server's"
    assert "git blob" in store.file_status(store.catalog.file("settings")).detail
    assert store.file_status(store.catalog.file("stats")).detail.startswith("no published checksum")
    expected = hashlib.sha256(files["stats.pkl"]).hexdigest()
    assert store.expected_sha256(store.catalog.file("stats"))[0] == expected


def test_second_source_is_tried_when_the_first_lacks_the_file(store, server, online):
    download(store, ["settings"])
    paths = [p for method, p, _ in server.requests if method == "HEAD"]
    assert any("missing/opt.yaml" in p for p in paths) and any("settings/opt.yaml" in p for p in paths)


def test_interrupted_download_resumes_where_it_stopped(store, server, files, online):
    server.drop_after["big_model.pth"] = 1 << 20
    with pytest.raises(DownloadError, match="interrupted.*resume"):
        download(store, ["big"])
    status = store.file_status(store.catalog.file("big"))
    assert status.state is FileState.PARTIAL and "resume" in status.detail
    assert not store.path_of("big").exists()
    assert store.part_path(store.catalog.file("big")).stat().st_size == 1 << 20

    download(store, ["big"])
    assert store.path_of("big").read_bytes() == files["big_model.pth"]
    ranges = [r for method, path, r in server.requests if method == "GET" and path.startswith("/cdn/")]
    assert ranges == [None, f"bytes={1 << 20}-"]
    assert leftovers(store) == []


def test_partial_download_of_another_remote_version_is_started_over(store, server, files, online):
    part = store.part_path(store.catalog.file("big"))
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)
    part.with_name(part.name + ".json").write_text(json.dumps({"identity": "an older upload"}))
    download(store, ["big"])
    assert store.path_of("big").read_bytes() == files["big_model.pth"]
    assert [r for m, p, r in server.requests if m == "GET"] == [None]


def test_corrupted_hub_file_is_refused_and_nothing_is_kept(store, server, online):
    server.corrupt.add("big_model.pth")
    with pytest.raises(IntegrityError, match="big_model.pth was refused: SHA-256 differs"):
        download(store, ["big"])
    assert not store.path_of("big").exists() and leftovers(store) == []
    assert store.file_status(store.catalog.file("big")).state is FileState.MISSING


def test_corrupted_file_with_catalog_checksum_is_refused(store, server, online):
    server.corrupt.add("weights/FaceDetector.pth")
    with pytest.raises(IntegrityError, match="differs from the catalog"):
        download(store, ["detector"])
    assert not store.path_of("detector").exists() and leftovers(store) == []


def test_error_page_under_a_model_name_is_refused(tmp_path, server, online):
    server.web["configs/stats.pkl"] = b"<!DOCTYPE html><html>Rate limited</html>"
    catalog = load_catalog(_catalog_file(tmp_path, server))
    store = ModelStore(tmp_path / "store", catalog)
    with pytest.raises(IntegrityError, match="HTML page"):
        download(store, ["stats"])
    assert leftovers(store) == []


def _catalog_file(tmp_path, server):
    from fake_sources import payloads, write_catalog

    return write_catalog(tmp_path, server.url, payloads())


def test_cancel_leaves_no_partial_file(store, server, online):
    server.delay = 0.02
    cancel = CancelToken()

    def on_progress(event):
        if event.phase == "downloading" and event.file_done > 0:
            cancel.cancel()

    with pytest.raises(Cancelled):
        download(store, ["big"], progress=on_progress, cancel=cancel)
    assert leftovers(store) == [] and not store.path_of("big").exists()
    assert store.file_status(store.catalog.file("big")).state is FileState.MISSING


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_offline_fails_fast_with_a_clear_message(store, online):
    dead = f"http://127.0.0.1:{_closed_port()}"
    overrides = {"origins": {"hub": {"endpoint": dead}, "web": {"base_url": dead + "/web/"}}}
    started = time.monotonic()
    with pytest.raises(OfflineError) as caught:
        download(store, overrides=overrides, timeout=3)
    assert time.monotonic() - started < 5
    assert "offline" in str(caught.value) and "import" in str(caught.value)
    assert leftovers(store) == [] and not any(p.is_file() for p in store.root.rglob("*.pth"))


def test_hub_offline_mode_is_respected(store):
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        download(store, ["big"])


def test_missing_everywhere_is_a_clear_not_found(store, server, online):
    del server.hub["big_model.pth"]
    with pytest.raises(SourceNotFoundError, match="big_model.pth is not available from any of its sources"):
        download(store, ["big"])


def test_not_enough_disk_space_is_found_before_downloading(store, server, online, monkeypatch):
    class Usage:
        free = 10

    monkeypatch.setattr(download_module.shutil, "disk_usage", lambda path: Usage)
    with pytest.raises(DiskSpaceError, match="needs .* but only 10 bytes is free"):
        download(store)
    assert not any(method == "GET" for method, _, _ in server.requests)


def test_unwritable_store_is_a_clear_error(tmp_path, catalog, online):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = ModelStore(blocker / "store", catalog)
    with pytest.raises(StoreAccessError, match="Cannot write to the model folder"):
        download(store, ["stats"])


def test_user_overrides_in_the_store_replace_a_source(store, server, files, online):
    store.root.mkdir(parents=True)
    override = {"files": {"big": f"{server.url}/cdn/big_model.pth"}}
    (store.root / OVERRIDES_NAME).write_text(json.dumps(override))
    download(store, ["big"])
    assert store.path_of("big").read_bytes() == files["big_model.pth"]
    assert not any("/resolve/" in path for _, path, _ in server.requests)


def test_present_files_are_not_downloaded_again(store, server, online):
    download(store, ["stats"])
    server.requests.clear()
    result = download(store, ["face"])
    assert result.installed == ("detector",) and result.already_present == ("stats",)
    assert not any("stats" in path for _, path, _ in server.requests)


def test_credentials_never_follow_a_redirect_to_another_host(tmp_path, server, files):
    remote = RemoteFile(url=f"{server.url}/web/moved/configs/stats.pkl",
                        headers={"Authorization": "Bearer secret"}, size=None, sha256=None, git_blob=None,
                        label="stats", identity="stats")
    part = tmp_path / "stats.pkl.part"
    fetch(remote, part)
    assert part.read_bytes() == files["stats.pkl"]
    assert server.authorizations == [("/web/moved/configs/stats.pkl", "Bearer secret"),
                                     ("/web/configs/stats.pkl", None)]


def test_a_redirected_release_asset_is_sized_without_fetching_it(server, files):
    """GitHub release downloads (the face enhancer) redirect to a file CDN: resolving asks both with HEAD."""
    from dawn_studio.modelstore.sources import _resolve_url

    remote = _resolve_url(f"{server.url}/web/moved/configs/stats.pkl", timeout=5)
    assert remote.size == len(files["stats.pkl"]) and remote.url == f"{server.cdn_url}/web/configs/stats.pkl"
    assert [(method, path) for method, path, _ in server.requests] == [
        ("HEAD", "/web/moved/configs/stats.pkl"), ("HEAD", "/web/configs/stats.pkl")]


def test_disk_full_while_writing_is_a_clear_error(store, server, online, monkeypatch):
    real_open = open

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transfer_module, "open", lambda *a, **k: FullDisk(real_open(*a, **k)), raising=False)
    with pytest.raises(DiskSpaceError, match="is full. Free some space"):
        download(store, ["big"])
    assert not store.path_of("big").exists()
