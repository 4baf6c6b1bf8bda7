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


def test_face_enhancement_is_optional_and_follows_the_folder(tiny_store, tmp_path):
    from dawn_studio.modelstore.contents import ENHANCE_FEATURE, enhancer_readiness

    assert enhancer_readiness(ModelStore(tiny_store)) == (True, "")
    empty = ModelStore(tmp_path / "empty")
    ready, missing = enhancer_readiness(empty)
    assert not ready and missing == "Face enhancement missing 1 file"
    catalog = empty.catalog
    gfpgan = catalog.file("gfpgan_v1_4")
    # Making videos never needs the enhancer: no video size pulls it in.
    for size in (128, 256):
        assert gfpgan not in catalog.files_of_feature(f"dawn{size}")
    assert catalog.files_of_feature(ENHANCE_FEATURE) == (gfpgan,)
    assert [f.id for f in catalog.offered_features()] == ["dawn128", "dawn256", ENHANCE_FEATURE]


def test_the_enhancer_comes_from_the_gfpgan_release_with_its_checksum_and_licence(tmp_path):
    from dawn_studio.loading.model_folder import ENHANCER_FILE
    from dawn_studio.modelstore.sources import describe_source

    catalog = ModelStore(tmp_path / "empty").catalog
    gfpgan = catalog.file("gfpgan_v1_4")
    assert gfpgan.path == ENHANCER_FILE  # where the loader reads it
    assert describe_source(catalog, gfpgan.sources[0]) == (
        "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.4/GFPGANv1.4.pth")
    assert gfpgan.size == 348632874
    assert gfpgan.sha256 == "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad"
    assert "Apache License 2.0" in catalog.licences[gfpgan.licence].name
