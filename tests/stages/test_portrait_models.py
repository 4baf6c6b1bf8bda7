"""Model files: safe pickles, published weight formats (round trip at tiny widths), clear errors."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from support.paths import tddfa_model_dir

from dawn_studio.loading.checkpoint import CheckpointError
from dawn_studio.loading.faceboxes import load_faceboxes, save_faceboxes
from dawn_studio.loading.tddfa import load_tddfa, load_tddfa_file, save_tddfa
from dawn_studio.networks.faceboxes import TINY as TINY_FACEBOXES
from dawn_studio.networks.faceboxes import FaceBoxesNet, prior_boxes
from dawn_studio.networks.tddfa import TINY as TINY_TDDFA
from dawn_studio.networks.tddfa import LandmarkHead, MobileNetTDDFA
from dawn_studio.stages.portrait import (
    PortraitError,
    UnsafePickleError,
    load_portrait_models,
    read_numpy_pickle,
    read_param_stats,
    save_param_stats,
)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_real_param_stats_load_through_the_restricted_unpickler() -> None:
    stats = read_param_stats(tddfa_model_dir() / "param_mean_std_62d_120x120.pkl")
    assert stats.mean.shape == (62,) and stats.std.shape == (62,)
    assert stats.mean.dtype == torch.float32
    torch.testing.assert_close(stats.mean[[3, 7, 11]], torch.tensor([60.2, 74.3, -66.7]), atol=0.1, rtol=0)


def test_param_stats_written_in_the_published_format_read_back(tmp_path) -> None:
    stats = read_param_stats(tddfa_model_dir() / "param_mean_std_62d_120x120.pkl")
    path = save_param_stats(stats, tmp_path / "param_mean_std_62d_120x120.pkl")
    raw = read_numpy_pickle(path)
    assert set(raw) == {"mean", "std"} and raw["mean"].dtype == np.float32
    again = read_param_stats(path)
    torch.testing.assert_close(again.mean, stats.mean, rtol=0, atol=0)
    torch.testing.assert_close(again.std, stats.std, rtol=0, atol=0)


def test_pickles_that_call_code_are_refused(tmp_path) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"mean": _Exploit()}))
    with pytest.raises(UnsafePickleError, match="os|posix|system"):
        read_numpy_pickle(path)


def test_object_arrays_are_refused(tmp_path) -> None:
    path = tmp_path / "objects.pkl"
    path.write_bytes(pickle.dumps({"mean": np.array([1, "a"], dtype=object)}))
    with pytest.raises(UnsafePickleError):
        read_numpy_pickle(path)


def test_plain_numpy_pickles_of_both_protocols_load(tmp_path) -> None:
    store = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [np.int64(3), (1.5, "x")]}
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"plain{protocol}.pkl"
        path.write_bytes(pickle.dumps(store, protocol=protocol))
        loaded = read_numpy_pickle(path)
        np.testing.assert_array_equal(loaded["a"], store["a"])
        assert loaded["b"][0] == 3 and loaded["b"][1] == (1.5, "x")


def test_tiny_faceboxes_round_trips_in_the_published_format(tmp_path) -> None:
    torch.manual_seed(0)
    net = FaceBoxesNet(TINY_FACEBOXES).eval()
    path = save_faceboxes(net, tmp_path / "FaceBoxesProd.pth")
    raw = torch.load(path, weights_only=True)
    assert set(raw) == set(net.state_dict()), "a bare state dict without prefix, like FaceBoxesProd.pth"
    loaded = load_faceboxes(path)
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        for a, b in zip(net(x), loaded(x), strict=True):
            torch.testing.assert_close(a, b)
    anchors = 21 * (3 * 4) + 2 * 2 + 1  # 96x128 input: grids 3x4, 2x2, 1x1
    assert loaded(x)[0].shape == (1, anchors, 4) and prior_boxes(96, 128).shape == (anchors, 4)


def test_tiny_tddfa_round_trips_in_the_published_format(tmp_path) -> None:
    torch.manual_seed(0)
    net = MobileNetTDDFA(TINY_TDDFA).eval()
    path = save_tddfa(net, tmp_path / "mb1_120x120.pth")
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"epoch", "state_dict"}
    keys = set(raw["state_dict"])
    assert all(k.startswith("module.") for k in keys)
    assert {"module.fc_param.weight", "module.fc_lm.weight"} <= keys and "module.fc.weight" not in keys
    loaded = load_tddfa(path)
    assert loaded.config.widen_factor == TINY_TDDFA.widen_factor
    x = torch.randn(2, 3, 120, 120)
    with torch.no_grad():
        torch.testing.assert_close(net(x), loaded(x))


def test_landmark_head_is_saved_and_loaded_with_the_regressor(tmp_path) -> None:
    torch.manual_seed(0)
    net, head = MobileNetTDDFA(TINY_TDDFA).eval(), LandmarkHead(TINY_TDDFA).eval()
    path = save_tddfa(net, tmp_path / "mb.pth", landmark_head=head)
    loaded_net, loaded_head = load_tddfa_file(path)
    x = torch.randn(1, 3, 120, 120)
    with torch.no_grad():
        torch.testing.assert_close(loaded_head(loaded_net.features(x)), head(net.features(x)))
    state = torch.load(path, weights_only=True)
    for key in ("module.fc_lm.weight", "module.fc_lm.bias"):
        del state["state_dict"][key]
    torch.save(state, tmp_path / "no_head.pth")
    assert load_tddfa_file(tmp_path / "no_head.pth")[1] is None


def test_published_mb05_file_carries_a_landmark_head() -> None:
    net, head = load_tddfa_file(tddfa_model_dir() / "mb05_120x120.pth")
    assert head is not None and head.weight.shape == (136, net.fc.in_features)


def test_widths_that_cannot_be_read_back_from_a_file_are_refused() -> None:
    from dawn_studio.networks.faceboxes import FaceBoxesConfig
    from dawn_studio.networks.tddfa import TDDFAConfig

    with pytest.raises(ValueError, match="1/8"):
        FaceBoxesConfig(width=0.3)
    with pytest.raises(ValueError, match="1/32"):
        TDDFAConfig(widen_factor=0.3)


def test_wrong_weight_files_name_file_and_key(tmp_path) -> None:
    torch.manual_seed(0)
    tddfa_path = save_tddfa(MobileNetTDDFA(TINY_TDDFA), tmp_path / "mb.pth")
    with pytest.raises(CheckpointError, match="FaceBoxes"):
        load_faceboxes(tddfa_path)
    state = torch.load(tddfa_path, weights_only=True)
    del state["state_dict"]["module.dw6.bn_sep.running_var"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match=r"dw6\.bn_sep\.running_var.*|.*broken\.pth"):
        load_tddfa(tmp_path / "broken.pth")


def test_model_folder_errors_are_clear(tmp_path) -> None:
    with pytest.raises(PortraitError, match="does not exist"):
        load_portrait_models(tmp_path / "missing")
    with pytest.raises(PortraitError, match="FaceBoxesProd.pth"):
        load_portrait_models(tmp_path)
    folder = tddfa_model_dir()
    (tmp_path / "FaceBoxesProd.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(PortraitError, match="cannot be used"):
        load_portrait_models(folder, detector=tmp_path / "FaceBoxesProd.pth")


def test_models_load_from_the_reference_folder_without_bfm() -> None:
    models = load_portrait_models(tddfa_model_dir())
    assert models.regressor.config.widen_factor == 0.5, "mb05 is picked when mb1 is absent"
    assert models.morphable is None
