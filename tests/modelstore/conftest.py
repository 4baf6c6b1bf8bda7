"""Fixtures of the model-store tests: a local model server, a small catalog pointing at it, a store."""

import huggingface_hub.constants
import pytest
from fake_sources import ModelServer, payloads, write_catalog

from dawn_studio.modelstore import ModelStore, load_catalog


@pytest.fixture
def files():
    return payloads()


@pytest.fixture
def server(files):
    server = ModelServer(files)
    yield server
    server.close()


@pytest.fixture
def online(monkeypatch):
    """The suite runs with HF_HUB_OFFLINE=1; these tests talk to a local stand-in of the hub."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def catalog(tmp_path, server, files):
    return load_catalog(write_catalog(tmp_path, server.url, files))


@pytest.fixture
def store(tmp_path, catalog):
    return ModelStore(tmp_path / "store", catalog)
