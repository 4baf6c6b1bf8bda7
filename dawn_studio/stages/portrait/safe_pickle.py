"""Reading 3DDFA's pickle files (parameter statistics, BFM) without executing anything they contain.

A pickle can call any importable function while loading. These files only need numpy arrays,
numpy scalars and plain containers, so the unpickler admits exactly the few numpy
reconstruction helpers those need and refuses everything else, and object arrays are rejected.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

try:
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # NumPy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]
    from numpy.core import numeric as _numeric  # type: ignore[no-redef]


class UnsafePickleError(ValueError):
    """The file is not a plain numpy pickle (it asks for other code, or is damaged)."""


_ALLOWED: dict[tuple[str, str], Any] = {}
for _package in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_package}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(f"{_package}.multiarray", "scalar")] = _multiarray.scalar
    _ALLOWED[(f"{_package}.numeric", "_frombuffer")] = _numeric._frombuffer  # protocol-5 arrays
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
_ALLOWED[("_codecs", "encode")] = codecs.encode  # protocol-2 pickles store bytes through it


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsafePickleError(f"refusing to load '{module}.{name}' (only numpy arrays are allowed)")
        return found


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise UnsafePickleError(f"{where} is an array of Python objects")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")


def read_numpy_pickle(path: str | os.PathLike[str]) -> Any:
    """Load a pickle holding only numpy arrays/scalars and plain containers, else ``UnsafePickleError``."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UnsafePickleError(f"Cannot read {p}: {exc.strerror or exc}") from exc
    try:
        value = _NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{p}: {exc}") from exc
    except Exception as exc:  # any decoding failure of a damaged file
        raise UnsafePickleError(f"{p} is not a readable pickle file ({type(exc).__name__})") from exc
    _check_plain(value, p.name)
    return value
