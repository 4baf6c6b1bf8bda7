"""Per-user locations (settings, logs, caches) from platformdirs, in one place."""

from __future__ import annotations

from pathlib import Path

from platformdirs import PlatformDirs

from . import APP_ID

_DIRS = PlatformDirs(appname=APP_ID, appauthor=False)


def user_log_dir() -> Path:
    return Path(_DIRS.user_log_dir)


def user_data_dir() -> Path:
    return Path(_DIRS.user_data_dir)


def user_cache_dir() -> Path:
    return Path(_DIRS.user_cache_dir)


def user_config_dir() -> Path:
    return Path(_DIRS.user_config_dir)
