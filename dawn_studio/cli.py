"""The ``dawn-studio`` command: no arguments opens the GUI; sub-commands run headless."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence

from . import APP_NAME, __version__, heap
from .commands import COMMAND_MODULES
from .logging_setup import configure_logging, current_log_file

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


def build_parser(with_commands: bool = True) -> argparse.ArgumentParser:
    """The command line; ``with_commands=False`` leaves out the sub-commands, whose modules import torch
    (seconds): starting the desktop app needs none of them."""
    parser = argparse.ArgumentParser(
        prog="dawn-studio",
        description=f"{APP_NAME}: turn one portrait photo and a speech recording into a talking-head "
        "video with DAWN. Run without a command to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to the console")
    if not with_commands:
        parser.set_defaults(command=None)
        return parser
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.commands.{name}").register(subparsers)
    return parser


def opens_gui(arguments: Sequence[str]) -> bool:
    """No sub-command and no help asked for: the desktop app, which shows its window before torch loads."""
    return all(a.startswith("-") for a in arguments) and not {"-h", "--help"} & set(arguments)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while starting up (importing torch can take seconds)
        print("Cancelled.", file=sys.stderr)
        return EXIT_CANCELLED


@contextlib.contextmanager
def interrupt_deferred() -> Iterator[None]:
    """Ctrl-C during the heavy imports is noted and acted on afterwards: raised inside torch's import, whose
    C++ calls back into Python, the KeyboardInterrupt aborts the process (SIGABRT, a C++ message) instead of
    ending it with "Cancelled."."""
    pressed: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    except ValueError:  # not the main thread (tests calling main() from a thread): nothing to defer
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def run() -> None:
    """The program's entry point (``dawn-studio``, ``python -m dawn_studio``): ``main`` and exit with its code."""
    code = main()
    # The work is done and written: a Ctrl-C arriving while Python shuts down would otherwise kill the process
    # by the signal (exit -2) or print a traceback from torch's exit hooks, turning a success into a failure.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


def _main(argv: Sequence[str] | None) -> int:
    heap.share_main_arena()  # before any thread exists: generation threads then reuse the main heap
    arguments = list(sys.argv[1:] if argv is None else argv)
    with interrupt_deferred():
        parser = build_parser(with_commands=not opens_gui(arguments))
    args = parser.parse_args(arguments)
    configure_logging(verbose=args.verbose)
    if args.command is None:
        from .ui.app import run_gui  # Qt is imported only when the GUI is wanted

        return run_gui(sys.argv[:1])
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:  # last line of defence: a message, the details in the log
        logging.getLogger(__name__).info("command %s failed", args.command, exc_info=True)
        if isinstance(exc, RecursionError):
            text = "an input is nested too deeply to be read"
        elif isinstance(exc, MemoryError):
            text = "not enough memory for this input"
        else:
            text = str(exc) or type(exc).__name__
        log_file = current_log_file()
        where = f" (details in {log_file})" if log_file else ""
        print(f"Error: {text[:500]}{where}", file=sys.stderr)
        return EXIT_FAILURE

if __name__ == "__main__":
    run()
