"""Hostile inputs through the real ``dawn-studio`` command line (helpers: tests/support/hostile.py).

Every input is generated (nothing binary is committed). Each case checks the exit code, the message,
that no traceback reaches the console, that no input changed (SHA-256 before/after) and that nothing
stray was left beside the files involved.
"""

import os

import pytest
from support.hostile import REPORT


@pytest.fixture(scope="session")
def face_photo():
    from support.paths import sample_portrait

    return sample_portrait("real_female_1.jpeg")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """With ``DAWN_HOSTILE_REPORT=1``: each case's exit code and first message line (for the issue note)."""
    if os.environ.get("DAWN_HOSTILE_REPORT") != "1":
        return
    for name, (outcome, _inputs) in sorted(REPORT.items()):
        line = (outcome.err.strip() or outcome.out.strip()).splitlines()
        terminalreporter.write_line(f"{name} -> exit {outcome.code}: {(line[0] if line else '')[:160]}")

