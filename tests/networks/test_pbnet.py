"""PBNet network: safe options files, published file layout, strict loading, attention details."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import yaml

from dawn_studio.loading.checkpoint import CheckpointError
from dawn_studio.loading.pbnet import load_pbnet, load_pbnet_pair, model_dir, save_pbnet, save_pbnet_pair
from dawn_studio.loading.pbnet_options import (
    SUPPORTED_ARCHITECTURES,
    PBNetOptionsError,
    config_from_options,
    options_for_config,
    parse_options,
    read_options,
)
from dawn_studio.networks.pbnet import (
    BLINK,
    POSE,
    TINY_BLINK,
    TINY_POSE,
    PBNet,
    PBNetConfig,
    PBNetConfigError,
    generate_pose_blink,
)
from dawn_studio.networks.pbnet import layers as pbnet_layers
from dawn_studio.networks.pbnet.layers import RelativePositionBias, RotaryEmbedding

# What the reference's training parser dumps (PyYAML default dumper: tuples get python tags).
PUBLISHED_STYLE_OPTIONS = {
    "expname": "exps",
    "folder": "exps/HDTF",
    "cuda": True,
    "gpu": "0",
    "ckpt": "",
    "batch_size": 40,
    "num_epochs": 100000,
    "lr": 0.0004,
    "snapshot": 10000,
    "dataset": "hdtf",
    "num_frames": 200,
    "max_len": -1,
    "min_len": -1,
    "num_seq_max": -1,
    "modelname": "cvae_transformerreemb5_rc_kl_reg",
    "latent_dim": 256,
    "lambda_kl": 0.004,
    "lambda_rc": 1.0,
    "lambda_reg": 0.0005,
    "num_layers": 2,
    "ff_size": 128,
    "max_distance": 128,
    "num_buckets": 128,
    "audio_latent_dim": 256,
    "first3": False,
    "eye": "True",
    "activation": "gelu",
    "dropout": 0.1,
    "modeltype": "cvae",
    "archiname": "transformerreemb5",
    "losses": ("rc", "kl", "reg"),
    "lambdas": {"rc": 1.0, "kl": 0.004, "reg": 0.0005},
}


def _audio(frames: int, dim: int = 1024, seed: int = 0) -> torch.Tensor:
    return torch.randn(1, frames, dim, generator=torch.Generator().manual_seed(seed))


def _random_model(config: PBNetConfig, seed: int = 0) -> PBNet:
    torch.manual_seed(seed)
    model = PBNet(config).eval()
    with torch.no_grad():  # biases are zero at construction; make every entry matter
        for name, tensor in model.named_parameters():
            if not name.endswith("freqs"):
                tensor.add_(0.2 * torch.randn_like(tensor))
    return model


# ---- options files -------------------------------------------------------------------
MALICIOUS = [
    "archiname: !!python/object/apply:os.system ['touch {marker}']\n",
    "archiname: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n",
    "x: !!python/name:os.system\n",
    "x: !!python/module:os\n",
    "!!python/object/apply:builtins.exec [\"open('{marker}', 'w').write('x')\"]\n",
]


@pytest.mark.parametrize("template", MALICIOUS)
def test_malicious_options_are_rejected_without_running_anything(tmp_path: Path, template: str) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "pose"
    folder.mkdir()
    (folder / "opt.yaml").write_text(template.format(marker=marker))
    with pytest.raises(PBNetOptionsError, match="refusing|python"):
        read_options(folder / "opt.yaml")
    with pytest.raises(PBNetOptionsError):
        load_pbnet(folder, "pose")
    assert not marker.exists()


def test_harmless_python_tags_are_read_as_plain_data() -> None:
    text = (
        yaml.dump({**PUBLISHED_STYLE_OPTIONS, "shape": (1, 2)})
        + "device: !!python/object/apply:torch.device\n- cuda\n- 0\n"
    )
    assert "!!python/tuple" in text
    options = parse_options(text)
    assert options["losses"] == ("rc", "kl", "reg")
    assert options["device"] == "cuda:0"
    assert config_from_options(options, "pose") == POSE


def test_unknown_tags_and_non_mappings_are_clear_errors() -> None:
    with pytest.raises(PBNetOptionsError, match="constructor|tag"):
        parse_options("x: !custom 3\n")
    with pytest.raises(PBNetOptionsError, match="mapping"):
        parse_options("- 1\n- 2\n")
    with pytest.raises(PBNetOptionsError, match="not valid YAML"):
        parse_options("a: [1, 2\n")


def test_missing_or_oversized_options_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PBNetOptionsError, match="options file not found"):
        read_options(tmp_path / "opt.yaml")
    (tmp_path / "opt.yaml").write_text("# padding\n" * 200_000)
    with pytest.raises(PBNetOptionsError, match="too large"):
        read_options(tmp_path / "opt.yaml")


def test_unsupported_architecture_lists_supported_ones() -> None:
    options = {**PUBLISHED_STYLE_OPTIONS, "archiname": "transformerreemb8"}
    with pytest.raises(PBNetOptionsError, match="transformerreemb8.*supported: transformerreemb5") as info:
        config_from_options(options, "pose")
    assert all(name in str(info.value) for name in SUPPORTED_ARCHITECTURES)
    assert config_from_options(options, "pose", architecture="transformerreemb5") == POSE
    with pytest.raises(PBNetOptionsError, match="model type 'vae'"):
        config_from_options({**PUBLISHED_STYLE_OPTIONS, "modeltype": "vae"}, "pose")


def test_architecture_is_taken_from_modelname_when_not_given() -> None:
    options = {k: v for k, v in PUBLISHED_STYLE_OPTIONS.items() if k not in ("archiname", "modeltype")}
    assert config_from_options(options, "blink").signal_dim == 2
    options["modelname"] = "cvae_transformerreemb6_rc_kl_reg"
    with pytest.raises(PBNetOptionsError, match="transformerreemb6"):
        config_from_options(options, "blink")


def test_missing_options_take_the_reference_constructor_defaults() -> None:
    config = config_from_options({"archiname": "transformerreemb5"}, "pose")
    assert (config.num_layers, config.ff_size, config.num_buckets, config.max_distance) == (4, 1024, 32, 32)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"latent_dim": 128}, "latent_dim"),
        ({"num_layers": 0}, "num_layers"),
        ({"ff_size": "big"}, "ff_size"),
        ({"dropout": "x"}, "dropout"),
        ({"activation": "swish"}, "activation"),
    ],
)
def test_invalid_option_values_name_the_option(change: dict, message: str) -> None:
    with pytest.raises(PBNetOptionsError, match=message):
        config_from_options({**PUBLISHED_STYLE_OPTIONS, **change}, "pose")


def test_config_rejects_inconsistent_widths() -> None:
    with pytest.raises(PBNetConfigError, match="divisible"):
        PBNetConfig(pose_latent_dim=63)


# ---- files -----------------------------------------------------------------------------
def test_published_layout_written_like_the_reference_loads(tmp_path: Path) -> None:
    """An opt.yaml dumped the reference's way plus ``torch.save(model.state_dict())`` loads strictly."""
    reference = _random_model(POSE)
    folder = model_dir(tmp_path, "pose")
    folder.mkdir(parents=True)
    (folder / "opt.yaml").write_text(yaml.dump(PUBLISHED_STYLE_OPTIONS))
    torch.save(OrderedDict(reference.state_dict()), folder / "checkpoint_40000.pth.tar")
    assert folder.as_posix().endswith("pbnet_seperate/pose")

    loaded = load_pbnet(folder, "pose")
    assert not loaded.training
    assert loaded.config == POSE
    audio = _audio(12)
    initial = torch.rand(1, 6)
    noise = torch.randn(12, 1, 256)
    torch.testing.assert_close(
        loaded.generate(initial, audio, noise=noise),
        reference.generate(initial, audio, noise=noise),
        rtol=0,
        atol=0,
    )


