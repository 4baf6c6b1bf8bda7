"""Background tasks: results, progress, errors and cancel reach the UI thread; the loop stays live."""

import threading
import time

import pytest

from dawn_studio.progress import CancelToken
from dawn_studio.ui.worker import TaskRunner


@pytest.fixture
def runner(qtbot):
    r = TaskRunner()
    yield r
    r.cancel()
    r.wait()


def test_result_and_progress_arrive_in_the_ui_thread(runner, qtbot):
    seen, threads = [], []
    runner.progressed.connect(lambda p: (seen.append(p), threads.append(threading.current_thread())))

    def task(report, cancel: CancelToken):
        for i in range(3):
            report(i)
        return "done"

    with qtbot.waitSignal(runner.succeeded) as blocker:
        runner.start(task)
    assert blocker.args == ["done"] and seen == [0, 1, 2]
    assert all(t is threading.main_thread() for t in threads)
    assert not runner.busy


def test_failure_is_a_message_with_details(runner, qtbot):
    def task(report, cancel):
        raise ValueError("no face found in portrait.png")

    with qtbot.waitSignal(runner.failed) as blocker:
        runner.start(task)
    message, details = blocker.args
    assert message == "no face found in portrait.png" and "ValueError" in details


def test_cancel_stops_the_task_and_the_event_loop_keeps_running(runner, qtbot):
    ticks = []

    def task(report, cancel):
        while True:
            cancel.check()
            time.sleep(0.01)

    runner.start(task)
    assert runner.busy
    with pytest.raises(RuntimeError):
        runner.start(task)
    start = time.monotonic()
    while time.monotonic() - start < 0.3:
        qtbot.wait(20)
        ticks.append(time.monotonic())
    assert len(ticks) >= 8, "the UI thread kept processing events"
    with qtbot.waitSignal(runner.cancelled, timeout=3000):
        runner.cancel()
    assert not runner.busy


def test_next_task_can_start_from_the_success_handler(runner, qtbot):
    results = []

    def chain(result):
        results.append(result)
        if result == 1:
            runner.start(lambda report, cancel: 2)

    runner.succeeded.connect(chain)
    runner.start(lambda report, cancel: 1)
    qtbot.waitUntil(lambda: results == [1, 2], timeout=3000)


def test_a_task_that_exits_does_not_leave_the_runner_busy(runner, qtbot):
    def task(report, cancel):
        raise SystemExit(3)

    with qtbot.waitSignal(runner.failed) as blocker:
        runner.start(task)
    message, details = blocker.args
    assert "stopped unexpectedly" in message and "SystemExit" in details
    assert not runner.busy
    with qtbot.waitSignal(runner.succeeded):
        runner.start(lambda report, cancel: "again")
