"""The previews' player must not hold Python's GIL while Qt waits for other threads (the hang on quit)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import QUrl

from dawn_studio.stages.export import ExportSettings, export_video
from dawn_studio.ui.media_player import MediaPlayer

# A C++ call that waits for another thread which needs the GIL: playbackStateChanged is delivered with a
# blocking queued connection to a Python slot on a worker thread, so play()/pause()/stop() return only after
# that slot ran. Holding the GIL through the call (plain QMediaPlayer) deadlocks exactly like the FFmpeg
# backend's threads did when the studio quit.
SCENARIO = textwrap.dedent("""
    import sys, time
    import numpy as np
    from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Slot
    from PySide6.QtMultimedia import QMediaPlayer
    from PySide6.QtCore import QUrl
    from dawn_studio.stages.export import ExportSettings, export_video
    from dawn_studio.ui.media_player import MediaPlayer

    clip = sys.argv[2]
    export_video((np.full((32, 32, 3), 9 * i, np.uint8) for i in range(25)), 25, clip,
                 audio=np.zeros(16000, np.float32), settings=ExportSettings(quality=10))
    app = QCoreApplication([])

    class Listener(QObject):
        seen = []

        @Slot(QMediaPlayer.PlaybackState)
        def heard(self, state):
            sum(range(10000))  # Python work on the worker thread: it needs the GIL
            self.seen.append(state.name)

    worker = QThread()
    listener = Listener()
    listener.moveToThread(worker)
    worker.start()
    player = MediaPlayer() if sys.argv[1] == "studio" else QMediaPlayer()
    player.playbackStateChanged.connect(listener.heard, Qt.ConnectionType.BlockingQueuedConnection)
    player.setSource(QUrl.fromLocalFile(clip))
    deadline = time.monotonic() + 10
    while player.mediaStatus() != QMediaPlayer.MediaStatus.LoadedMedia and time.monotonic() < deadline:
        QCoreApplication.processEvents()
    player.play()
    player.setPosition(500)
    player.pause()
    player.stop()
    worker.quit()
    worker.wait()
    print(",".join(Listener.seen), player.position())
""")


def run_scenario(kind, tmp_path, timeout):
    return subprocess.run([sys.executable, "-c", SCENARIO, kind, str(tmp_path / "clip.mp4")],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_transport_calls_let_a_waiting_thread_reach_python(tmp_path):
    result = run_scenario("studio", tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["PlayingState,PausedState,StoppedState", "0"]


def test_the_scenario_deadlocks_a_plain_player(tmp_path):
    """The check above is only worth something if the same steps hang QMediaPlayer as PySide binds it."""
    with pytest.raises(subprocess.TimeoutExpired):
        run_scenario("plain", tmp_path, timeout=15)


def test_seeking_through_the_slot_lands_where_asked(qtbot, tmp_path):
    clip = export_video((np.full((32, 32, 3), 9 * i, np.uint8) for i in range(25)), 25, tmp_path / "seek.mp4",
                        audio=np.zeros(16000, np.float32), settings=ExportSettings(quality=10))
    player = MediaPlayer()
    player.setSource(QUrl.fromLocalFile(str(clip)))
    qtbot.waitUntil(lambda: player.duration() > 900, timeout=5000)
    player.setPosition(480)
    qtbot.waitUntil(lambda: player.position() == 480, timeout=5000)
