"""The files the package carries (model catalog, icon, style sheets, desktop entry), read through
``importlib.resources`` so a checkout, an installed wheel and a frozen bundle all find them the same way."""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

_extracted = ExitStack()  # only used when the package is imported from a zip
atexit.register(_extracted.close)


def data_path(*parts: str) -> Path:
    """A real file path of a packaged data file (Qt and ``open`` need one); reading it raises
    FileNotFoundError when the installation lacks it."""
    entry = resources.files(__package__).joinpath(*parts)
    if isinstance(entry, Path):
        return entry
    if not entry.is_file():
        raise FileNotFoundError(f"{'/'.join(parts)} is missing from the installed package ({entry})")
    return Path(_extracted.enter_context(resources.as_file(entry)))


def catalog_path() -> Path:
    """The model catalog shipped with this version of the package."""
    return data_path("catalog.json")
