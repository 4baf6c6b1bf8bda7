"""Engine test fixtures (the tiny model set and a 2-s speech clip come from tests/conftest.py)."""

import pytest
from support.paths import sample_portrait


@pytest.fixture(scope="session")
def portrait_path():
    return sample_portrait("real_female_1.jpeg")
