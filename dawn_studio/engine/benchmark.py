"""Measuring the pipeline: time, frames per second and peak memory of every stage on one device.

Used by ``dawn-studio bench``. The networks come from a model folder (real or tiny set) or are
built at their published widths with random weights (the time of a network does not depend on
its values). With ``baseline`` the reference implementation's computation is timed beside ours, in
a process of its own with the default allocator settings: dense masked T×T temporal attention, the
275-channel first convolution over every frame, the reference's other formulations, and one LFG
call per frame that re-encodes the portrait. The baseline is slow, so only a few denoiser
steps and frames of it are timed and the totals extrapolated linearly (every DDIM step and every
per-frame render costs the same); the report says so.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from .. import heap
from ..device import ComputeDevice, resolve_device
from ..frame_rate import FPS
from ..networks import a2v, lfg
from ..networks.a2v import DDIMStep, FlowSequence, NoiseSource
from ..networks.pbnet import BLINK, FALLBACK_BLINK, FALLBACK_POSE, POSE, TINY_BLINK, TINY_POSE, PBNet
from ..stages.export import ExportSettings, export_video
from ..stages.motion import MotionControls, PortraitState, apply_controls, generate_raw_motion
from .job import Job
from .memory import ClipTooLongError, available_bytes, check_fits
from .models import (
    HUBERT_FOLDER,
    PORTRAIT_FOLDER,
    autocast,
    precision_name,
    published_architecture,
    resolve_precision,
    tiny_architecture,
)
from .pipeline import Conditioning, VideoInputs, condition, sample_flows
from .render import render_frames

WeightSource = Literal["store", "random", "tiny"]
SPEECH_RATE = 16_000
#: Denoiser evaluations and per-frame renders timed for the reference path before extrapolating.
BASELINE_STEPS = 2
BASELINE_FRAMES = 10
#: tz of the fallback portrait state (the spec's consistent fallback, B7); the model does not use it.
FALLBACK_TZ = -66.7


class BenchmarkError(RuntimeError):
    """The benchmark cannot run as asked; the message says what to change."""


@dataclass(frozen=True)
class BenchSettings:
    """What to measure. ``weights``: "store" reads ``models`` (a real or tiny model folder);
    "random" builds the published widths, "tiny" the tiny test widths, both with random weights."""

    resolution: int = 128
    frames: int = 200
    steps: int = 20
    device: str = "auto"
    precision: str = "auto"
    weights: WeightSource = "random"
    models: Path | None = None
    portrait: Path | None = None
    #: A speech file: with ``models`` and ``portrait`` the benchmark runs the job ``render`` would run
    #: (its frame count then comes from the speech).
    audio: Path | None = None
    baseline: bool = False
    baseline_steps: int = BASELINE_STEPS
    baseline_frames: int = BASELINE_FRAMES
    compare_float32: bool = False
    seed: int = 1234
    #: Cap the process's memory (GiB) to check a clip fits a smaller device: CUDA through the caching
    #: allocator's per-process fraction, CPU through the data-segment limit (RLIMIT_DATA).
    memory_cap_gib: float | None = None
    #: Also time the face enhancer (GFPGAN) on every frame, as the engine runs it (batched, half precision
    #: on GPUs), and its deviation from float32.
    enhance: bool = False

    def __post_init__(self) -> None:
        if self.resolution not in (128, 256):
            raise BenchmarkError(f"resolution must be 128 or 256, got {self.resolution}")
        if self.frames < 1:
            raise BenchmarkError(f"frames must be at least 1, got {self.frames}")
        if not 1 <= self.steps <= 999:
            raise BenchmarkError(f"steps must be from 1 to 999, got {self.steps}")
        if self.baseline_steps < 1 or self.baseline_frames < 1:
            raise BenchmarkError("the baseline needs at least one step and one frame")
        if self.weights not in ("store", "random", "tiny"):
            raise BenchmarkError(f"weights must be 'store', 'random' or 'tiny', not {self.weights!r}")
        if self.weights == "store" and self.models is None:
            raise BenchmarkError("weights='store' needs a model folder")
        if self.audio is not None and (self.weights != "store" or self.portrait is None):
            raise BenchmarkError("a speech file needs a model folder and a portrait")
        if self.memory_cap_gib is not None and self.memory_cap_gib <= 0:
            raise BenchmarkError(f"the memory cap must be positive, got {self.memory_cap_gib} GiB")


@dataclass
class StageTiming:
    """One stage: wall time, how many video frames it produced, and the peak memory while it ran."""

    name: str
    seconds: float
    frames: int
    peak_memory_bytes: int | None = None
    note: str = ""

    @property
    def fps(self) -> float | None:
        return self.frames / self.seconds if self.frames and self.seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fps"] = self.fps
        return data


@dataclass
class BenchReport:
    """Everything one benchmark run measured; ``to_dict()`` is the JSON written by the command."""

    settings: BenchSettings
    device: dict[str, Any]
    memory_kind: str
    stages: list[StageTiming] = field(default_factory=list)
    diffusion_step_seconds: list[float] = field(default_factory=list)
    baseline: list[StageTiming] = field(default_factory=list)
    precision_deviation: dict[str, float] | None = None
    #: The face enhancer in its engine precision against float32 on the same faces (None when float32).
    enhancer_deviation: dict[str, float] | None = None
    #: The crop frames (T, S, S, 3) uint8 the measured run made (not part of the JSON).
    frames: np.ndarray | None = None
    #: Whether diffusion and rendering ran with freed memory kept in the heap (dawn_studio.heap).
    freed_memory_kept: bool = False
    date: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    def stage(self, name: str, stages: list[StageTiming] | None = None) -> StageTiming | None:
        return next((s for s in (self.stages if stages is None else stages) if s.name == name), None)

    def generation_seconds(self, stages: list[StageTiming] | None = None) -> float:
        """Diffusion + rendering: the part of the pipeline the reference's slowness is in."""
        return sum(s.seconds for s in (self.stages if stages is None else stages)
                   if s.name in ("diffusion", "render"))

    def speedups(self) -> dict[str, float]:
        """Reference-path time ÷ our time, per stage and for diffusion + rendering."""
        result: dict[str, float] = {}
        for ours in self.stages:
            ref = self.stage(ours.name, self.baseline)
            if ref is not None and ours.seconds > 0:
                result[ours.name] = ref.seconds / ours.seconds
        if self.baseline and self.generation_seconds() > 0:
            result["generation"] = self.generation_seconds(self.baseline) / self.generation_seconds()
        return result

    def to_dict(self) -> dict[str, Any]:
        settings = _settings_dict(self.settings)
        peak = [s.peak_memory_bytes for s in self.stages if s.peak_memory_bytes is not None]
        return {
            "tool": "dawn-studio bench",
            "date": self.date,
            "device": self.device,
            "settings": settings,
            "memory_kind": self.memory_kind,
            "freed_memory_kept": self.freed_memory_kept,
            "memory_cap_bytes": None if self.settings.memory_cap_gib is None
            else int(self.settings.memory_cap_gib * 2**30),
            "stages": [s.to_dict() for s in self.stages],
            "diffusion_step_seconds": self.diffusion_step_seconds,
            "generation_seconds": self.generation_seconds(),
            "peak_memory_bytes": max(peak) if peak else None,
            "baseline": {
                "description": BASELINE_DESCRIPTION,
                "stages": [s.to_dict() for s in self.baseline],
                "generation_seconds": self.generation_seconds(self.baseline),
            } if self.baseline else None,
            "speedup": self.speedups(),
            "precision_deviation": self.precision_deviation,
            "enhancer_deviation": self.enhancer_deviation,
        }