def test_save_then_load_round_trip_in_published_format(tmp_path: Path) -> None:
    pose, blink = _random_model(TINY_POSE, 1), _random_model(TINY_BLINK, 2)
    folder = save_pbnet_pair(pose, blink, tmp_path)
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    assert written == ["blink", "blink/checkpoint_95000.pth.tar", "blink/opt.yaml",
                       "pose", "pose/checkpoint_40000.pth.tar", "pose/opt.yaml"]  # fmt: skip
    state = torch.load(folder / "pose" / "checkpoint_40000.pth.tar", weights_only=True)
    assert isinstance(state, dict) and list(state) == list(pose.state_dict())
    assert parse_options((folder / "blink" / "opt.yaml").read_text())["archiname"] == "transformerreemb5"

    loaded_pose, loaded_blink = load_pbnet_pair(tmp_path)
    assert loaded_pose.config == TINY_POSE and loaded_blink.config == TINY_BLINK
    audio = _audio(9)
    results = [
        generate_pose_blink(
            p,
            b,
            torch.tensor([5.0, -3.0, 1.0, 5e-4, 60.0, 70.0, -60.0]),
            torch.tensor([0.3, 0.28]),
            audio,
            generator=torch.Generator().manual_seed(7),
        )
        for p, b in ((pose, blink), (loaded_pose, loaded_blink))
    ]
    torch.testing.assert_close(results[0].dri_pose, results[1].dri_pose, rtol=0, atol=0)
    torch.testing.assert_close(results[0].dri_blink, results[1].dri_blink, rtol=0, atol=0)


