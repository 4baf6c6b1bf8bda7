"""``dawn-studio bench`` and the measuring code behind it, on tiny networks (no timing assertions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dawn_studio.cli import main
from dawn_studio.engine.benchmark import BenchmarkError, BenchSettings, MemoryProbe, run_benchmark
from dawn_studio.engine.models import autocast, precision_name, resolve_precision

STAGES = ["load", "speech", "motion", "diffusion", "render", "compose"]


def _check_stage(stage: dict, frames: int) -> None:
    assert stage["seconds"] > 0
    assert stage["peak_memory_bytes"] is None or stage["peak_memory_bytes"] > 0
    if stage["frames"]:
        assert stage["frames"] == frames
        assert stage["fps"] == pytest.approx(frames / stage["seconds"])
    else:
        assert stage["fps"] is None


def test_bench_command_writes_consistent_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--tiny", "--frames", "12", "--steps", "3", "--baseline", "--baseline-steps", "1",
                 "--baseline-frames", "2", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "diffusion + render" in printed and "reference path" in printed
    data = json.loads(out.read_text())
    assert data["tool"] == "dawn-studio bench"
    assert data["settings"]["frames"] == 12 and data["settings"]["weights"] == "tiny"
    assert data["device"]["torch_device"] == "cpu" and data["device"]["precision"] == "float32"
    assert data["device"]["cpu"] and data["device"]["threads"] >= 1
    assert [s["name"] for s in data["stages"]] == STAGES
    for stage in data["stages"]:
        _check_stage(stage, 12)
    steps = data["diffusion_step_seconds"]
    assert len(steps) == 3 and all(s > 0 for s in steps)
    diffusion = next(s for s in data["stages"] if s["name"] == "diffusion")
    assert sum(steps) <= diffusion["seconds"]
    generation = sum(s["seconds"] for s in data["stages"] if s["name"] in ("diffusion", "render"))
    assert data["generation_seconds"] == pytest.approx(generation)
    assert data["peak_memory_bytes"] == max(s["peak_memory_bytes"] for s in data["stages"])

    baseline = data["baseline"]
    assert "dense" in baseline["description"]
    assert [s["name"] for s in baseline["stages"]] == ["diffusion", "render"]
    for stage in baseline["stages"]:
        _check_stage(stage, 12)
        assert "extrapolated" in stage["note"]
    assert data["speedup"]["generation"] == pytest.approx(baseline["generation_seconds"] / generation)
    assert set(data["speedup"]) == {"diffusion", "render", "generation"}


def test_bench_with_a_model_folder_times_portrait_analysis(tiny_store, portrait_path):
    settings = BenchSettings(frames=6, steps=2, weights="store", models=tiny_store, portrait=portrait_path)
    lines: list[str] = []
    report = run_benchmark(settings, lines.append)
    names = [s.name for s in report.stages]
    assert names == ["load", "portrait", "speech", "motion", "diffusion", "render", "compose"]
    assert report.baseline == [] and report.to_dict()["baseline"] is None
    assert any("portrait" in line for line in lines)


def test_bench_times_the_face_enhancer_beside_the_other_stages(tiny_store, portrait_path, tmp_path, capsys):
    from dawn_studio.commands.bench import summary

    settings = BenchSettings(frames=4, steps=1, weights="store", models=tiny_store, portrait=portrait_path,
                             enhance=True)
    report = run_benchmark(settings)
    names = [s.name for s in report.stages]
    assert names == ["load", "portrait", "speech", "motion", "diffusion", "render", "align", "enhance", "compose"]
    enhance = report.stage("enhance")
    assert enhance is not None and enhance.frames == 4 and enhance.fps is not None
    assert report.frames is not None and report.frames.shape == (4, 512, 512, 3)
    assert report.enhancer_deviation is None, "float32 on a CPU: nothing to compare"
    assert "enhance" in summary(report)
    out = tmp_path / "bench.json"
    assert main(["bench", "--tiny", "--frames", "3", "--steps", "1", "--enhance", "--json", str(out)]) == 0
    stages = json.loads(out.read_text())["stages"]
    assert [s["name"] for s in stages] == [*STAGES[:-1], "enhance", "compose"]
    _check_stage(stages[-2], 3)


def test_bench_and_render_make_the_same_frames_for_the_same_job(tiny_store, portrait_path, speech_2s, tmp_path):
    """The benchmark measures the engine's own pipeline: with a job's inputs it makes the frames
    ``dawn-studio render`` makes, bit for bit."""
    from dawn_studio.engine.engine import Engine
    from dawn_studio.engine.job import Job
    from dawn_studio.stages.motion import MotionControls

    settings = BenchSettings(steps=3, weights="store", models=tiny_store, portrait=portrait_path,
                             audio=speech_2s, seed=7, device="cpu")
    report = run_benchmark(settings)
    assert report.settings.frames == 50 and [s.frames for s in report.stages][2:] == [50] * 5
    job = Job(portrait=str(portrait_path), audio=str(speech_2s), steps=3, device="cpu",
              motion=MotionControls(seed=7))
    rendered = Engine(tiny_store).run(job, previews=False).frames
    assert report.frames is not None and report.frames.shape == rendered.shape
    assert np.array_equal(report.frames, rendered)
    assert main(["bench", "--tiny", "--audio", str(speech_2s)]) == 2


def test_bench_refuses_bad_settings(capsys, tmp_path):
    with pytest.raises(BenchmarkError, match="frames"):
        BenchSettings(frames=0)
    with pytest.raises(BenchmarkError, match="model folder"):
        BenchSettings(weights="store")
    assert main(["bench", "--tiny", "--frames", "0"]) == 2
    assert "frames must be at least 1" in capsys.readouterr().err
    assert main(["bench", "--models", str(tmp_path / "missing")]) == 2
    assert main(["bench", "--tiny", "--portrait", str(tmp_path / "face.jpg")]) == 2


def test_precision_setting():
    assert resolve_precision("auto", "cpu") == torch.float32
    assert resolve_precision("auto", "cuda") == torch.float32
    assert resolve_precision("bfloat16", "cpu") == torch.bfloat16
    assert precision_name(resolve_precision("float16", "cuda")) == "float16"
    with pytest.raises(ValueError, match="Precision must be one of"):
        resolve_precision("int8", "cpu")
    with autocast(torch.device("cpu"), torch.bfloat16):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), torch.float32):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32


def test_bfloat16_bench_measures_its_deviation_from_float32():
    settings = BenchSettings(frames=5, steps=2, weights="tiny", precision="bfloat16", compare_float32=True)
    report = run_benchmark(settings)
    assert report.device["precision"] == "bfloat16"
    deviation = report.to_dict()["precision_deviation"]
    assert set(deviation) == {"flow_error_mean_px", "flow_error_max_px", "occlusion_error_mean",
                              "frames_psnr_db", "render_only_psnr_db"}
    assert 0 < deviation["flow_error_mean_px"] <= deviation["flow_error_max_px"]
    # bfloat16 rendering of the same flows stays close; the whole path differs visibly but not totally
    assert deviation["render_only_psnr_db"] > 40
    assert deviation["frames_psnr_db"] > 10
    float32 = run_benchmark(BenchSettings(frames=5, steps=1, weights="tiny", compare_float32=True))
    assert float32.precision_deviation is None  # nothing to compare with


def test_cpu_memory_probe_sees_a_new_peak():
    probe = MemoryProbe(torch.device("cpu"))
    probe.reset()
    before = probe.peak()
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB touched
    after = probe.peak()
    del block
    assert before is not None and after is not None
    assert after >= before + 48 * 2**20


def test_memory_check_is_linear_in_frames_and_names_the_longest_clip():
    from dawn_studio.device import ComputeDevice
    from dawn_studio.engine.memory import ClipTooLongError, check_fits, max_frames, required_bytes

    for resolution in (128, 256):
        per_frame = required_bytes(101, resolution) - required_bytes(100, resolution)
        assert per_frame > 0
        growth = required_bytes(400, resolution) - required_bytes(200, resolution)
        assert growth == pytest.approx(200 * per_frame, abs=2)
    assert required_bytes(200, 256) > required_bytes(200, 128)
    free = 8 * 2**30
    fits = max_frames(128, free)
    cpu = ComputeDevice("cpu", "CPU")
    check_fits(fits, 128, cpu, free=free)
    with pytest.raises(ClipTooLongError, match=f"at most {fits / 25:.1f} s"):
        check_fits(fits + 50, 128, cpu, free=free)


def test_memory_check_keeps_freed_memory_on_cpu_only_when_the_larger_peak_fits(monkeypatch):
    from dawn_studio import heap
    from dawn_studio.device import ComputeDevice
    from dawn_studio.engine.memory import HEADROOM, ClipTooLongError, check_fits, required_bytes

    monkeypatch.setattr(heap, "is_supported", lambda: True)
    cpu, cuda = ComputeDevice("cpu", "CPU"), ComputeDevice("cuda:0", "GPU")
    kept = required_bytes(200, 128, freed_memory_kept=True)
    default = required_bytes(200, 128)
    assert kept > default
    assert check_fits(200, 128, cpu, free=int(kept / HEADROOM) + 1) is True
    between = int((kept + default) / 2 / HEADROOM)
    assert check_fits(200, 128, cpu, free=between) is False  # fits, but only with the default heap
    assert check_fits(200, 128, cuda, free=int(kept / HEADROOM) + 1) is False  # GPUs cache their own memory
    with pytest.raises(ClipTooLongError):
        check_fits(200, 128, cpu, free=int(default / HEADROOM) - 2**20)
    monkeypatch.setattr(heap, "is_supported", lambda: False)
    assert check_fits(200, 128, cpu, free=int(kept / HEADROOM) + 1) is False


def test_memory_cap_is_applied_for_the_run_and_restored_after():
    import resource

    before = resource.getrlimit(resource.RLIMIT_DATA)
    report = run_benchmark(BenchSettings(frames=4, steps=1, weights="tiny", memory_cap_gib=64))
    assert report.to_dict()["memory_cap_bytes"] == 64 * 2**30
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    with pytest.raises(BenchmarkError, match="memory cap must be positive"):
        BenchSettings(memory_cap_gib=0)


def test_running_out_of_memory_under_the_cap_is_a_clear_error():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "dawn_studio", "bench", "--tiny", "--frames", "6", "--steps", "1",
         "--memory-cap", "0.3", "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "ran out of memory within the 0.3 GiB memory cap" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("std::bad_alloc"),
                                   RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to ...")])
def test_every_way_torch_reports_a_failed_allocation_counts_as_out_of_memory(error):
    from dawn_studio.engine.benchmark import _is_out_of_memory

    assert _is_out_of_memory(error)
    assert not _is_out_of_memory(RuntimeError("shape mismatch"))