BASELINE_DESCRIPTION = (
    "reference computation path, reimplemented here: dense masked T×T temporal attention with "
    "cos/sin rotary, the first convolution over all 275 channels of every frame, separate LayerNorm "
    "mean/variance passes, per-attention query projections and the two-key softmax in the "
    "cross-attentions, one LFG forward_with_flow per frame (portrait re-encoded each time); float32. "
    "Speech, motion, portrait and compose run the same code as ours and are not repeated."
)


# ---- memory ------------------------------------------------------------------------------------
def cpu_model_name() -> str:
    """The CPU's marketing name (from /proc/cpuinfo where there is one)."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _status_bytes(key: str) -> int | None:
    with contextlib.suppress(OSError):
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    return None


class MemoryProbe:
    """Peak memory of a stretch of work on one device.

    CUDA: ``max_memory_allocated`` (reset per stage). MPS: driver memory at the end of the stage
    (there is no peak counter). CPU: the process's peak resident set (VmHWM, reset per stage
    through /proc/self/clear_refs; else the whole-process ``ru_maxrss``).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._resettable = False
        if device.type == "cuda":
            self.kind = "CUDA max_memory_allocated"
        elif device.type == "mps":
            self.kind = "MPS driver_allocated_memory at stage end"
        else:
            self._resettable = self._reset_rss_peak()
            self.kind = ("CPU peak resident set (VmHWM, reset per stage)" if self._resettable
                         else "CPU peak resident set of the process (ru_maxrss)")

    @staticmethod
    def _reset_rss_peak() -> bool:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
        except OSError:
            return False
        return _status_bytes("VmHWM") is not None

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self.device.type == "cpu":
            heap.return_freed_memory()  # so a stage's resident peak is its own
            if self._resettable:
                self._reset_rss_peak()

    def peak(self) -> int | None:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        if self.device.type == "mps":
            return int(torch.mps.driver_allocated_memory())
        if self._resettable:
            return _status_bytes("VmHWM")
        scale = 1 if platform.system() == "Darwin" else 1024
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


