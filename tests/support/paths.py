"""Where the read-only shared test data lives; tests skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = PROJECT_ROOT.parent / "shared"


def conformance_dir() -> Path:
    """``$DAWN_CONFORMANCE_DIR`` when set, else ``../shared/conformance``."""
    env = os.environ.get("DAWN_CONFORMANCE_DIR")
    return Path(env) if env else SHARED_DIR / "conformance"


def shared_path(*parts: str) -> Path:
    """A path under ``../shared``, or skip the test with the reason when it is missing."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not available: {path}")
    return path


def sample_portrait(name: str = "real_female_1.jpeg") -> Path:
    return shared_path("samples", name)


def sample_speech() -> Path:
    return shared_path("samples", "WRA_MarcoRubio_000.wav")


def tddfa_model_dir() -> Path:
    return shared_path("models", "3ddfa")
