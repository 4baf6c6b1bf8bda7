"""Application logging: console plus a rotating file in the user log directory."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from .paths import user_log_dir

LOG_FILE_NAME = "dawn-studio.log"
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _BriefFormatter(logging.Formatter):
    """One line per record on the console: tracebacks go to the log file (``--verbose`` shows them)."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return self.formatMessage(_without_traceback(record))


def _without_traceback(record: logging.LogRecord) -> logging.LogRecord:
    brief = logging.makeLogRecord(record.__dict__)
    brief.message = record.getMessage()
    brief.exc_info, brief.exc_text, brief.stack_info = None, None, None
    return brief


def configure_logging(verbose: bool = False, log_dir: Path | None = None) -> Path | None:
    """Set up the root logger once; returns the log file path (None if it cannot be written)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_dawn_studio", False):
            root.removeHandler(handler)
            handler.close()
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s") if verbose else _BriefFormatter())
    console._dawn_studio = True  # type: ignore[attr-defined]
    root.addHandler(console)

    directory = log_dir or user_log_dir()
    path = directory / LOG_FILE_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8",
        )
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot write the log file %s: %s", path, exc)
        return None
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    file_handler._dawn_studio = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    return path


def current_log_file() -> Path | None:
    """The file the rotating handler writes to, if logging was configured."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return Path(handler.baseFilename)
    return None