def test_written_options_describe_the_config_with_reference_keys_only_at_published_size() -> None:
    extensions = {"num_heads", "pose_latent_dim", "dim_head", "pe_max_len", "audio_dim"}
    for config, kind in ((POSE, "pose"), (BLINK, "blink"), (TINY_POSE, "pose"), (TINY_BLINK, "blink")):
        text = yaml.safe_dump(options_for_config(config))
        options = parse_options(text)
        assert config_from_options(options, kind) == config
        assert bool(set(options) & extensions) == (config in (TINY_POSE, TINY_BLINK))


def test_checkpoint_mismatches_name_file_and_key(tmp_path: Path) -> None:
    save_pbnet(_random_model(TINY_POSE), tmp_path, "pose")
    options = read_options(tmp_path / "opt.yaml")

    (tmp_path / "opt.yaml").write_text(yaml.safe_dump({**options, "num_layers": 3}))
    with pytest.raises(CheckpointError, match="num_layers = 3"):
        load_pbnet(tmp_path, "pose")

    (tmp_path / "opt.yaml").write_text(yaml.safe_dump({**options, "ff_size": 32}))
    with pytest.raises(CheckpointError, match=r"linear1\.weight") as info:
        load_pbnet(tmp_path, "pose")
    assert "checkpoint_40000.pth.tar" in str(info.value)

    (tmp_path / "opt.yaml").write_text(yaml.safe_dump(options))
    with pytest.raises(CheckpointError, match="6 values per frame \\(pose model\\).*swapped"):
        load_pbnet(tmp_path, "blink", checkpoint=tmp_path / "checkpoint_40000.pth.tar")


def test_checkpoint_discovery_errors(tmp_path: Path) -> None:
    save_pbnet(_random_model(TINY_BLINK), tmp_path, "blink", checkpoint_name="checkpoint_5.pth.tar")
    assert load_pbnet(tmp_path, "blink").config == TINY_BLINK
    (tmp_path / "checkpoint_6.pth.tar").write_bytes((tmp_path / "checkpoint_5.pth.tar").read_bytes())
    with pytest.raises(CheckpointError, match="Several"):
        load_pbnet(tmp_path, "blink")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "opt.yaml").write_text("archiname: transformerreemb5\n")
    with pytest.raises(CheckpointError, match="No PBNet pose checkpoint"):
        load_pbnet(empty, "pose")


