"""Motion stage: each control does what its name says; determinism; creator curves and their files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from support.conformance import fill_module

from dawn_studio.networks.pbnet import TINY_BLINK, TINY_POSE, PBNet, generate_pose_blink
from dawn_studio.stages.motion import (
    BLINK_DELTA_LIMIT,
    POSE_DELTA_LIMITS,
    MotionControls,
    MotionError,
    MotionSequences,
    PortraitState,
    apply_controls,
    generate_motion,
    generate_raw_motion,
    read_curve,
    validate_curve,
    with_curve,
    write_curve,
)

FRAMES = 48
PORTRAIT = PortraitState.from_preprocessing(
    [[-9.69, 9.18, 2.17, 4.59e-4, 56.5, 71.5, -66.7]],
    [[0.27, 0.29, 121, 331, 112, 437, 450, 450]],
)


def _model(config) -> PBNet:
    model = PBNet(config).eval()
    names = [k for k in model.state_dict() if k.endswith(("freqs", ".pe"))]
    fill_module(model, names)
    with torch.no_grad():  # fill-rule weights move far; keep the motion in a talking-head-like range
        model.decoder.finallayer.weight.mul_(0.002)
        model.decoder.finallayer.bias.zero_()
    return model


@pytest.fixture(scope="module")
def models() -> tuple[PBNet, PBNet]:
    return _model(TINY_POSE), _model(TINY_BLINK)


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return np.random.default_rng(5).standard_normal((FRAMES, TINY_POSE.audio_dim)).astype(np.float32)


@pytest.fixture(scope="module")
def raw(models, audio) -> MotionSequences:
    return generate_raw_motion(*models, audio, PORTRAIT, seed=3)


def _synthetic_raw(pose_step: float, blink_step: float) -> MotionSequences:
    ramp = np.linspace(-1.0, 1.0, FRAMES)[:, None]
    return MotionSequences(
        PORTRAIT.pose + pose_step * ramp * np.array([1, 1, 1, 1e-5, 1, 1]), PORTRAIT.blink + blink_step * ramp
    )


# ---- controls ------------------------------------------------------------------------------
def test_defaults_reproduce_raw_output_exactly(raw: MotionSequences) -> None:
    shaped = apply_controls(raw, PORTRAIT, MotionControls())
    assert np.array_equal(shaped.pose, raw.pose) and np.array_equal(shaped.blink, raw.blink)
    assert raw.pose.shape == (FRAMES, 6) and raw.blink.shape == (FRAMES, 2)
    assert np.ptp(raw.pose, axis=0).min() > 0 and np.ptp(raw.blink, axis=0).min() > 0


@pytest.mark.parametrize(
    "controls", [MotionControls(head_motion=0.0), MotionControls(still_head=True, head_motion=2.0)]
)
def test_still_head_gives_the_portrait_pose_on_every_frame(raw: MotionSequences, controls) -> None:
    shaped = apply_controls(raw, PORTRAIT, controls)
    assert np.array_equal(shaped.pose, np.tile(PORTRAIT.pose, (FRAMES, 1)))
    assert np.array_equal(shaped.blink, raw.blink)


def test_blink_zero_keeps_the_portrait_eyes(raw: MotionSequences) -> None:
    shaped = apply_controls(raw, PORTRAIT, MotionControls(blink_strength=0.0))
    assert np.array_equal(shaped.blink, np.tile(PORTRAIT.blink, (FRAMES, 1)))
    assert np.array_equal(shaped.pose, raw.pose)


def test_rotation_and_translation_strengths_act_on_their_columns(raw: MotionSequences) -> None:
    shaped = apply_controls(raw, PORTRAIT, MotionControls(rotation_strength=0.0))
    assert np.array_equal(shaped.pose[:, :3], np.tile(PORTRAIT.pose[:3], (FRAMES, 1)))
    assert np.array_equal(shaped.pose[:, 3:], raw.pose[:, 3:])
    shaped = apply_controls(raw, PORTRAIT, MotionControls(translation_strength=0.0))
    assert np.array_equal(shaped.pose[:, 3:], np.tile(PORTRAIT.pose[3:], (FRAMES, 1)))
    assert np.array_equal(shaped.pose[:, :3], raw.pose[:, :3])


def test_half_strength_halves_the_deviation(raw: MotionSequences) -> None:
    shaped = apply_controls(raw, PORTRAIT, MotionControls(head_motion=0.5, blink_strength=0.5))
    np.testing.assert_allclose(
        shaped.pose - PORTRAIT.pose, 0.5 * (raw.pose - PORTRAIT.pose), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(shaped.blink - PORTRAIT.blink, 0.5 * (raw.blink - PORTRAIT.blink), atol=1e-6)
    combined = apply_controls(raw, PORTRAIT, MotionControls(head_motion=0.5, rotation_strength=0.5))
    np.testing.assert_allclose(
        combined.pose[:, :3] - PORTRAIT.pose[:3],
        0.25 * (raw.pose[:, :3] - PORTRAIT.pose[:3]),
        rtol=1e-5,
        atol=1e-5,
    )


def test_amplified_motion_is_doubled_within_the_training_range() -> None:
    small = _synthetic_raw(pose_step=2.0, blink_step=0.05)
    shaped = apply_controls(small, PORTRAIT, MotionControls(head_motion=2.0, blink_strength=2.0))
    np.testing.assert_allclose(
        shaped.pose - PORTRAIT.pose, 2 * (small.pose - PORTRAIT.pose), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(shaped.blink - PORTRAIT.blink, 2 * (small.blink - PORTRAIT.blink), atol=1e-6)


def test_amplified_motion_is_clamped_to_the_training_range() -> None:
    large = _synthetic_raw(pose_step=12.0, blink_step=0.25)
    shaped = apply_controls(large, PORTRAIT, MotionControls(head_motion=2.0, blink_strength=2.0))
    deviation = np.abs(shaped.pose - PORTRAIT.pose)
    raw_deviation = np.abs(large.pose - PORTRAIT.pose)
    assert (deviation <= np.maximum(POSE_DELTA_LIMITS, raw_deviation) * (1 + 1e-6)).all()
    assert deviation[:, 0].max() == pytest.approx(24.0, rel=1e-5)  # 2 × 12° yaw is inside the 30° range
    assert deviation[:, 1].max() == pytest.approx(
        POSE_DELTA_LIMITS[1], rel=1e-5
    )  # 2 × 12° pitch capped at 20°
    assert deviation[:, 2].max() == pytest.approx(
        POSE_DELTA_LIMITS[2], rel=1e-5
    )  # 2 × 12° roll capped at 15°
    assert shaped.blink.min() >= 0.0  # eyes close at most fully
    assert np.abs(shaped.blink - PORTRAIT.blink).max() <= BLINK_DELTA_LIMIT + 1e-6


def test_clamping_never_cuts_the_models_own_motion() -> None:
    wild = _synthetic_raw(pose_step=80.0, blink_step=0.5)
    shaped = apply_controls(wild, PORTRAIT, MotionControls(head_motion=2.0, blink_strength=2.0))
    assert (
        np.abs(shaped.pose - PORTRAIT.pose)[:, 0].max()
        >= np.abs(wild.pose - PORTRAIT.pose)[:, 0].max() - 1e-4
    )


def test_variety_zero_is_the_deterministic_mean_motion(models, audio) -> None:
    first = generate_raw_motion(*models, audio, PORTRAIT, seed=1, variety=0.0)
    second = generate_raw_motion(*models, audio, PORTRAIT, seed=999, variety=0.0)
    assert np.array_equal(first.pose, second.pose) and np.array_equal(first.blink, second.blink)
    noisy = generate_raw_motion(*models, audio, PORTRAIT, seed=1, variety=1.0)
    assert not np.allclose(noisy.pose, first.pose)
    zero = torch.zeros(FRAMES, 1, TINY_POSE.latent_dim)
    mean = generate_pose_blink(*models, torch.from_numpy(PORTRAIT.pose), torch.from_numpy(PORTRAIT.blink),
                               torch.from_numpy(audio), pose_noise=zero, blink_noise=zero)  # fmt: skip
    assert np.array_equal(first.pose, mean.dri_pose.numpy())
    assert np.array_equal(first.blink, mean.dri_blink.numpy())


def test_variety_scales_the_latent_noise(models, audio) -> None:
    calm = generate_raw_motion(*models, audio, PORTRAIT, seed=4, variety=0.5)
    lively = generate_raw_motion(*models, audio, PORTRAIT, seed=4, variety=2.0)
    mean = generate_raw_motion(*models, audio, PORTRAIT, seed=4, variety=0.0)
    spread = [np.abs(seq.pose - mean.pose).mean() for seq in (calm, lively)]
    assert spread[1] > spread[0] > 0


def test_same_audio_seed_and_controls_give_identical_sequences(models, audio) -> None:
    controls = MotionControls(head_motion=1.4, blink_strength=0.7, variety=1.3, seed=77)
    first = generate_motion(*models, audio, PORTRAIT, controls)
    again = generate_motion(*models, audio, PORTRAIT, controls)
    assert np.array_equal(first.pose, again.pose) and np.array_equal(first.blink, again.blink)
    other = generate_motion(*models, audio, PORTRAIT, dataclasses.replace(controls, seed=78))
    assert not np.array_equal(first.pose, other.pose)


def test_generation_covers_long_audio(models) -> None:
    long_audio = np.random.default_rng(1).standard_normal((1500, TINY_POSE.audio_dim)).astype(np.float32)
    motion = generate_raw_motion(*models, long_audio, PORTRAIT)
    assert motion.frames == 1500 and np.isfinite(motion.pose).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"head_motion": 2.5}, "Head motion must be between 0 and 2"),
        ({"blink_strength": -0.1}, "Blink strength"),
        ({"variety": float("nan")}, "Variety must be a number"),
        ({"rotation_strength": "1"}, "Rotation strength must be a number"),
        ({"seed": -1}, "Seed"),
        ({"seed": 1.5}, "Seed"),
        ({"still_head": "yes"}, "Still head"),
    ],
)
def test_controls_out_of_range_are_explained(change: dict, message: str) -> None:
    with pytest.raises(MotionError, match=message):
        MotionControls(**change)


def test_controls_round_trip_through_settings() -> None:
    controls = MotionControls(head_motion=0.3, seed=5, still_head=True)
    assert MotionControls.from_dict(controls.to_dict()) == controls
    assert MotionControls.from_dict({}) == MotionControls()
    with pytest.raises(MotionError, match="Unknown motion control.*speed"):
        MotionControls.from_dict({"speed": 2})


def test_combined_factor_is_capped() -> None:
    controls = MotionControls(head_motion=2.0, rotation_strength=2.0, translation_strength=0.25)
    assert controls.rotation_factor == 2.0 and controls.translation_factor == 0.5


def test_bad_inputs_are_explained(models) -> None:
    with pytest.raises(MotionError, match="Portrait pose needs 6 values"):
        PortraitState(np.zeros(5), np.zeros(2))
    with pytest.raises(MotionError, match="infinite"):
        PortraitState(np.array([0, 0, np.inf, 5e-4, 60, 60]), np.zeros(2))
    with pytest.raises(MotionError, match="Audio features"):
        generate_raw_motion(*models, np.zeros(10), PORTRAIT)
    with pytest.raises(MotionError, match="Pose has 3 frames but blink has 4"):
        MotionSequences(np.zeros((3, 6)), np.zeros((4, 2)))


# ---- curves set by hand ------------------------------------------------------------------------
def _pose_curve(frames: int = FRAMES) -> np.ndarray:
    t = np.arange(frames)[:, None]
    return (PORTRAIT.pose + np.sin(t / 5.0) * np.array([5, 3, 1, 1e-5, 2, 2])).astype(np.float32)


def test_creator_curves_replace_generated_ones(raw: MotionSequences) -> None:
    curve = _pose_curve()
    edited = with_curve(raw, "pose", curve)
    assert np.array_equal(edited.pose, curve) and np.array_equal(edited.blink, raw.blink)
    eyes = np.full((FRAMES, 2), 0.25)
    assert np.array_equal(with_curve(raw, "blink", eyes).blink, eyes.astype(np.float32))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.zeros((FRAMES - 1, 6)), "47 frames but the speech has 48 frames"),
        (np.zeros((6, FRAMES)), "transposed"),
        (np.zeros((FRAMES, 5)), "6 columns"),
        (np.where(np.arange(FRAMES)[:, None] == 3, np.nan, _pose_curve()), "frame 3"),
        (_pose_curve() * np.array([1, 1, 1, 2000, 1, 1]), "'scale' value .* expected units: 3DDFA scale"),
        (
            _pose_curve() * np.array([np.pi / 180, 1, 1, 1, 1, 1]) + np.array([100, 0, 0, 0, 0, 0]),
            "'yaw' value",
        ),
        ([["a"] * 6] * FRAMES, "table of numbers"),
    ],
)
def test_invalid_pose_curves_are_explained(values, message: str) -> None:
    with pytest.raises(MotionError, match=message):
        validate_curve(values, "pose", FRAMES)


def test_blink_curves_are_checked_for_units() -> None:
    with pytest.raises(MotionError, match="'eye_right' value 30 .* eye-opening ratio"):
        validate_curve(np.tile([0.3, 30.0], (FRAMES, 1)), "blink", FRAMES)
    with pytest.raises(MotionError, match="Unknown curve kind"):
        validate_curve(np.zeros((FRAMES, 2)), "mouth", FRAMES)


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_curve_files_round_trip(tmp_path: Path, suffix: str) -> None:
    curve = _pose_curve()
    path = write_curve(tmp_path / f"pose{suffix}", curve, "pose")
    assert np.array_equal(read_curve(path, "pose", FRAMES), curve)


def test_csv_with_named_columns_in_any_order_and_extra_columns(tmp_path: Path) -> None:
    eyes = np.column_stack((np.linspace(0.3, 0.1, FRAMES), np.linspace(0.28, 0.05, FRAMES)))
    lines = ["frame,Eye_Right,eye_left"] + [f"{i},{r},{left}" for i, (left, r) in enumerate(eyes)]
    path = tmp_path / "eyes.csv"
    path.write_text("\n".join(lines) + "\n")
    np.testing.assert_allclose(read_curve(path, "blink", FRAMES), eyes, rtol=1e-6)
    headerless = tmp_path / "plain.csv"
    headerless.write_text("\n".join(f"{left},{r}" for left, r in eyes))
    np.testing.assert_allclose(read_curve(headerless, "blink", FRAMES), eyes, rtol=1e-6)


def test_curve_file_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(MotionError, match="not found"):
        read_curve(tmp_path / "nope.csv", "pose", FRAMES)
    bad = tmp_path / "bad.csv"
    bad.write_text("yaw,pitch\n1,2\n")
    with pytest.raises(MotionError, match="no column.*roll"):
        read_curve(bad, "pose", FRAMES)
    bad.write_text("0.3,0.3\n0.3,x\n")
    with pytest.raises(MotionError, match="line 2"):
        read_curve(bad, "blink", FRAMES)
    short = tmp_path / "short.npy"
    np.save(short, _pose_curve(10))
    with pytest.raises(MotionError, match="short.npy: .*10 frames"):
        read_curve(short, "pose", FRAMES)
    pickled = tmp_path / "obj.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(MotionError, match="not a readable NumPy array"):
        read_curve(pickled, "pose", FRAMES)
    other = tmp_path / "pose.json"
    other.write_text("{}")
    with pytest.raises(MotionError, match="Unsupported curve file type"):
        read_curve(other, "pose", FRAMES)
