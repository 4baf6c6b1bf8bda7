"""The ``dawn-studio`` command line: version, help, errors."""

import os
import signal
import subprocess
import sys

import pytest

from dawn_studio import __version__
from dawn_studio.cli import build_parser, interrupt_deferred


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dawn_studio", *args], capture_output=True, text=True,
                          timeout=120)


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"dawn-studio {__version__}"


def test_help_describes_the_app():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "portrait" in result.stdout and "--verbose" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_parser_has_subcommand_slot():
    parser = build_parser()
    assert parser.parse_args([]).command is None


def test_ctrl_c_during_the_imports_is_acted_on_after_them():
    """Raised inside torch's import (C++ calling back into Python) a KeyboardInterrupt aborts the process with
    a C++ message (CI saw exit -6); deferred, the code inside finishes and the interrupt comes afterwards."""
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append(True)
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
