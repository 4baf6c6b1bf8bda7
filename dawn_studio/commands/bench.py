"""``dawn-studio bench``: time every stage of a generation on this machine, with peak memory and JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.job import PRECISIONS

if TYPE_CHECKING:  # the benchmark pulls in every network: imported only when the command runs
    from ..engine.benchmark import BenchReport, BenchSettings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="measure the speed and memory of every stage on this machine",
        description="Time model loading, portrait analysis (with --portrait), HuBERT, PBNet, each diffusion "
        "step, rendering and encoding for a clip of --frames frames, and report frames per second and peak "
        "memory per stage. Without --models the networks are built with random weights (timing does not "
        "depend on the values). --baseline also times the reference implementation's computation path on a "
        "few steps and frames, in a separate process with default allocator settings, and extrapolates it.",
    )
    parser.add_argument("--resolution", type=int, choices=(128, 256), default=128,
                        help="image size (default 128)")
    parser.add_argument("--frames", type=int, default=200, metavar="N", help="video frames, 25 per second "
                        "(default 200 = 8 s)")
    parser.add_argument("--steps", type=int, default=20, metavar="N", help="DDIM steps (default 20)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="diffusion and rendering precision (default auto: float32)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--models", type=Path, metavar="DIR", help="a model folder (real or tiny set)")
    source.add_argument("--tiny", action="store_true", help="tiny test widths with random weights")
    source.add_argument("--random-weights", action="store_true",
                        help="published widths with random weights (the default without --models)")
    parser.add_argument("--portrait", type=Path, metavar="IMAGE",
                        help="with --models: also time the portrait analysis of this photo and paste-back")
    parser.add_argument("--audio", type=Path, metavar="AUDIO",
                        help="with --models and --portrait: this speech instead of random samples, so that the "
                        "run is exactly the job `render` runs (the frame count comes from the speech)")
    parser.add_argument("--baseline", action="store_true", help="also time the reference's computation path")
    parser.add_argument("--baseline-steps", type=int, default=2, metavar="K",
                        help="denoiser steps of the reference path actually timed (default 2)")
    parser.add_argument("--baseline-frames", type=int, default=10, metavar="K",
                        help="per-frame renders of the reference path actually timed (default 10)")
    parser.add_argument("--compare-float32", action="store_true",
                        help="with bfloat16/float16: rerun in float32, report flow error and PSNR")
    parser.add_argument("--memory-cap", type=float, metavar="GIB",
                        help="run under this memory cap, e.g. 24 to check a clip fits a 24 GB GPU (CUDA: "
                        "allocator fraction; CPU: data-segment limit of the process)")
    parser.add_argument("--enhance", action="store_true",
                        help="also time the face enhancer (GFPGAN v1.4, batched, half precision on GPUs) on every "
                        "frame, and its deviation from float32 (with --models: the folder's enhancer weights)")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the random inputs and weights")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the measurements as JSON")
    parser.add_argument("--quiet", "-q", action="store_true", help="only the summary table")
    parser.set_defaults(func=run_bench)


def settings_from_args(args: argparse.Namespace) -> BenchSettings:
    from ..engine.benchmark import BenchSettings

    weights = "store" if args.models else "tiny" if args.tiny else "random"
    return BenchSettings(
        resolution=args.resolution, frames=args.frames, steps=args.steps, device=args.device,
        precision=args.precision, weights=weights, models=args.models, portrait=args.portrait, audio=args.audio,
        baseline=args.baseline, baseline_steps=args.baseline_steps, baseline_frames=args.baseline_frames,
        compare_float32=args.compare_float32, seed=args.seed, memory_cap_gib=args.memory_cap,
        enhance=args.enhance,
    )


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f} MiB"


def summary(report: BenchReport) -> str:
    """A plain-text table of the stages, with the reference path beside ours where it was timed."""
    data = report.to_dict()
    s = report.settings
    lines = [
        f"{data['device']['label']} ({data['device']['cpu']}, {data['device']['threads']} threads), "
        f"{data['device']['precision']}, torch {data['device']['torch']}, {data['date']}",
        f"{s.frames} frames at {s.resolution}², {s.steps} steps, {s.weights} weights; "
        f"memory: {report.memory_kind}; freed memory kept in the heap: "
        f"{'yes' if report.freed_memory_kept else 'no'}"
        + (f"; memory cap {s.memory_cap_gib:g} GiB" if s.memory_cap_gib is not None else ""),
        f"{'stage':<10} {'seconds':>9} {'frames/s':>9} {'peak mem':>10}"
        + (f" {'reference s':>12} {'speed-up':>9}" if report.baseline else ""),
    ]
    speedups = report.speedups()
    for stage in report.stages:
        row = (f"{stage.name:<10} {stage.seconds:>9.2f} {stage.fps or 0:>9.1f} "
               f"{_mib(stage.peak_memory_bytes):>10}")
        ref = report.stage(stage.name, report.baseline)
        if ref is not None:
            row += f" {ref.seconds:>12.2f} {speedups[stage.name]:>8.2f}×"
        lines.append(row)
    line = f"diffusion + render: {report.generation_seconds():.2f} s"
    if report.baseline:
        line += (f"; reference path {report.generation_seconds(report.baseline):.2f} s "
                 f"(extrapolated), {speedups.get('generation', 0):.2f}× faster")
    lines.append(line)
    if report.enhancer_deviation:
        deviation = report.enhancer_deviation.items()
        lines.append("face enhancer against float32: " + ", ".join(f"{k} {v:.4g}" for k, v in deviation))
    if report.precision_deviation:
        deviation = report.precision_deviation.items()
        lines.append("against float32: " + ", ".join(f"{k} {v:.4g}" for k, v in deviation))
    return "\n".join(lines)


def run_bench(args: argparse.Namespace) -> int:
    from ..engine.benchmark import BenchmarkError, run_benchmark
    from ..engine.models import ModelLoadError
    from ..loading.checkpoint import CheckpointError

    if args.portrait is not None and not args.models:
        print("Error: --portrait needs --models (face detection needs the real 3DDFA weights)",
              file=sys.stderr)
        return EXIT_USAGE
    if args.audio is not None and (not args.models or args.portrait is None):
        print("Error: --audio needs --models and --portrait", file=sys.stderr)
        return EXIT_USAGE
    if args.audio is not None and not args.audio.is_file():
        print(f"Error: the speech file {args.audio} does not exist", file=sys.stderr)
        return EXIT_USAGE
    if args.portrait is not None and not args.portrait.is_file():
        print(f"Error: the portrait {args.portrait} does not exist", file=sys.stderr)
        return EXIT_USAGE
    if args.models is not None and not args.models.is_dir():
        print(f"Error: the model folder {args.models} does not exist", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = settings_from_args(args)
    except BenchmarkError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def log(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    try:
        report = run_benchmark(settings, log)
    except (BenchmarkError, ModelLoadError, CheckpointError, ValueError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(summary(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return EXIT_OK
