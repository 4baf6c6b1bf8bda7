"""Freed memory kept in the heap: large blocks are reused without page faults, and given back after.

Each check runs in a fresh interpreter: the malloc settings are process-wide and the arena a thread
gets is decided when it first allocates.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dawn_studio import heap

pytestmark = pytest.mark.skipif(
    not heap.is_supported() or not Path("/proc/self/status").exists(),
    reason="the heap settings are glibc-only (Linux)",
)

BLOCK_MIB = 80  # above the 64 MiB heaps of a thread's own arena and glibc's 32 MiB mmap ceiling
PAGES = BLOCK_MIB * 2**20 // 4096

PROBE = textwrap.dedent(
    f"""
    import json, resource, sys, threading
    import torch
    from dawn_studio import heap

    torch.set_num_threads(1)  # page faults counted on the thread that touches the pages

    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

    def faults_in_steady_state():
        # a network-like step: three {BLOCK_MIB} MiB activations, each freed after the next is made
        x = torch.randn({BLOCK_MIB} * 2**20 // 4)
        counts = []
        for _ in range(20):
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            a = x + 1
            b = a * 2
            del a
            c = b.exp()
            del b, c
            counts.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
        return sum(counts[-8:]) / 8  # per step, once the heap has settled

    mode, where = sys.argv[1], sys.argv[2]
    if mode == "shared":
        heap.share_main_arena()
    result = {{}}

    def work():
        if mode == "default":
            result["faults"] = faults_in_steady_state()
            return
        start = rss()
        with heap.freed_memory_kept() as applied:
            result["applied"] = applied
            result["faults"] = faults_in_steady_state()
            result["held"] = rss() - start
        result["after"] = rss() - start

    if where == "thread":
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    else:
        work()
    print(json.dumps(result))
    """
)


def _probe(mode: str, where: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, mode, where], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_by_default_every_large_block_is_faulted_in_again():
    assert _probe("default", "main")["faults"] > 2.9 * PAGES  # three new blocks per step


def test_kept_freed_memory_is_reused_without_page_faults_and_returned_after():
    result = _probe("kept", "main")
    assert result["applied"] is True
    assert result["faults"] < 0.5 * PAGES  # an occasional re-fault while the heap settles, not 3 per step
    assert result["held"] > 2 * BLOCK_MIB * 2**20  # freed blocks stay resident for reuse...
    assert result["after"] < 1.2 * BLOCK_MIB * 2**20  # ...until the context gives the heap back (x stays)


def test_a_worker_thread_reuses_blocks_once_the_main_arena_is_shared():
    # a thread with its own arena cannot keep blocks this large: they are mapped and unmapped each time
    assert _probe("kept", "thread")["faults"] > 2.9 * PAGES
    assert _probe("shared", "thread")["faults"] < 0.5 * PAGES


def test_nested_uses_keep_the_setting_until_the_outermost_ends(monkeypatch):
    calls: list[tuple[str, bool]] = []
    monkeypatch.setattr(heap, "keep_freed_memory", lambda keep: calls.append(("keep", keep)) or True)
    monkeypatch.setattr(heap, "return_freed_memory", lambda: calls.append(("return", True)) or True)
    with heap.freed_memory_kept():
        with heap.freed_memory_kept():
            pass
        assert ("keep", False) not in calls
    assert calls[-2:] == [("keep", False), ("return", True)]
    calls.clear()
    with heap.freed_memory_kept(False) as applied:
        assert applied is False
    assert calls == []
