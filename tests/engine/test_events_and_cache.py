"""Progress events and the result cache behave as the engine and the UI rely on."""

import os
import time

import pytest

from dawn_studio.engine.cache import ResultCache, file_digest
from dawn_studio.engine.events import ProgressTracker, format_duration


def test_progress_fraction_is_monotonic_and_ends_at_one():
    clock = iter([0.0] + [float(i) for i in range(1, 100)])
    events = []
    tracker = ProgressTracker(["speech", "diffusion", "render"], events.append, clock=lambda: next(clock))
    tracker.update("speech", 1, 1)
    for step in range(1, 21):
        tracker.update("diffusion", step, 20)
    for done in (5, 10):
        tracker.update("render", done, 10)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    mid = events[10]
    assert mid.stage == "diffusion" and mid.eta_seconds is not None and mid.eta_seconds > 0
    assert "step 10/20" in mid.describe()
    with pytest.raises(KeyError):
        tracker.update("export", 1, 1)


def test_time_left_is_steady_and_only_shown_once_measured():
    now = [0.0]
    events = []
    tracker = ProgressTracker(["load", "speech", "diffusion", "render", "compose"], events.append,
                              clock=lambda: now[0])
    now[0] = 4.0
    tracker.update("load", 1, 1)
    tracker.update("speech", 1, 1)
    assert events[-1].eta_seconds is None, "no estimate from fixed stage weights alone"
    step_time = 2.0
    for step in range(0, 21):
        now[0] = 5.0 + step * step_time
        tracker.update("diffusion", step, 20)
    diffusion = [e for e in events if e.stage == "diffusion"]
    assert diffusion[0].eta_seconds is None and diffusion[1].eta_seconds is not None
    etas = [e.eta_seconds for e in diffusion[1:]]
    drops = [a - b for a, b in zip(etas, etas[1:], strict=False)]
    assert all(d == pytest.approx(step_time) for d in drops), "with steady steps it counts down by one step"
    for done in range(1, 11):
        now[0] += 0.5
        tracker.update("render", done, 10)
    render = [e.eta_seconds for e in events if e.stage == "render"]
    jumps = [abs(b - a) for a, b in zip([etas[-1]] + render, render, strict=False)]
    assert max(jumps) < 10, f"the estimate jumped by {max(jumps):.1f} s"


def test_preview_writing_counts_frames_of_each_clip():
    tracker = ProgressTracker(["compose"], None)
    event = tracker.update("compose", 134, 200, detail="full photo, frame 34/100")
    assert event.describe() == "Writing the preview — full photo, frame 34/100"


def test_durations_read_naturally():
    assert format_duration(42.4) == "42 s"
    assert format_duration(125) == "2 min 05 s"
    assert format_duration(3 * 3600 + 60) == "3 h 01 min"


def test_cache_computes_once_per_key_and_counts():
    cache = ResultCache(max_entries=2)
    calls = []
    value, hit = cache.get_or_compute("speech", "a", lambda: calls.append("a") or 1)
    assert (value, hit) == (1, False)
    assert cache.get_or_compute("speech", "a", lambda: calls.append("a2") or 2) == (1, True)
    cache.get_or_compute("speech", "b", lambda: 3)
    cache.get_or_compute("speech", "c", lambda: 4)  # evicts the least recently used ("a")
    assert cache.get_or_compute("speech", "a", lambda: 5) == (5, False)
    assert cache.hits == {"speech": 1} and cache.misses == {"speech": 4}


def test_file_digest_follows_content(tmp_path):
    path = tmp_path / "voice.wav"
    path.write_bytes(b"one")
    first = file_digest(path)
    assert file_digest(path) == first
    time.sleep(0.01)
    path.write_bytes(b"two")
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    assert file_digest(path) != first
    copy = tmp_path / "copy.wav"
    copy.write_bytes(b"two")
    assert file_digest(copy) == file_digest(path), "same content, same key, whatever the name"


def test_large_stage_results_are_kept_one_at_a_time():
    cache = ResultCache(max_entries=8, stage_limits={"render": 1})
    cache.get_or_compute("speech", "s", lambda: 1)
    cache.get_or_compute("render", "clip 1", lambda: "frames 1")
    cache.get_or_compute("render", "clip 2", lambda: "frames 2")  # replaces clip 1, keeps the speech
    assert cache.get_or_compute("render", "clip 2", lambda: "again") == ("frames 2", True)
    assert cache.get_or_compute("speech", "s", lambda: 2) == (1, True)
    assert cache.get_or_compute("render", "clip 1", lambda: "frames 1 again") == ("frames 1 again", False)