# ---- the run -----------------------------------------------------------------------------------
@dataclass
class _Networks:
    video: a2v.FlowDiffusion
    speech: Any | None  # HubertEncoder
    pose: PBNet | None
    blink: PBNet | None
    portrait: Any | None  # PortraitModels
    engine: Any | None = None  # Engine: loaded the networks from a model folder; runs the job's stages


class _Recorder:
    """Times stages into a list, with the memory probe reset around each."""

    def __init__(self, device: torch.device, probe: MemoryProbe, log: Callable[[str], None]) -> None:
        self.device = device
        self.probe = probe
        self.log = log

    @contextlib.contextmanager
    def stage(self, into: list[StageTiming], name: str, frames: int, note: str = "") -> Iterator[StageTiming]:
        timing = StageTiming(name, 0.0, frames, None, note)
        self.probe.reset()
        started = time.perf_counter()
        yield timing
        _synchronize(self.device)
        timing.seconds = time.perf_counter() - started
        timing.peak_memory_bytes = self.probe.peak()
        into.append(timing)
        fps = f", {timing.fps:.1f} frames/s" if timing.fps else ""
        self.log(f"  {name}: {timing.seconds:.2f} s{fps}" + (f" ({timing.note})" if timing.note else ""))


def device_description(device: ComputeDevice) -> dict[str, Any]:
    info: dict[str, Any] = {
        "label": device.label, "torch_device": device.torch_device, "torch": torch.__version__,
        "cpu": cpu_model_name(), "cpu_cores": os.cpu_count(), "threads": torch.get_num_threads(),
    }
    if device.kind == "cuda":
        props = torch.cuda.get_device_properties(torch.device(device.torch_device))
        info["gpu"] = props.name
        info["gpu_memory_bytes"] = int(props.total_memory)
    return info


def _load_networks(settings: BenchSettings, device: torch.device) -> _Networks:
    if settings.weights == "store":
        assert settings.models is not None
        from .engine import Engine  # with its stages (OpenCV, PyAV): only for a model folder

        engine = Engine(settings.models)
        cache = engine.models
        video = cache.video(settings.resolution, device)
        speech = cache.speech(device, torch.float32) if (settings.models / HUBERT_FOLDER).is_dir() else None
        try:
            pose, blink = cache.motion(device)
        except (OSError, RuntimeError, ValueError):
            pose = blink = None
        portrait = None
        if settings.portrait is not None and (settings.models / PORTRAIT_FOLDER).is_dir():
            portrait = cache.portrait(device)
        return _Networks(video, speech, pose, blink, portrait, engine)
    from ..stages.audio import HUBERT_LARGE_CONFIG, TINY_HUBERT_CONFIG, HubertEncoder, build_hubert
    from ..stages.audio.hubert_model import default_feature_extractor

    tiny = settings.weights == "tiny"
    architecture = (tiny_architecture if tiny else published_architecture)(settings.resolution)
    hubert_config = TINY_HUBERT_CONFIG if tiny else HUBERT_LARGE_CONFIG
    audio_dim = int(hubert_config["hidden_size"])
    pose_config, blink_config = (TINY_POSE, TINY_BLINK) if tiny else (POSE, BLINK)
    torch.manual_seed(settings.seed)
    generator = lfg.LatentFlowGenerator(architecture.lfg).generator.eval()
    video = a2v.FlowDiffusion(architecture.a2v, generator=generator).eval().to(device)
    hubert = build_hubert(hubert_config).eval().to(device)
    speech = HubertEncoder(hubert, default_feature_extractor(SPEECH_RATE), None)
    pose = PBNet(replace(pose_config, audio_dim=audio_dim)).eval().to(device)
    blink = PBNet(replace(blink_config, audio_dim=audio_dim)).eval().to(device)
    return _Networks(video, speech, pose, blink, None)


