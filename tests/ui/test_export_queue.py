"""The export queue runs exports one after another in the background: cancelling or a failure moves on
to the next, closing drops what waits, each finished export brings the Play / Open Folder notice."""

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QMainWindow, QMessageBox

from dawn_studio.progress import check_cancel
from dawn_studio.stages.export import ExportSettings
from dawn_studio.ui.export_dialog import ExportRequest
from dawn_studio.ui.export_queue import ExportQueue


class Encoder:
    """Stands in for Engine.export: writes the file frame by frame; a gate holds a chosen export open."""

    def __init__(self):
        self.gates: dict[str, threading.Event] = {}
        self.order: list[str] = []

    def export(self, result, path, settings, *, full_frame, progress, cancel):
        self.order.append(Path(path).name)
        gate = self.gates.get(Path(path).name)
        for done in range(1, result.num_frames + 1):
            if gate is not None:
                gate.wait(0.05)
            check_cancel(cancel)
            if Path(path).name.startswith("broken"):
                raise OSError("the disk went away")
            progress(done, result.num_frames)
        Path(path).write_bytes(b"video")
        return Path(path)


@pytest.fixture
def queue(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    encoder = Encoder()
    opened, written = [], []
    queue = ExportQueue(window, lambda: encoder, on_exported=written.append, opener=opened.append)
    queue.encoder, queue.opened, queue.written = encoder, opened, written
    window.show()
    yield queue
    queue.clear_pending()
    queue.cancel_current()
    queue.runner.wait()


def request(path):
    return ExportRequest(Path(path), ExportSettings(), full_frame=True)


def test_queued_exports_run_in_order_and_each_says_it_is_done(qtbot, queue, tmp_path):
    clip = SimpleNamespace(num_frames=30)
    queue.encoder.gates["a.mp4"] = threading.Event()  # holds the first one open a while
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        queue.enqueue(clip, request(tmp_path / name))
    assert queue.status.isVisible() and queue.status.label.text() == "Exporting a.mp4 · 2 waiting"
    assert queue.targets() == [tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"]
    qtbot.waitUntil(lambda: not queue.busy, timeout=20_000)
    assert queue.encoder.order == ["a.mp4", "b.mp4", "c.mp4"] and queue.written == [
        tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"]
    assert not queue.status.isVisible() and queue.notice.isVisible()
    assert "Saved c.mp4" in queue.notice.message.text()
    queue.notice.play_button.click()
    queue.notice.folder_button.click()
    assert [url.toLocalFile() for url in queue.opened] == [str(tmp_path / "c.mp4"), str(tmp_path)]


def test_cancel_and_failure_move_on_and_closing_drops_what_waits(qtbot, queue, tmp_path, monkeypatch):
    clip = SimpleNamespace(num_frames=40)
    errors = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: errors.append(box.text()))
    queue.encoder.gates["slow.mp4"] = threading.Event()
    queue.encoder.gates["next.mp4"] = threading.Event()
    for name in ("slow.mp4", "broken.mp4", "next.mp4", "never.mp4"):
        queue.enqueue(clip, request(tmp_path / name))
    qtbot.waitUntil(lambda: queue.status.bar.value() > 0, timeout=10_000)
    queue.status.cancel_button.click()
    qtbot.waitUntil(lambda: queue.current is not None and queue.current.request.path.name == "next.mp4",
                    timeout=10_000)
    assert errors and "broken.mp4 was not written: the disk went away" in errors[0]
    queue.clear_pending()  # the window is closing
    qtbot.waitUntil(lambda: not queue.busy, timeout=10_000)
    assert queue.encoder.order == ["slow.mp4", "broken.mp4", "next.mp4"]
    assert [p.name for p in queue.written] == ["next.mp4"]
    assert not (tmp_path / "slow.mp4").exists() and not (tmp_path / "never.mp4").exists()
