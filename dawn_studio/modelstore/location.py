"""Where the model store lives: ``$DAWN_STUDIO_MODELS``, else the folder the user chose ("use this
folder", shared by the app and the command line), else ``models/`` of a source checkout, else the
platform's per-user data folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..paths import user_config_dir, user_data_dir
from .errors import StoreAccessError

STORE_ENV = "DAWN_STUDIO_MODELS"
SETTING_FILE_NAME = "model-store.json"


@dataclass(frozen=True)
class StoreLocation:
    path: Path
    reason: str  # how it was chosen, in words for the user


def setting_file() -> Path:
    return user_config_dir() / SETTING_FILE_NAME


def checkout_models_dir() -> Path | None:
    """``models/`` of the source checkout this package runs from, when there is one."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root / "models"
    return None


def chosen_folder() -> Path | None:
    """The folder saved with ``use_folder``; None when none was chosen or the setting is unreadable."""
    try:
        data = json.loads(setting_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = data.get("folder") if isinstance(data, dict) else None
    return Path(folder) if isinstance(folder, str) and folder else None


def use_folder(folder: Path | None) -> None:
    """Remember ``folder`` as the model store for the app and the command line (None forgets it)."""
    target = setting_file()
    try:
        if folder is None:
            target.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({"folder": str(Path(folder).expanduser().resolve())}), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise StoreAccessError(
            f"Cannot save the model folder setting in {target}: {exc.strerror or exc}"
        ) from None


def locate_store() -> StoreLocation:
    env = os.environ.get(STORE_ENV)
    if env:
        return StoreLocation(Path(env).expanduser(), f"set by ${STORE_ENV}")
    chosen = chosen_folder()
    if chosen is not None:
        return StoreLocation(chosen, f"chosen with 'use this folder' (saved in {setting_file()})")
    checkout = checkout_models_dir()
    if checkout is not None:
        return StoreLocation(checkout, "models/ of this source checkout")
    return StoreLocation(user_data_dir() / "models", "your user data folder")