@contextlib.contextmanager
def memory_cap(device: ComputeDevice, cap_gib: float | None) -> Iterator[int | None]:
    """Inside: the process may use at most ``cap_gib`` GiB on ``device`` (None: no cap). Yields the cap
    in bytes; restores the previous limit on the way out."""
    if cap_gib is None:
        yield None
        return
    cap = int(cap_gib * 2**30)
    if device.kind == "cuda":
        index = torch.device(device.torch_device)
        total = torch.cuda.get_device_properties(index).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total), index)
        try:
            yield cap
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0, index)
        return
    if device.kind != "cpu" or not hasattr(resource, "RLIMIT_DATA"):
        raise BenchmarkError(f"a memory cap is not supported on {device.label}")
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (min(cap, hard) if hard != resource.RLIM_INFINITY else cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _is_out_of_memory(exc: BaseException) -> bool:
    """Torch reports a failed CPU allocation in several ways, depending on where it fails: its
    allocator's message, or C++'s ``std::bad_alloc`` from inside an operator."""
    return isinstance(exc, MemoryError | torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and any(sign in str(exc) for sign in ("can't allocate memory", "bad_alloc")))


def run_benchmark(settings: BenchSettings, log: Callable[[str], None] = lambda _line: None) -> BenchReport:
    """Run every stage once on ``settings.device`` and return the measurements.

    With ``memory_cap_gib`` the run happens under that cap; running out of memory is reported as
    a BenchmarkError naming the cap (the reference path's process is not capped).
    """
    compute = resolve_device(settings.device)
    with memory_cap(compute, settings.memory_cap_gib) as cap:
        try:
            return _measure(settings, compute, cap, log)
        except Exception as exc:
            if cap is None or not _is_out_of_memory(exc):
                raise
            raise BenchmarkError(
                f"{settings.frames} frames at {settings.resolution}² ran out of memory within the "
                f"{settings.memory_cap_gib:g} GiB memory cap ({exc})") from None


def _measure(settings: BenchSettings, compute: ComputeDevice, cap: int | None,
             log: Callable[[str], None]) -> BenchReport:
    device = torch.device(compute.torch_device)
    dtype = resolve_precision(settings.precision, compute.kind)
    probe = MemoryProbe(device)
    described = device_description(compute) | {"precision": precision_name(dtype)}
    report = BenchReport(settings, described, probe.kind)
    rec = _Recorder(device, probe, log)
    frames = settings.frames
    log(f"dawn-studio bench: {frames} frames at {settings.resolution}², {settings.steps} steps, "
        f"{compute.label}, {precision_name(dtype)}, {settings.weights} weights")

    with rec.stage(report.stages, "load", 0, f"{settings.weights} weights"):
        nets = _load_networks(settings, device)
        enhancer = _load_enhancer(settings, nets, compute) if settings.enhance else None
    model = nets.video
    size = model.config.image_size
    rng = torch.Generator().manual_seed(settings.seed)
    job = _bench_job(settings)

    # the portrait, speech and motion stages run the engine's own code (Engine methods where a model
    # folder and inputs are given; the stage functions it calls on random inputs otherwise)
    photo, face = None, None
    image = torch.rand(1, 3, size, size, generator=rng)
    init_pose = np.array([[*FALLBACK_POSE, FALLBACK_TZ]])
    init_eye_bbox = np.array([[*FALLBACK_BLINK, size * 0.3, size * 0.7, size * 0.25, size * 0.75, size, size]])
    if nets.engine is not None and job is not None and nets.portrait is not None:
        from ..stages.portrait import portrait_tensor

        with rec.stage(report.stages, "portrait", 1, "decode + face detection + 3DDFA"):
            photo, analysis, _ = nets.engine.analyse(job.portrait, job.resolution, job.framing, compute)
            face = analysis.face(job.face_index)
        image = torch.from_numpy(portrait_tensor(photo.rgb, face.crop))
        init_pose, init_eye_bbox = face.init_pose(), face.init_eye_bbox()
    state = PortraitState.from_preprocessing(init_pose, init_eye_bbox)
    image = image.to(device)

    audio_dim = model.config.unet.audio_dim
    features = None
    clip = None
    if nets.engine is not None and job is not None and settings.audio is not None:
        with rec.stage(report.stages, "speech", 0, "decode + HuBERT") as timing:
            clip, _ = nets.engine.speech(job, compute)
            frames = timing.frames = clip.frames
        features = clip.features
        report.settings = replace(settings, frames=frames)
        log(f"  ({frames} frames from {settings.audio.name})")
    elif nets.speech is not None:
        from ..stages.audio import extract_speech_features

        samples = (np.random.default_rng(settings.seed).standard_normal(frames * SPEECH_RATE // FPS) * 0.1)
        with rec.stage(report.stages, "speech", frames, f"HuBERT on {frames / FPS:.2f} s of audio"):
            features = extract_speech_features(nets.speech, samples.astype(np.float32)).features
        if features.shape != (frames, audio_dim):
            log(f"  (speech features are {features.shape}; the video model takes ({frames}, {audio_dim}), "
                "so random features of that shape drive the next stages)")
            features = None
    if features is None:
        features = torch.randn(frames, audio_dim, generator=rng).numpy()

    if clip is not None and job is not None and nets.engine is not None:
        with rec.stage(report.stages, "motion", frames, "PBNet pose + blink"):
            raw, _ = nets.engine.raw_motion(job, clip, state, compute, nets.engine.speech_key(job, compute))
            motion = apply_controls(raw, state, job.motion)
        pose_seq, blink_seq = motion.pose, motion.blink
    elif nets.pose is not None and nets.blink is not None and nets.pose.config.audio_dim == audio_dim:
        with rec.stage(report.stages, "motion", frames, "PBNet pose + blink"):
            motion = generate_raw_motion(nets.pose, nets.blink, features, state, seed=settings.seed)
        pose_seq, blink_seq = motion.pose, motion.blink
    else:
        pose_seq = np.tile(state.pose[None], (frames, 1))
        blink_seq = np.tile(state.blink[None], (frames, 1))
    inputs = VideoInputs(image, features, pose_seq, blink_seq, init_pose, init_eye_bbox)

    # the engine's memory decision: keep freed memory in the heap (CPU) when the larger peak fits
    try:
        free = None if cap is None else min(cap, available_bytes(compute) or cap)
        report.freed_memory_kept = check_fits(frames, settings.resolution, compute, free=free)
    except ClipTooLongError as exc:
        log(f"  ({exc} Measured anyway, without keeping freed memory.)")
        report.freed_memory_kept = False
    step_marks: list[float] = []
    kept: dict[str, torch.Tensor] = {}

    def keep_float_frames(name: str, value: torch.Tensor) -> None:
        if name == "a2v.sample_out_vid":
            kept["video"] = value[0].transpose(0, 1)

    with autocast(device, dtype), heap.freed_memory_kept(report.freed_memory_kept):
        with rec.stage(report.stages, "diffusion", frames, f"{settings.steps} DDIM steps") as timing:
            with torch.inference_mode():
                conditioning = condition(model, inputs)
                step_marks.append(time.perf_counter())

                def on_step(_step: DDIMStep) -> None:
                    _synchronize(device)
                    step_marks.append(time.perf_counter())

                flows = sample_flows(model, conditioning, steps=settings.steps,
                                     noise=NoiseSource.seeded(settings.seed), on_step=on_step)
            timing.note += f", {settings.steps} × {(step_marks[-1] - step_marks[0]) / settings.steps:.2f} s"
        report.diffusion_step_seconds = [b - a for a, b in zip(step_marks[:-1], step_marks[1:], strict=True)]

        generator = model.generator
        assert generator is not None
        with rec.stage(report.stages, "render", frames, "LFG, portrait encoded once, chunked frames, uint8"):
            crops = render_frames(generator, image, flows,
                                  observe=keep_float_frames if settings.compare_float32 else None)
    if enhancer is not None:
        crops = _enhance(report, rec, enhancer, crops, nets, face, compute, log)
    report.frames = crops

    with rec.stage(report.stages, "compose", frames, "paste-back + H.264 encode"):
        stream: Any = crops
        if photo is not None and face is not None:
            from ..stages.portrait import paste_back

            stream = paste_back(crops, photo.rgb, face.crop)
        with tempfile.TemporaryDirectory(prefix="dawn-bench-") as folder:
            export_video(stream, frames, Path(folder) / "bench.mp4",
                         settings=ExportSettings(quality=20, preset="veryfast"))

    if settings.compare_float32 and dtype != torch.float32:
        report.precision_deviation = _compare_with_float32(settings, model, inputs, flows, kept["video"], dtype, log)
    if settings.baseline:
        _run_baseline(report.settings, report, image, conditioning.image_cond, conditioning.cond, flows, log)
    return report


def _load_enhancer(settings: BenchSettings, nets: _Networks, compute: ComputeDevice) -> torch.nn.Module:
    """The face enhancer (float32 weights; the engine computes in its precision under autocast): from the
    model folder, or built at the published (or tiny) width with random weights."""
    from ..networks import gfpgan

    device = torch.device(compute.torch_device)
    if nets.engine is not None:
        return nets.engine.models.enhancer(device, torch.float32)
    torch.manual_seed(settings.seed)
    config = gfpgan.TINY if settings.weights == "tiny" else gfpgan.GFPGAN_V1_4
    return gfpgan.GFPGANv1Clean.from_config(config).eval().to(device)


def _enhance(report: BenchReport, rec: _Recorder, enhancer: torch.nn.Module, crops: np.ndarray, nets: _Networks,
             face: Any, compute: ComputeDevice, log: Callable[[str], None]) -> np.ndarray:
    """Time the enhancement of every frame as the engine runs it: the face followed by the landmark
    regressor where a portrait was analysed, else a fixed face-sized alignment (the restoration costs the
    same whatever the face), then the batched restoration and paste at 512²."""
    from ..stages.enhance import (
        ENHANCED_SIZE,
        FFHQ_TEMPLATE_512,
        align_frames,
        alignment_transforms,
        box_in_frame,
        enhance_frames,
        warp_face,
    )
    from .engine import ENHANCE_BATCH
    from .models import ENHANCER_DTYPES

    device = torch.device(compute.torch_device)
    dtype = ENHANCER_DTYPES.get(compute.kind, torch.float32)
    frames, size = int(crops.shape[0]), int(crops.shape[1])
    batch = ENHANCE_BATCH.get(compute.kind, 2)
    if nets.portrait is not None and face is not None:
        with rec.stage(report.stages, "align", frames, "landmarks tracked (3DDFA, 2 passes) + smoothing"):
            transforms = align_frames(nets.portrait, crops, box_in_frame(face.box, face.crop.box, size))
    else:
        # the template shrunk into the crop the way a face fills a face crop (eye distance ≈ 0.23 · side)
        scale, shift = 0.23 * size / 512, np.array([0.27, 0.16]) * size
        points = FFHQ_TEMPLATE_512 * scale + shift
        transforms = np.repeat(alignment_transforms(points[None].astype(np.float32)), frames, axis=0)

    def restorer(x: torch.Tensor) -> torch.Tensor:
        with autocast(device, dtype):
            return enhancer(x.to(device))

    note = f"GFPGAN at 512², batches of {batch}, {precision_name(dtype)}, paste at {ENHANCED_SIZE}²"
    with rec.stage(report.stages, "enhance", frames, note):
        enhanced = enhance_frames(crops, transforms, restorer, out_size=ENHANCED_SIZE, batch_size=batch,
                                  device=device)
    if dtype != torch.float32:
        faces = torch.from_numpy(np.stack([warp_face(crops[i], transforms[i]) for i in range(min(batch, frames))]))
        x = faces.permute(0, 3, 1, 2).float() / 127.5 - 1
        with torch.inference_mode():
            half = restorer(x).float().clamp(-1, 1)
            exact = enhancer(x.to(device)).clamp(-1, 1)
        error = (half - exact).abs() * 127.5  # in 8-bit levels
        report.enhancer_deviation = {
            "faces": float(x.shape[0]), "max_abs_levels": float(error.max()), "mean_abs_levels": float(error.mean()),
            "psnr_db": psnr((half.cpu() + 1) / 2, (exact.cpu() + 1) / 2),
        }
        log("  enhancer against float32: " + ", ".join(f"{k} {v:.4g}" for k, v in report.enhancer_deviation.items()))
    return enhanced


def _bench_job(settings: BenchSettings) -> Job | None:
    """The job the engine would run for a benchmark of real inputs (portrait, and speech if given)."""
    if settings.weights != "store" or settings.portrait is None:
        return None
    return Job(portrait=str(settings.portrait), audio=str(settings.audio or settings.portrait),
               resolution=settings.resolution, steps=settings.steps, device=settings.device,
               precision=settings.precision, motion=MotionControls(seed=settings.seed))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1] (inf when identical)."""
    mse = float(((a.float().clamp(0, 1) - b.float().clamp(0, 1)) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * float(np.log10(1.0 / mse))


def _compare_with_float32(settings: BenchSettings, model: a2v.FlowDiffusion, inputs: VideoInputs,
                          flows: FlowSequence, video: torch.Tensor, dtype: torch.dtype,
                          log: Callable[[str], None]) -> dict[str, float]:
    """How far the reduced-precision flows and frames are from the float32 path on the same inputs.

    Flow error is in output-image pixels (grid positions span the image's side over [-1, 1]);
    ``frames_psnr_db`` compares the whole reduced path, ``render_only_psnr_db`` the reduced
    rendering of the float32 flows.
    """
    log("float32 reference for the precision comparison (same inputs and noise):")
    generator = model.generator
    assert generator is not None
    image = inputs.image
    with torch.inference_mode():
        exact = sample_flows(model, condition(model, inputs), steps=settings.steps,
                             noise=NoiseSource.seeded(settings.seed))
        exact_video = lfg.render_frames(generator, image, exact.grid, exact.occlusion,
                                        output_device="cpu").frames
        with autocast(image.device, dtype):
            render_only = lfg.render_frames(generator, image, exact.grid, exact.occlusion,
                                            output_device="cpu").frames
    pixels = (flows.grid.float() - exact.grid).abs() * (model.config.image_size / 2)
    result = {
        "flow_error_mean_px": float(pixels.mean()),
        "flow_error_max_px": float(pixels.max()),
        "occlusion_error_mean": float((flows.occlusion.float() - exact.occlusion).abs().mean()),
        "frames_psnr_db": psnr(video, exact_video.float()),
        "render_only_psnr_db": psnr(render_only, exact_video.float()),
    }
    log("  " + ", ".join(f"{k} {v:.4g}" for k, v in result.items()))
    return result


def _run_baseline(settings: BenchSettings, report: BenchReport, image: torch.Tensor, image_cond: torch.Tensor,
                  cond: torch.Tensor, flows: FlowSequence, log: Callable[[str], None]) -> None:
    """Time the reference path in a fresh process with the system allocator's default settings.

    Our process keeps freed memory in the heap during generation (:mod:`dawn_studio.heap`); the
    reference does not, so its computation runs where it would run: in its own process, with the
    same networks (same weights or seed) and the same inputs, passed through a temporary folder.
    """
    log(f"reference path (dense attention, full first convolution, reference formulations, per-frame LFG), "
        f"{min(settings.baseline_steps, settings.steps)} of {settings.steps} steps and "
        f"{min(settings.baseline_frames, settings.frames)} of {settings.frames} frames timed, "
        "in a separate process with default allocator settings:")
    with tempfile.TemporaryDirectory(prefix="dawn-bench-reference-") as name:
        folder = Path(name)
        child = replace(settings, portrait=None, audio=None, frames=int(flows.grid.shape[2]), baseline=False,
                        compare_float32=False, memory_cap_gib=None)
        (folder / SETTINGS_FILE).write_text(json.dumps(_settings_dict(child)), encoding="utf-8")
        torch.save({"image": image.cpu(), "image_cond": image_cond.float().cpu(), "cond": cond.float().cpu(),
                    "grid": flows.grid.float().cpu(), "occlusion": flows.occlusion.float().cpu()},
                   folder / INPUTS_FILE)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
        process = subprocess.Popen([sys.executable, "-m", __name__, str(folder)], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        output = []
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            log(output[-1])
        if process.wait() != 0 or not (folder / RESULT_FILE).is_file():
            raise BenchmarkError("the reference path failed in its process:\n" + "\n".join(output[-20:]))
        stages = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    report.baseline.extend(StageTiming(s["name"], s["seconds"], s["frames"], s["peak_memory_bytes"], s["note"])
                           for s in stages)


def _time_reference_path(settings: BenchSettings, stages: list[StageTiming], rec: _Recorder,
                         model: a2v.FlowDiffusion, inputs: dict[str, torch.Tensor],
                         log: Callable[[str], None]) -> None:
    """The reference's computation for the given inputs, timed on a few steps and frames."""
    rec = _Recorder(rec.device, rec.probe, lambda _line: None)  # the lines below say what was extrapolated
    device = next(model.parameters()).device
    image, image_cond, cond = (inputs[k].to(device) for k in ("image", "image_cond", "cond"))
    frames = settings.frames
    unet = model.diffusion.denoise_fn
    k = min(settings.baseline_steps, settings.steps)
    # the reference concatenates the portrait's channels to every frame before the first convolution
    every_frame = Conditioning(cond, image_cond.expand(-1, -1, frames, -1, -1).contiguous())
    unet.set_formulation("reference")
    try:
        with torch.inference_mode():
            with rec.stage(stages, "diffusion", frames) as timing:
                started = time.perf_counter()
                sample_flows(model, every_frame, steps=k, noise=NoiseSource.seeded(settings.seed))
                _synchronize(device)
                per_step = (time.perf_counter() - started) / k
            timing.note = (f"{k} DDIM steps timed ({per_step:.2f} s each), "
                           f"extrapolated to {settings.steps}")
            timing.seconds = per_step * settings.steps
    finally:
        unet.set_formulation("fast")
    log(f"  diffusion: {timing.note}: {timing.seconds:.2f} s")

    generator = model.generator
    assert generator is not None
    n = min(settings.baseline_frames, frames)
    grid = lfg.rendering.as_frame_flows(inputs["grid"].to(device))
    occlusion = lfg.rendering.as_frame_occlusions(inputs["occlusion"].to(device))
    with torch.inference_mode():
        with rec.stage(stages, "render", frames) as timing:
            started = time.perf_counter()
            for i in range(n):
                generator.forward_with_flow(image, grid[i : i + 1], occlusion[i : i + 1])["prediction"].cpu()
            _synchronize(device)
            per_frame = (time.perf_counter() - started) / n
        timing.note = f"{n} per-frame calls timed ({per_frame * 1000:.0f} ms each), extrapolated to {frames}"
        timing.seconds = per_frame * frames
    log(f"  render: {timing.note}: {timing.seconds:.2f} s")


SETTINGS_FILE = "settings.json"
INPUTS_FILE = "inputs.pt"
RESULT_FILE = "result.json"


def _settings_dict(settings: BenchSettings) -> dict[str, Any]:
    data = asdict(settings)
    data["models"] = None if settings.models is None else str(settings.models)
    data["portrait"] = None if settings.portrait is None else str(settings.portrait)
    data["audio"] = None if settings.audio is None else str(settings.audio)
    return data


def _reference_process(folder: Path) -> None:
    """Entry of the reference-path process: settings and inputs in ``folder``, timings written there."""
    if hasattr(resource, "RLIMIT_DATA"):  # a memory cap of the measuring process is inherited: lift it
        _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))
    data = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    data["models"] = None if data["models"] is None else Path(data["models"])
    data["portrait"] = data["audio"] = None
    settings = BenchSettings(**data)
    inputs = torch.load(folder / INPUTS_FILE, weights_only=True)
    device = torch.device(resolve_device(settings.device).torch_device)
    nets = _load_networks(settings, device)  # all models loaded, as in the measured process

    def log(line: str) -> None:
        print(line, flush=True)

    stages: list[StageTiming] = []
    _time_reference_path(settings, stages, _Recorder(device, MemoryProbe(device), log), nets.video, inputs, log)
    (folder / RESULT_FILE).write_text(json.dumps([asdict(s) for s in stages]), encoding="utf-8")


__all__ = [
    "BASELINE_DESCRIPTION",
    "BenchReport",
    "BenchSettings",
    "BenchmarkError",
    "MemoryProbe",
    "StageTiming",
    "cpu_model_name",
    "device_description",
    "run_benchmark",
]


if __name__ == "__main__":
    _reference_process(Path(sys.argv[1]))
