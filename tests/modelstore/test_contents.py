"""One place says whether a model folder can generate: the tiny test set and the published set alike."""

import pytest

from dawn_studio.loading.model_folder import ARCHITECTURE_FILE, ModelFolderError, architecture_preset
from dawn_studio.modelstore import ModelsMissingError, ModelStore
from dawn_studio.modelstore.contents import require_video, video_readiness


def test_tiny_set_is_ready_where_its_files_are(tiny_store):
    store = ModelStore(tiny_store)
    assert architecture_preset(tiny_store) == "tiny"
    assert video_readiness(store, 128) == (True, "")
    ready, missing = video_readiness(store, 256)
    assert not ready and "DAWN_256.pth" in missing and "LFG_256_400ep.pth" in missing
    require_video(store, 128)
    with pytest.raises(ModelsMissingError, match="no 256 model files"):
        require_video(store, 256)


def test_published_set_follows_the_catalog(tmp_path):
    store = ModelStore(tmp_path / "empty")
    assert architecture_preset(store.root) == "published"
    ready, missing = video_readiness(store, 128)
    assert not ready and missing == store.status().feature("dawn128").summary
    with pytest.raises(ModelsMissingError) as info:
        require_video(store, 128)
    assert info.value.feature_id == "dawn128" and info.value.missing


def test_a_damaged_marker_is_named(tmp_path):
    (tmp_path / ARCHITECTURE_FILE).write_text('{"preset": "huge"}')
    with pytest.raises(ModelFolderError, match="no known architecture preset .*'huge'"):
        architecture_preset(tmp_path)
    ready, missing = video_readiness(ModelStore(tmp_path), 128)
    assert not ready and "huge" in missing
    with pytest.raises(ModelsMissingError, match="huge"):
        require_video(ModelStore(tmp_path), 128)