def test_pickled_objects_in_checkpoint_are_refused(tmp_path: Path) -> None:
    save_pbnet(_random_model(TINY_POSE), tmp_path, "pose")
    torch.save({"weights": PBNetConfig()}, tmp_path / "checkpoint_40000.pth.tar")
    with pytest.raises(CheckpointError, match="refusing"):
        load_pbnet(tmp_path, "pose")


# ---- building blocks --------------------------------------------------------------------
def test_bucket_table_matches_the_spec() -> None:
    bias = RelativePositionBias(4, 128, 128, window=200)
    distance = torch.arange(0, 200)
    past = bias.buckets(distance, torch.zeros(1, dtype=torch.long))[:, 0]
    expected = {
        0: 0,
        31: 31,
        32: 32,
        33: 32,
        34: 33,
        54: 44,
        56: 44,
        57: 45,
        118: 62,
        122: 62,
        123: 63,
        199: 63,
    }
    assert {m: int(past[m]) for m in expected} == expected
    future = bias.buckets(torch.zeros(1, dtype=torch.long), distance)[0]
    assert int(future[1]) == 65 and int(future[40]) == 37 + 64 and int(future[150]) == 127
    small = RelativePositionBias(4, 32, 32, window=None)
    past = small.buckets(torch.arange(40), torch.zeros(1, dtype=torch.long))[:, 0]
    assert [int(past[m]) for m in (7, 8, 9, 10, 16, 19, 20, 23, 26, 27, 39)] == [
        7,
        8,
        8,
        9,
        12,
        12,
        13,
        14,
        14,
        15,
        15,
    ]


def test_window_mask_only_in_eval_mode() -> None:
    bias = RelativePositionBias(2, 16, 16, window=3).eval()
    pos = torch.arange(8)
    assert (bias(pos, pos)[:, 0, 4] < -1e7).all() and (bias(pos, pos)[:, 0, 3] > -1e7).all()
    bias.train()
    assert (bias(pos, pos) > -1e7).all()


def test_rotary_rotates_interleaved_pairs_of_the_first_channels() -> None:
    rotary = RotaryEmbedding(4)
    x = torch.arange(1.0, 9.0).reshape(1, 8).repeat(3, 1)
    out = rotary.rotate(x, torch.arange(3))
    torch.testing.assert_close(out[0], x[0])
    torch.testing.assert_close(out[:, 4:], x[:, 4:])
    angle = torch.tensor(2.0)  # position 2, first pair frequency 1.0
    torch.testing.assert_close(out[2, 0], 1 * angle.cos() - 2 * angle.sin())
    torch.testing.assert_close(out[2, 1], 2 * angle.cos() + 1 * angle.sin())
    angle = torch.tensor(0.02)  # second pair frequency 0.01
    torch.testing.assert_close(out[2, 2], 3 * angle.cos() - 4 * angle.sin())


def test_blocked_window_attention_equals_the_full_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    config = dataclasses.replace(TINY_POSE, attention_window=5)
    model = _random_model(config)
    audio, noise, initial = _audio(41), torch.randn(41, 1, config.latent_dim), torch.rand(1, 6)
    full = model.generate(initial, audio, noise=noise)
    monkeypatch.setattr(pbnet_layers, "ATTENTION_BLOCK", 7)
    blocked = model.generate(initial, audio, noise=noise)
    torch.testing.assert_close(blocked, full, rtol=1e-5, atol=1e-6)


