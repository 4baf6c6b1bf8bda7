"""The generation engine: portrait + speech + controls → frames, through every stage, with
progress events, cancellation at every step boundary, per-input caching and lazy model loading.

Used by the GUI (from a worker thread) and by ``dawn-studio render``. Nothing here imports Qt.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import heap
from ..device import ComputeDevice, resolve_device
from ..frame_rate import FPS
from ..networks.a2v import DDIMStep, FlowDiffusion, NoiseSource
from ..progress import Cancelled, CancelToken, HandOverObserver, StepCallback, check_cancel
from ..stages.audio import AudioWarning, DecodeOptions, SpeechInput, decode_audio, load_speech, probe_audio
from ..stages.audio import extract_speech_features as hubert_features
from ..stages.audio.speech_features import normalisation_stats, normalise
from ..stages.enhance import ENHANCED_SIZE, EnhanceError, align_frames, box_in_frame, enhance_frames, with_strength
from ..stages.export import ExportSettings, check_destination, export_video
from ..stages.motion import MotionSequences, PortraitState, apply_controls, generate_raw_motion
from ..stages.portrait import (
    FaceResult,
    Portrait,
    PortraitAnalysis,
    analyse_portrait,
    load_portrait,
    paste_back,
    portrait_tensor,
)
from .cache import ResultCache, file_digest
from .draws import DrawsError, RecordedDraws
from .events import ProgressEvent, ProgressTracker
from .job import Job, OutputSettings
from .memory import check_fits
from .models import ENHANCER_DTYPES, ModelCache, autocast, resolve_precision
from .pipeline import VideoInputs, condition, sample_flows
from .presets import PipelineBehaviour, behaviour
from .render import render_frames

log = logging.getLogger(__name__)

EventSink = Callable[[ProgressEvent], None]
#: The full-photo preview clip is scaled to this longer side: quick to encode, sharp enough on screen.
PREVIEW_MAX_SIDE = 1280
PIPELINE = ["load", "portrait", "speech", "motion", "diffusion", "render", "enhance", "compose"]
#: Faces restored per network call, by device kind (GPUs are only busy with a batch).
ENHANCE_BATCH = {"cpu": 2, "cuda": 8, "mps": 4}


class EngineError(RuntimeError):
    """The job cannot run as set up; the message says what to change."""


@dataclass(frozen=True)
class SpeechClip:
    """The (trimmed) speech: 16-kHz samples for the models and the full-quality track for the video."""

    features: np.ndarray  # (F, D) float32 at 25 fps
    samples_16k: np.ndarray
    track: np.ndarray  # mono float32 at track_rate, same span
    track_rate: int
    warnings: tuple[AudioWarning, ...]

    @property
    def frames(self) -> int:
        return int(self.features.shape[0])


@dataclass
class GenerationResult:
    """Everything the preview and the export need, kept in memory (frames are the face crops, at the
    model's resolution, or at :data:`~dawn_studio.stages.enhance.ENHANCED_SIZE` when enhanced)."""

    job: Job
    frames: np.ndarray  # (T, S, S, 3) uint8 RGB
    portrait: Portrait
    face: FaceResult
    motion: MotionSequences
    track: np.ndarray
    track_rate: int
    preview_dir: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: The face crops before enhancement (None when the clip is not enhanced), for the before/after preview.
    unenhanced: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / FPS

    def full_frames(self) -> Iterator[np.ndarray]:
        """Frames with the face pasted back into the original photo (computed lazily, chunk by chunk)."""
        return paste_back(self.frames, self.portrait.rgb, self.face.crop)

    def preview_path(self, view: str) -> Path | None:
        """The preview clip of ``view``: 'full', 'crop', or 'full-before' / 'crop-before' (enhanced clips)."""
        path = None if self.preview_dir is None else self.preview_dir / f"{view}.mp4"
        return path if path is not None and path.exists() else None

    def discard_previews(self) -> None:
        if self.preview_dir is not None:
            shutil.rmtree(self.preview_dir, ignore_errors=True)
            self.preview_dir = None


class Engine:
    """Runs jobs. Keep one per application: it owns the model and result caches."""

    def __init__(self, models_root: Path, *, cache_entries: int = 24) -> None:
        self.models = ModelCache(models_root)
        # The rendered clip and its restored faces are large: only the last of each is kept, enough
        # for changing only the enhancement strength to neither generate nor restore again.
        self.cache = ResultCache(cache_entries, stage_limits={"render": 1, "enhance": 1})

    # ---- single stages (also used by the UI directly, e.g. the portrait panel) -------------
    def analyse(self, portrait_path: str | Path, resolution: int, framing: str,
                device: ComputeDevice | None = None, *, dense_landmarks: bool = False,
                observe: HandOverObserver | None = None) -> tuple[Portrait, PortraitAnalysis, bool]:
        """Decoded photo and its face analysis (cached by file content); the bool says 'from cache'.

        ``dense_landmarks`` measures eyes and box on the dense mesh like the reference (B3); with
        ``observe`` the analysis is computed afresh so that every intermediate can be reported.
        """
        device = device or resolve_device("auto")
        key = (file_digest(portrait_path), resolution, framing, dense_landmarks, device.torch_device)

        def compute() -> tuple[Portrait, PortraitAnalysis]:
            portrait = load_portrait(portrait_path)
            models = self.models.portrait(torch.device(device.torch_device))
            return portrait, analyse_portrait(portrait, models, output_size=resolution, framing=framing,
                                              dense_compat=dense_landmarks, observe=observe)

        if observe is not None:
            return (*compute(), False)
        (portrait, analysis), cached = self.cache.get_or_compute("portrait", key, compute)
        return portrait, analysis, cached

    def speech(self, job: Job, device: ComputeDevice, progress: StepCallback | None = None,
               cancel: CancelToken | None = None, *,
               observe: HandOverObserver | None = None) -> tuple[SpeechClip, bool]:
        """HuBERT features of the trimmed speech (cached by content, trim and decoding)."""
        decoding = behaviour(job.preset).decoding
        key = self.speech_key(job, device)

        def compute() -> SpeechClip:
            speech = load_speech(job.audio, decoding, cancel=cancel)
            samples = _trimmed(speech.audio.samples, speech.audio.sample_rate, job.trim_start, job.trim_end)
            if samples.shape[0] < speech.audio.sample_rate // FPS:
                raise EngineError("The selected part of the speech is shorter than one video frame (40 ms)")
            encoder = self.models.speech(torch.device(device.torch_device), torch.float32)
            features = hubert_features(encoder, samples, sample_rate=speech.audio.sample_rate,
                                       keep_hidden=observe is not None, progress=progress, cancel=cancel)
            if observe is not None:
                observe("audio.speech_16k", samples)
                observe("hubert.input_values", normalise(samples, *normalisation_stats(samples)))
                observe("hubert.hidden", features.hidden)
                observe("hubert.chunk_lengths", np.array([end - start for start, end in features.segments]))
                observe("target_audio", features.features)
            track, rate = _speech_track(job, speech)
            return SpeechClip(features.features, samples, track, rate, speech.warnings)

        if observe is not None:
            return compute(), False
        return self.cache.get_or_compute("speech", key, compute)

    def raw_motion(self, job: Job, clip: SpeechClip, state: PortraitState, device: ComputeDevice,
                   speech_key: tuple, *, draws: RecordedDraws | None = None,
                   observe: HandOverObserver | None = None) -> tuple[MotionSequences, bool]:
        """PBNet's sequences before the strength controls (cached by inputs, seed and variety;
        recorded latents and observed runs are computed afresh)."""
        key = (speech_key, tuple(np.round(state.pose, 6)), tuple(np.round(state.blink, 6)),
               job.motion.seed, job.motion.variety, device.torch_device)

        def compute() -> MotionSequences:
            pose_model, blink_model = self.models.motion(torch.device(device.torch_device))
            latents = None
            if draws is not None:
                try:
                    draws.check_motion(clip.frames)
                except DrawsError as exc:
                    raise EngineError(str(exc)) from None
                latents = (draws.pose, draws.blink)
            return generate_raw_motion(pose_model, blink_model, clip.features, state, seed=job.motion.seed,
                                       variety=job.motion.variety, latents=latents, observe=observe)

        if draws is not None or observe is not None:
            return compute(), False
        return self.cache.get_or_compute("motion", key, compute)

    def preview_motion(self, job: Job, cancel: CancelToken | None = None) -> MotionSequences:
        """Only portrait, speech and PBNet: the motion curves the sliders produce, quickly."""
        device = resolve_device(job.device)
        rules = behaviour(job.preset)
        _, analysis, _ = self.analyse(job.portrait, job.resolution, rules.framing_for(job.framing), device,
                                      dense_landmarks=rules.dense_landmarks)
        initial = _initial_state(analysis, job, rules)
        clip, _ = self.speech(job, device, cancel=cancel)
        check_cancel(cancel)
        raw, _ = self.raw_motion(job, clip, initial.state, device, self.speech_key(job, device))
        return apply_controls(raw, initial.state, job.motion)

    # ---- the whole job -------------------------------------------------------------------
    def run(self, job: Job, on_event: EventSink | None = None, cancel: CancelToken | None = None,
            *, previews: bool = True, motion_override: MotionSequences | None = None,
            draws: RecordedDraws | None = None, observe: HandOverObserver | None = None) -> GenerationResult:
        """Generate the clip of ``job``. Raises ``Cancelled`` (nothing kept) or a clear error.

        ``motion_override`` replaces the generated pose/blink (curves edited or imported by the creator).
        ``draws`` replays a recorded run's random draws instead of the job's seed (see
        :class:`RecordedDraws`). ``observe(name, value)`` receives every hand-over between the stages
        under the reference's names (``faceboxes.*``, ``tddfa.*``, ``init_pose``, ``hubert.*``,
        ``pbnet.*``, ``a2v.*``, ``frames_rgb``, ...); observed stages are computed, not taken from the
        caches. Neither costs anything when not given.
        """
        if job.output.path is not None:
            check_destination(job.output.path, job.output.overwrite)
        rules = behaviour(job.preset)
        device = resolve_device(job.device)
        estimate_fits(job, device)
        torch_device = torch.device(device.torch_device)
        enhancing = bool(job.enhance)  # None or 0: off
        stages = [s for s in PIPELINE if (previews or s != "compose") and (enhancing or s != "enhance")]
        tracker = ProgressTracker(stages, on_event)
        timings: dict[str, float] = {}
        started = time.perf_counter()

        def lap(name: str, since: float) -> float:
            now = time.perf_counter()
            timings[name] = timings.get(name, 0.0) + now - since
            return now

        t = time.perf_counter()
        model = self.models.video(job.resolution, torch_device, job.face_loc_weights)
        if enhancing:  # a missing enhancer is said before the long work, not after it
            self.models.enhancer(torch_device, torch.float32)
        tracker.update("load", 1, 1)
        t = lap("load", t)
        check_cancel(cancel)

        portrait, analysis, cached = self.analyse(job.portrait, job.resolution, rules.framing_for(job.framing),
                                                  device, dense_landmarks=rules.dense_landmarks, observe=observe)
        initial = _initial_state(analysis, job, rules)
        if observe is not None:
            observe("init_pose", initial.init_pose)
            observe("init_eye_bbox", initial.init_eye_bbox)
        tracker.update("portrait", 1, 1, cached=cached)
        t = lap("portrait", t)
        check_cancel(cancel)

        clip, cached = self.speech(job, device, tracker.step_callback("speech"), cancel, observe=observe)
        tracker.update("speech", 1, 1, cached=cached)
        t = lap("speech", t)
        frames = rules.rendered_frames(clip.frames)
        keep_freed = check_fits(frames, job.resolution, device)
        check_cancel(cancel)

        if motion_override is not None:
            if motion_override.frames != clip.frames:
                raise EngineError(f"The edited motion has {motion_override.frames} frames but the speech has "
                                  f"{clip.frames}; reset the curves or re-import them")
            motion = motion_override
            cached = True
        else:
            raw, cached = self.raw_motion(job, clip, initial.state, device, self.speech_key(job, device),
                                          draws=draws, observe=observe)
            motion = apply_controls(raw, initial.state, job.motion)
        tracker.update("motion", 1, 1, cached=cached)
        t = lap("motion", t)
        check_cancel(cancel)

        video_key = self._video_key(job, device, motion, frames, initial)

        def generate() -> np.ndarray:
            return self._generate(job, model, portrait, initial, clip, motion, frames, rules, device, draws,
                                  tracker, cancel, keep_freed, observe, lap)

        if draws is not None or observe is not None:
            frames_rgb, cached = generate(), False
        else:
            frames_rgb, cached = self.cache.get_or_compute("render", video_key, generate)
        if cached:
            tracker.update("diffusion", 1, 1, cached=True)
            tracker.update("render", 1, 1, cached=True)
        t = time.perf_counter()  # _generate timed diffusion and rendering itself
        if observe is not None:
            observe("frames_rgb", frames_rgb)
        unenhanced = None
        if enhancing:
            unenhanced = frames_rgb
            frames_rgb = self._enhance(job, frames_rgb, video_key, initial.face, device, tracker, cancel)
            t = lap("enhance", t)
        result = GenerationResult(job, frames_rgb, portrait, initial.face, motion, clip.track, clip.track_rate,
                                  timings=timings, warnings=tuple(w.message for w in clip.warnings),
                                  unenhanced=unenhanced)
        if previews:
            result.preview_dir = self._write_previews(result, tracker, cancel)
            lap("compose", t)
        timings["total"] = time.perf_counter() - started
        log.info("generated %d frames at %d px in %.1f s (%s)", result.num_frames, job.resolution,
                 timings["total"], ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
        return result

    def _generate(self, job: Job, model: FlowDiffusion, portrait: Portrait, initial: InitialState, clip: SpeechClip,
                  motion: MotionSequences, frames: int, rules: PipelineBehaviour, device: ComputeDevice,
                  draws: RecordedDraws | None, tracker: ProgressTracker, cancel: CancelToken | None,
                  keep_freed: bool, observe: HandOverObserver | None, lap: Callable[[str, float], float]) -> np.ndarray:
        """Diffusion and rendering: the clip's frames (T, S, S, 3) uint8 RGB."""
        torch_device = torch.device(device.torch_device)
        t = time.perf_counter()
        image = torch.from_numpy(portrait_tensor(portrait.rgb, initial.face.crop)).to(torch_device)
        inputs = VideoInputs(image, clip.features[:frames], motion.pose[:frames], motion.blink[:frames],
                             initial.init_pose, initial.init_eye_bbox)
        try:
            precision = autocast(torch_device, resolve_precision(job.precision, device.kind))
            noise = (NoiseSource.seeded(job.motion.seed) if draws is None
                     else draws.diffusion_noise(job.steps, model.config.diffusion.timesteps))
        except (ValueError, DrawsError) as exc:
            raise EngineError(str(exc)) from None

        def on_step(step: DDIMStep) -> None:
            tracker.update("diffusion", step.index + 1, step.total)
            check_cancel(cancel)

        # freed activations reused in the heap: fewer page faults on CPU, the heap given back after
        with precision, heap.freed_memory_kept(keep_freed):
            with torch.inference_mode():
                conditioning = condition(model, inputs, bbox_axes=rules.bbox_axes, observe=observe)
                tracker.update("diffusion", 0, job.steps)
                flows = sample_flows(model, conditioning, steps=job.steps, noise=noise,
                                     guidance_scale=job.guidance_scale, on_step=on_step, observe=observe)
            t = lap("diffusion", t)
            frames_rgb = render_frames(model.generator, image, flows, progress=tracker.step_callback("render"),
                                       cancel=cancel, observe=observe)
        lap("render", t)
        return frames_rgb

    def _video_key(self, job: Job, device: ComputeDevice, motion: MotionSequences, frames: int,
                   initial: InitialState) -> tuple:
        """Everything the rendered frames depend on: the whole job but its enhancement and output, the
        inputs' contents, the motion actually used (edited curves included) and the loaded model."""
        digest = hashlib.sha256()
        for array in (motion.pose[:frames], motion.blink[:frames], initial.init_pose, initial.init_eye_bbox):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        face_loc = None if job.face_loc_weights is None else file_digest(job.face_loc_weights)
        settings = job.with_changes(enhance=None, output=OutputSettings())
        return (settings, file_digest(job.portrait), file_digest(job.audio), face_loc, digest.hexdigest(),
                initial.face.crop, frames, device.torch_device, self.models.loads.get("video", 0))

    def _enhance(self, job: Job, frames: np.ndarray, video_key: tuple, face: FaceResult, device: ComputeDevice,
                 tracker: ProgressTracker, cancel: CancelToken | None) -> np.ndarray:
        """The frames with the face restored at the job's strength (restored once per clip: a new strength
        only mixes again)."""
        torch_device = torch.device(device.torch_device)
        dtype = ENHANCER_DTYPES.get(device.kind, torch.float32)

        def restore() -> np.ndarray:
            net = self.models.enhancer(torch_device, torch.float32)
            landmark_models = self.models.portrait(torch_device)
            tracker.update("enhance", 0, len(frames), detail="following the face")
            try:
                transforms = align_frames(landmark_models, frames, box_in_frame(face.box, face.crop.box,
                                                                                 frames.shape[1]), cancel=cancel)
            except EnhanceError as exc:
                raise EngineError(str(exc)) from None

            def restorer(x: torch.Tensor) -> torch.Tensor:
                with autocast(torch_device, dtype):
                    return net(x.to(torch_device))

            with torch.inference_mode():
                return enhance_frames(frames, transforms, restorer, out_size=ENHANCED_SIZE,
                                      batch_size=ENHANCE_BATCH.get(device.kind, 2), cancel=cancel, device=torch_device,
                                      progress=lambda done, total: tracker.update(
                                          "enhance", done, total, detail=f"frame {done}/{total}"))

        restored, cached = self.cache.get_or_compute("enhance", (video_key, dtype), restore)
        if cached:
            tracker.update("enhance", 1, 1, cached=True)
        assert job.enhance is not None
        return with_strength(frames, restored, job.enhance)

    def speech_key(self, job: Job, device: ComputeDevice) -> tuple:
        return (file_digest(job.audio), job.trim_start, job.trim_end, device.torch_device,
                behaviour(job.preset).decoding)

    def _write_previews(self, result: GenerationResult, tracker: ProgressTracker,
                        cancel: CancelToken | None) -> Path:
        """Crop and full-photo preview clips (with sound) for the player, in a private temp folder; for an
        enhanced clip also the same two before enhancement (silent), which the preview shows beside it."""
        folder = Path(tempfile.mkdtemp(prefix="dawn-preview-"))
        n = result.num_frames
        clips: list[tuple[str, str, np.ndarray, bool]] = [("crop", "face crop", result.frames, True),
                                                          ("full", "full photo", result.frames, True)]
        if result.unenhanced is not None:
            clips += [("crop-before", "face crop before enhancement", result.unenhanced, False),
                      ("full-before", "full photo before enhancement", result.unenhanced, False)]
        total = len(clips) * n
        settings = ExportSettings(quality=20, preset="veryfast")
        try:
            for index, (view, label, crops, sound) in enumerate(clips):
                def progress(done: int, frames: int, offset: int = index * n, label: str = label) -> None:
                    tracker.update("compose", offset + done, total, detail=f"{label}, frame {done}/{frames}")

                frames = (fit_within(paste_back(crops, result.portrait.rgb, result.face.crop), PREVIEW_MAX_SIDE)
                          if view.startswith("full") else crops)
                export_video(frames, n, folder / f"{view}.mp4", audio=result.track if sound else None,
                             sample_rate=result.track_rate, settings=settings, progress=progress, cancel=cancel)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return folder

    # ---- output --------------------------------------------------------------------------
    def export(self, result: GenerationResult, path: str | Path, settings: ExportSettings, *,
               full_frame: bool = True, progress: StepCallback | None = None,
               cancel: CancelToken | None = None) -> Path:
        """Write the clip (pasted back or crop) with its speech to ``path``."""
        frames = result.full_frames() if full_frame else iter(result.frames)
        return export_video(frames, result.num_frames, path, audio=result.track, sample_rate=result.track_rate,
                            settings=settings, progress=progress, cancel=cancel)

    def release_memory(self) -> None:
        """Drop loaded models (they reload on the next job) and cached results."""
        self.models.release()
        self.cache.clear()
        heap.return_freed_memory()


def estimate_fits(job: Job, device: ComputeDevice) -> None:
    """Refuse a clip that cannot fit from the speech's stated duration, before anything is decoded or
    run (ClipTooLongError; the exact check follows once the speech is decoded)."""
    duration = probe_audio(job.audio).duration_s
    if duration is None:
        return
    end = duration if job.trim_end is None else min(job.trim_end, duration)
    if end > job.trim_start:
        check_fits(int((end - job.trim_start) * FPS), job.resolution, device)


@dataclass(frozen=True)
class InitialState:
    """The portrait's state the job starts from, and the face whose crop the generator sees."""

    init_pose: np.ndarray  # (1, 7)
    init_eye_bbox: np.ndarray  # (1, 8)
    face: FaceResult

    @property
    def state(self) -> PortraitState:
        return PortraitState.from_preprocessing(self.init_pose, self.init_eye_bbox)


def _initial_state(analysis: PortraitAnalysis, job: Job, rules: PipelineBehaviour) -> InitialState:
    """The chosen face's state; under the reference preset the pose of the last detected face and the
    eyes and box of the first, like the published script (B4)."""
    if rules.reference_face_choice:
        first, last = analysis.faces[0], analysis.faces[-1]
        return InitialState(last.init_pose(), first.init_eye_bbox(), first)
    face = analysis.face(job.face_index)
    return InitialState(face.init_pose(), face.init_eye_bbox(), face)


def fit_within(frames: Iterator[np.ndarray], max_side: int) -> Iterator[np.ndarray]:
    """Frames scaled down (never up) so their longer side is at most ``max_side``, even-sized."""
    import cv2

    for frame in frames:
        height, width = frame.shape[:2]
        scale = max_side / max(height, width)
        if scale >= 1.0:
            yield frame
            continue
        size = (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))
        yield cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _trimmed(samples: np.ndarray, rate: int, start_s: float, end_s: float | None) -> np.ndarray:
    start = int(round(start_s * rate))
    end = samples.shape[0] if end_s is None else min(samples.shape[0], int(round(end_s * rate)))
    if start >= samples.shape[0]:
        raise EngineError(f"The trim starts at {start_s:.2f} s, after the end of the speech "
                          f"({samples.shape[0] / rate:.2f} s)")
    return np.ascontiguousarray(samples[start:end])


def _speech_track(job: Job, speech: SpeechInput) -> tuple[np.ndarray, int]:
    """The speech at its own sample rate (up to 48 kHz) for the video's sound, trimmed like the model input."""
    rate = int(min(48_000, max(16_000, speech.audio.info.sample_rate)))
    if rate == speech.audio.sample_rate:
        full = speech.audio.samples
    else:
        full = decode_audio(job.audio, DecodeOptions(sample_rate=rate)).samples
    return _trimmed(full, rate, job.trim_start, job.trim_end), rate


__all__ = ["Cancelled", "Engine", "EngineError", "GenerationResult", "SpeechClip"]
