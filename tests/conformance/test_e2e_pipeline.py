"""The whole product pipeline against recorded runs of the reference: every ``e2e_pipeline`` fixture.

For each fixture the model store is built from the fill rule (``index.e2e.json`` common.model_store),
its state digests are checked, and ``Engine.run`` — the function the studio and ``dawn-studio render``
call — runs with the ``reference`` preset and the fixture's recorded draws. Every hand-over the
fixture holds is compared with what the engine reports, and the final uint8 frames within one step.
All settings (size, DDIM steps, frame cap, guidance) come from the fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from support.conformance import fixture_params, load_fixture
from support.e2e import E2EStore, as_tensor, build_store, compare_run, recorded_draws, write_inputs

from dawn_studio.engine.draws import RecordedDraws
from dawn_studio.engine.engine import Engine, GenerationResult
from dawn_studio.engine.job import Job
from dawn_studio.engine.presets import REFERENCE_MAX_FRAMES
from dawn_studio.networks import a2v

KIND = "e2e_pipeline"
_STORES: dict[Path, tuple[dict, E2EStore, Path]] = {}
_RUNS: dict[Path, tuple[dict, dict[str, torch.Tensor], GenerationResult]] = {}


class _StopAfter(Exception):
    """Ends an observed run once the hand-over a test needs has been reported."""


def _reference_job(fixture: dict, folder: Path, face_loc: Path) -> Job:
    config = fixture["config"]
    size = int(config["resolution"])
    settings = config.get(f"dawn_{size}_yaml", {})
    assert int(settings.get("max_n_frames", REFERENCE_MAX_FRAMES)) == REFERENCE_MAX_FRAMES
    published = a2v.DAWN_128 if size == 128 else a2v.DAWN_256
    assert int(settings.get("win_width", published.unet.win_width)) == published.unet.win_width
    assert float(settings.get("ddim_sampling_eta", 1.0)) == published.diffusion.ddim_eta
    portrait, audio = write_inputs(fixture, folder / "inputs")
    return Job(portrait=str(portrait), audio=str(audio), resolution=size,
               steps=int(config.get("ddim_steps", settings.get("sampling_step"))),
               guidance_scale=float(settings.get("cond_scale", 1.0)), device="cpu", precision="float32",
               preset="reference", face_loc_weights=str(face_loc))


def _observer(into: dict[str, torch.Tensor], stop_after: str | None = None):
    def observe(name: str, value) -> None:
        into[name] = as_tensor(value)
        if name == stop_after:
            raise _StopAfter(name)
    return observe


def _store(path: Path, tmp_path_factory) -> tuple[dict, E2EStore, Path]:
    """The fixture, its model store (state digests checked) and a work folder, built once per fixture."""
    if path not in _STORES:
        fixture = load_fixture(path)
        folder = tmp_path_factory.mktemp(f"e2e-{path.stem}")
        store = build_store(fixture, folder / "models")
        for section, digest in fixture.get("state_digests", {}).items():
            assert store.digests.get(section) == digest, f"{section}: the fill rule built other tensors"
        _STORES[path] = (fixture, store, folder)
    return _STORES[path]


def _run(path: Path, tmp_path_factory) -> tuple[dict, dict[str, torch.Tensor], GenerationResult]:
    """One reference-preset run with the recorded draws per fixture, shared by the tests below."""
    if path not in _RUNS:
        fixture, store, folder = _store(path, tmp_path_factory)
        observed: dict[str, torch.Tensor] = {}
        result = Engine(store.root).run(_reference_job(fixture, folder, store.face_loc_weights), previews=False,
                                        draws=RecordedDraws.in_draw_order(recorded_draws(fixture)),
                                        observe=_observer(observed))
        _RUNS[path] = (fixture, observed, result)
    return _RUNS[path]


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params(KIND))
def test_engine_run_reproduces_the_reference_pipeline(path, tmp_path_factory):
    fixture, observed, result = _run(path, tmp_path_factory)
    failures = compare_run(fixture, observed)
    assert not failures, "\n".join(failures)
    assert torch.equal(torch.from_numpy(result.frames), observed["frames_rgb"])
    assert result.num_frames == int(fixture["config"].get("num_frames", result.num_frames))


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params(KIND))
def test_comparison_fails_on_a_perturbed_expected_entry(path, tmp_path_factory):
    """One value of one entry moved just past the tolerance (or by 2 steps for the uint8 frames)."""
    fixture, observed, _ = _run(path, tmp_path_factory)
    for name in ("init_eye_bbox", "a2v.cond", "a2v.sample_bbox", "frames_rgb"):
        if name not in fixture["expected"]:
            continue
        entry = fixture["expected"][name].clone()
        flat = entry.view(-1)
        middle = flat.numel() // 2
        if entry.dtype == torch.uint8:
            flat[middle] = (int(flat[middle]) + 2) % 256
        else:
            flat[middle] += 2 * fixture["tolerance"]["rtol"] * max(1.0, float(entry.abs().max()))
        failures = compare_run({**fixture, "expected": {**fixture["expected"], name: entry}}, observed)
        assert [f for f in failures if f.startswith(f"{name}:")], f"a change in {name} went unnoticed"
        assert len(failures) == 1, failures


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params(KIND))
def test_engine_run_with_a_perturbed_draw_differs(path, tmp_path_factory):
    """One value of the recorded pose latent changed: the run (stopped after PBNet) no longer matches."""
    fixture, store, folder = _store(path, tmp_path_factory)
    draws = recorded_draws(fixture)
    draws[0] = draws[0].clone()
    draws[0][draws[0].shape[0] // 2, 0, 0] += 0.5
    observed: dict[str, torch.Tensor] = {}
    with pytest.raises(_StopAfter):
        Engine(store.root).run(_reference_job(fixture, folder, store.face_loc_weights), previews=False,
                               draws=RecordedDraws.in_draw_order(draws), observe=_observer(observed, "dri_pose"))
    checked = {"init_pose", "init_eye_bbox", "target_audio", "pbnet.pose_in", "pbnet.output_pose", "dri_pose"}
    failures = compare_run({**fixture, "expected": {k: v for k, v in fixture["expected"].items() if k in checked}},
                           observed)
    assert sorted(f.split(":")[0] for f in failures) == ["dri_pose", "pbnet.output_pose"], failures