def test_window_changes_only_sequences_longer_than_it() -> None:
    config = dataclasses.replace(TINY_POSE, attention_window=4, dropout=0.0)
    model = _random_model(config)
    for frames, differs in ((5, False), (14, True)):
        audio, noise, initial = _audio(frames), torch.randn(frames, 1, config.latent_dim), torch.rand(1, 6)
        model.eval()
        evaluated = model.generate(initial, audio, noise=noise)
        model.train()
        trained = model.generate(initial, audio, noise=noise)
        assert (not torch.allclose(evaluated, trained, atol=1e-6)) == differs


def test_max_distance_changes_outputs_with_the_same_weights() -> None:
    model = _random_model(TINY_POSE)
    other = PBNet(dataclasses.replace(TINY_POSE, max_distance=64)).eval()
    other.load_state_dict(model.state_dict())
    audio, noise, initial = _audio(60), torch.randn(60, 1, TINY_POSE.latent_dim), torch.rand(1, 6)
    assert not torch.allclose(
        model.generate(initial, audio, noise=noise), other.generate(initial, audio, noise=noise)
    )


def test_padded_frames_are_zero_and_init_stage_is_constant() -> None:
    model = _random_model(TINY_BLINK)
    audio = torch.cat((_audio(10), _audio(10, seed=1)))
    out = model.generate(
        torch.rand(2, 2),
        audio,
        noise=torch.randn(10, 2, TINY_BLINK.latent_dim),
        lengths=torch.tensor([10, 6]),
    )
    assert out.shape == (2, 10, 2)
    assert (out[1, 6:] == 0).all() and (out[1, :6] != 0).any()
    decoder = model.decoder
    queries = decoder.init_proj(torch.zeros(1, 10, TINY_BLINK.pose_latent_dim))
    refined = decoder.init_temporal_attn(queries, decoder.time_rel_pos_bias_tgt)
    torch.testing.assert_close(refined, refined[:, :1].expand_as(refined), rtol=0, atol=1e-6)


def test_noise_generator_fact_and_input_checks() -> None:
    model = _random_model(TINY_POSE)
    audio, initial = _audio(8), torch.rand(1, 1, 6)
    first = model.generate(initial, audio, generator=torch.Generator().manual_seed(3))
    again = model.generate(initial, audio, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    noise = model.draw_noise(8, 1, torch.Generator().manual_seed(3))
    torch.testing.assert_close(model.generate(initial, audio, noise=noise), first, rtol=0, atol=0)
    torch.testing.assert_close(
        model.generate(initial, audio, noise=noise, fact=0.0),
        model.generate(initial, audio, noise=torch.zeros_like(noise)),
        rtol=0,
        atol=0,
    )
    with pytest.raises(ValueError, match="audio features of shape"):
        model.generate(initial, _audio(8, dim=512))
    with pytest.raises(ValueError, match="initial state"):
        model.generate(torch.rand(1, 2), audio)
    with pytest.raises(ValueError, match="noise must have shape"):
        model.generate(initial, audio, noise=torch.randn(7, 1, TINY_POSE.latent_dim))


def test_encoder_gives_per_frame_posterior() -> None:
    model = _random_model(TINY_POSE)
    mu, logvar = model.encoder(
        torch.rand(2, 7, 6), _audio(7).repeat(2, 1, 1), torch.ones(2, 7, dtype=torch.bool)
    )
    assert mu.shape == logvar.shape == (2, 7, TINY_POSE.latent_dim)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_matches_cpu_with_the_same_seed() -> None:
    model = _random_model(POSE)
    audio, initial = _audio(300), torch.rand(1, 6)
    on_cpu = model.generate(initial, audio, generator=torch.Generator().manual_seed(11))
    on_gpu = model.to("cuda").generate(
        initial.cuda(), audio.cuda(), generator=torch.Generator().manual_seed(11)
    )
    assert on_gpu.device.type == "cuda"
    # GPU kernels sum in another order: on an H200 (2026-12-04) 22 of 1800 values differed by up to 6.4e-4.
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-3, atol=1e-3)
