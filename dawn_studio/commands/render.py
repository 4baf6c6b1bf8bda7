"""``dawn-studio render``: portrait + speech → video file, from the command line (scripts, batches)."""

from __future__ import annotations

import argparse
import logging
import stat
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..engine.events import ProgressEvent, format_duration
from ..engine.job import QUALITY_STEPS, Job, JobError
from ..engine.presets import PRESETS
from ..modelstore import ModelStore, ModelStoreError
from ..modelstore.contents import ENHANCE_FEATURE, enhancer_readiness, require_video
from ..progress import Cancelled
from ..stages.export import FORMAT_SUFFIX, ExportError, check_destination
from ..stages.motion import MotionControls, MotionError
from .terminal import with_cancel_on_interrupt

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_MODELS_MISSING = 3
EXIT_BAD_INPUT = 4
EXIT_OUTPUT = 5
EXIT_CANCELLED = 130

_MOTION_FLAGS = {
    "head_motion": "pose_strength", "rotation_strength": "rotation_strength",
    "translation_strength": "translation_strength", "blink_strength": "blink_strength",
    "variety": "variety", "seed": "seed", "still_head": "still_head",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="generate a talking-head video from a portrait and a speech recording",
        description="Generate a talking-head video. Settings not given come from --project, else the defaults. "
        f"Exit codes: {EXIT_OK} done, {EXIT_FAILURE} failed, {EXIT_USAGE} bad arguments, "
        f"{EXIT_MODELS_MISSING} model files missing, {EXIT_BAD_INPUT} unusable portrait or speech, "
        f"{EXIT_OUTPUT} output cannot be written, {EXIT_CANCELLED} cancelled (Ctrl-C).",
    )
    io = parser.add_argument_group("input and output")
    io.add_argument("--portrait", "-p", metavar="IMAGE", help="the photo to animate (JPEG, PNG, WebP, …)")
    io.add_argument("--audio", "-a", metavar="AUDIO", help="the speech (WAV, MP3, M4A, FLAC, OGG, or a video)")
    io.add_argument("--output", "-o", metavar="FILE", help="where to write the video (.mp4, .webm, .gif, or a folder "
                    "for PNG frames)")
    io.add_argument("--project", metavar="FILE", help="read settings from a .dawn project file")
    io.add_argument("--save-project", metavar="FILE", help="also save the settings used as a .dawn project")
    io.add_argument("--overwrite", action="store_true", default=None, help="replace OUTPUT if it exists")
    io.add_argument("--format", choices=sorted(FORMAT_SUFFIX), help="output format (default: from the extension)")
    io.add_argument("--crf", type=int, metavar="N", help="video quality, lower is better (default 18)")
    framing = io.add_mutually_exclusive_group()
    framing.add_argument("--full-frame", dest="full_frame", action="store_true", default=None,
                         help="paste the animated face back into the whole photo (default)")
    framing.add_argument("--crop", dest="full_frame", action="store_false", help="write only the face crop")

    model = parser.add_argument_group("model")
    model.add_argument("--resolution", type=int, choices=(128, 256), help="model size (default 128)")
    model.add_argument("--steps", type=int, metavar="N",
                       help=f"diffusion steps: {QUALITY_STEPS['standard']} = reference quality (default), "
                       f"fewer = faster draft")
    model.add_argument("--draft", action="store_true", help=f"fast draft ({QUALITY_STEPS['draft']} steps)")
    model.add_argument("--cfg", type=float, metavar="SCALE", help="classifier-free guidance scale (default 1)")
    model.add_argument("--framing", choices=("face", "reference"),
                       help="'face': square crop around the face (default); 'reference': squash the whole "
                       "photo like the original DAWN code")
    model.add_argument("--face", type=int, metavar="N", help="which face when there are several (0 = largest "
                       "detector score, default)")
    model.add_argument("--preset", choices=PRESETS,
                       help="'studio': the studio's fixes of the original code's quirks (default); 'reference': "
                       "reproduce the original DAWN pipeline (dense-mesh eyes and box, swapped box axes, squashed "
                       "photo, channel-0 audio, at most 200 frames rendered; see the README)")
    model.add_argument("--face-loc-weights", metavar="FILE",
                       help="face-location weights (.pth state dict) instead of the shipped seed-1234 ones")
    model.add_argument("--device", metavar="DEV", help="auto (default), cpu, cuda, cuda:N or mps")
    model.add_argument("--models", type=Path, metavar="DIR", help="model folder (default: the model store)")
    enhance = model.add_mutually_exclusive_group()
    enhance.add_argument("--enhance", type=_strength, nargs="?", const=1.0, metavar="STRENGTH",
                         help="restore the face after rendering (GFPGAN v1.4; needs its weights): STRENGTH from "
                         "0 (off) to 1 (fully restored, the default when no value is given); the face crop "
                         "is then 512×512")
    enhance.add_argument("--no-enhance", dest="enhance", action="store_const", const=0.0,
                         help="no face enhancement, even when --project asks for it")

    motion = parser.add_argument_group("motion (0 = none, 1 = as generated, up to 2)")
    motion.add_argument("--pose-strength", type=float, metavar="X", help="head movement overall")
    motion.add_argument("--rotation-strength", type=float, metavar="X", help="head turning and nodding")
    motion.add_argument("--translation-strength", type=float, metavar="X", help="head shifting and scaling")
    motion.add_argument("--blink-strength", type=float, metavar="X", help="blinking (0 = eyes stay as in the photo)")
    motion.add_argument("--variety", type=float, metavar="X", help="how lively and varied (0 = the average motion)")
    motion.add_argument("--still-head", action="store_true", default=None, help="keep the head still")
    motion.add_argument("--seed", type=int, metavar="N", help="random seed: same inputs + seed = same video")

    timing = parser.add_argument_group("speech selection")
    timing.add_argument("--trim-start", type=float, metavar="SEC", help="start of the speech to use")
    timing.add_argument("--trim-end", type=float, metavar="SEC", help="end of the speech to use")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    parser.set_defaults(func=run_render)


def _strength(text: str) -> float:
    """--enhance's value: a number (its range is the job's to check, with the job's message)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the strength must be a number from 0 to 1, got {text!r}") from None


def build_job(args: argparse.Namespace) -> Job:
    """The job from --project (if any) with every flag given on the command line applied over it."""
    base = Job.load(args.project) if args.project else None
    portrait = args.portrait or (base.portrait if base else None)
    audio = args.audio or (base.audio if base else None)
    if not portrait or not audio:
        raise JobError("Give --portrait and --audio (or a --project that names them)")
    job = base.with_changes(portrait=portrait, audio=audio) if base else Job(portrait=portrait, audio=audio)

    motion_changes = {field: getattr(args, flag) for field, flag in _MOTION_FLAGS.items()
                      if getattr(args, flag) is not None}
    motion = MotionControls.from_dict({**job.motion.to_dict(), **motion_changes})
    out_changes: dict[str, Any] = {}
    if args.output:
        out_changes["path"] = args.output
        suffix = Path(args.output).suffix.lower()
        guessed = next((k for k, v in FORMAT_SUFFIX.items() if v and v == suffix), "png" if not suffix else None)
        if args.format is None and guessed is None:
            raise JobError(f"Cannot tell the format from '{suffix}': use .mp4, .webm, .gif, a folder, or --format")
        out_changes["format"] = args.format or guessed
    elif args.format:
        out_changes["format"] = args.format
    for name, value in (("quality", args.crf), ("full_frame", args.full_frame), ("overwrite", args.overwrite)):
        if value is not None:
            out_changes[name] = value
    output = replace(job.output, **out_changes)
    changes: dict[str, Any] = {"motion": motion, "output": output}
    if args.draft:
        changes["steps"] = QUALITY_STEPS["draft"]
    for name, value in (("resolution", args.resolution), ("steps", args.steps), ("guidance_scale", args.cfg),
                        ("framing", args.framing), ("face_index", args.face), ("device", args.device),
                        ("preset", args.preset), ("face_loc_weights", args.face_loc_weights),
                        ("trim_start", args.trim_start), ("trim_end", args.trim_end)):
        if value is not None:
            changes[name] = value
    if getattr(args, "enhance", None) is not None:
        changes["enhance"] = args.enhance or None  # 0: off
    return job.with_changes(**changes)


class RenderProgress:
    """Stage and step on one terminal line (or a line per stage when not a terminal)."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self.tty = out.isatty()
        self.last_stage = ""
        self.last_draw = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        if not self.tty:
            if event.stage != self.last_stage:
                self.last_stage = event.stage
                print(f"{event.fraction * 100:5.1f}%  {event.label}{' (cached)' if event.cached else ''}",
                      file=self.out, flush=True)
            return
        now = time.monotonic()
        if now - self.last_draw < 0.1 and event.stage == self.last_stage and event.step < event.total:
            return
        self.last_draw, self.last_stage = now, event.stage
        filled = int(30 * event.fraction)
        line = f"\r[{'#' * filled}{'.' * (30 - filled)}] {event.fraction * 100:5.1f}%  {event.describe()}"
        print(line[:150].ljust(150), end="", file=self.out, flush=True)

    def message(self, text: str) -> None:
        if not self.quiet:
            if self.tty:
                print(file=self.out)
            print(text, file=self.out, flush=True)


class Refusal(Exception):
    """A check before any heavy work failed: the message for the person, and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _input_file(path: str, label: str) -> Path:
    """``path`` as an existing, readable regular file (a named pipe is never opened: it would block)."""
    source = Path(path).expanduser()
    try:
        info = source.stat()
    except FileNotFoundError:
        raise Refusal(f"{label} file not found: {source}", EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise Refusal(f"Cannot read the {label.lower()} file {source}: {exc.strerror or exc}", EXIT_BAD_INPUT) from None
    if stat.S_ISDIR(info.st_mode):
        raise Refusal(f"{label} {source} is a folder, not a file", EXIT_BAD_INPUT)
    if not stat.S_ISREG(info.st_mode):
        raise Refusal(f"{label} {source} is not a regular file (a pipe, device or socket)", EXIT_BAD_INPUT)
    try:
        with open(source, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        raise Refusal(f"Cannot read the {label.lower()} file {source}: {reason}", EXIT_BAD_INPUT) from None
    return source


def _refuse_same_files(job: Job, args: argparse.Namespace) -> None:
    """No output may be one of the inputs, whatever --overwrite says: it would destroy the input."""
    from ..stages.export import same_file

    inputs = [("portrait", job.portrait), ("speech", job.audio)]
    outputs = [("output", job.output.path)]
    if args.project:
        inputs.append(("project", args.project))
    if args.save_project:
        outputs.append(("project to save", args.save_project))
    for out_label, out_path in outputs:
        for in_label, in_path in inputs:
            if in_label == "project" and out_label == "project to save":
                continue  # saving the settings back into the project they came from is an update
            if out_path and same_file(out_path, in_path):
                raise Refusal(f"The {out_label} {out_path} is the same file as the {in_label} {in_path}; "
                              "choose another name (nothing was written)", EXIT_USAGE)
    if args.save_project and job.output.path and same_file(args.save_project, job.output.path):
        raise Refusal(f"The project to save {args.save_project} is the same file as the output; "
                      "choose another name", EXIT_USAGE)


def _check_project_destination(target: Path) -> None:
    """A project may be saved over an earlier project, never over any other file, into a writable folder."""
    from ..engine.job import PROJECT_FORMAT

    if target.is_dir():
        raise Refusal(f"{target} is a folder; give a file name for the project", EXIT_OUTPUT)
    if target.exists():
        try:
            with open(target, "rb") as handle:
                is_project = PROJECT_FORMAT.encode() in handle.read(4096)
        except OSError:
            is_project = False
        if not is_project or not stat.S_ISREG(target.stat().st_mode):
            raise Refusal(f"{target} exists and is not a DAWN Studio project; choose another name for the "
                          "project (it was left untouched)", EXIT_OUTPUT)
    try:
        check_destination(target, overwrite=True)
    except ExportError as exc:
        raise Refusal(str(exc), EXIT_OUTPUT) from None


def preflight(job: Job, args: argparse.Namespace) -> None:
    """Every check that needs no model, in the order a person fixes things: settings, inputs, output,
    the speech's length against the memory, the speech itself. Raises Refusal."""
    from ..device import resolve_device
    from ..engine.engine import estimate_fits
    from ..engine.memory import ClipTooLongError
    from ..stages.audio import AudioError, load_speech, probe_audio
    from ..stages.portrait import PortraitError, load_portrait

    if job.output.path is None:
        raise Refusal("give --output FILE", EXIT_USAGE)
    try:
        device = resolve_device(job.device)
    except ValueError as exc:
        raise Refusal(str(exc), EXIT_USAGE) from None
    portrait = _input_file(job.portrait, "Portrait")
    speech = _input_file(job.audio, "Speech")
    if job.face_loc_weights is not None and not Path(job.face_loc_weights).is_file():
        raise Refusal(f"Face-location weight file not found: {job.face_loc_weights}", EXIT_USAGE)
    _refuse_same_files(job, args)
    try:
        check_destination(job.output.path, job.output.overwrite)
    except ExportError as exc:
        message = str(exc)
        if "already exists" in message:
            message += " (only --overwrite on the command line allows replacing it)"
        raise Refusal(message, EXIT_OUTPUT) from None
    if args.save_project:
        _check_project_destination(Path(args.save_project))
    try:
        duration = probe_audio(speech).duration_s
        if duration is not None and job.trim_start >= duration:
            raise Refusal(f"The trim starts at {job.trim_start:.2f} s, after the end of the speech "
                          f"({duration:.2f} s)", EXIT_USAGE)
        estimate_fits(job, device)  # from the stated duration: nothing decoded yet
        load_speech(speech)  # decodes and checks the samples (damaged, invalid, too short)
        load_portrait(portrait)
    except (AudioError, PortraitError, ClipTooLongError) as exc:
        raise Refusal(str(exc), EXIT_BAD_INPUT) from None


def run_render(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        job = build_job(args)
        preflight(job, args)
    except (JobError, MotionError) as exc:
        print(f"Error: {exc}", file=err)
        return EXIT_USAGE
    except Refusal as exc:
        log.info("render refused before loading models", exc_info=True)
        print(f"Error: {exc}", file=err)
        return exc.code
    return _render(job, args)


def _render(job: Job, args: argparse.Namespace) -> int:
    from ..engine.engine import Engine, EngineError
    from ..engine.memory import ClipTooLongError
    from ..engine.models import ModelLoadError
    from ..loading.checkpoint import CheckpointError
    from ..loading.pbnet_options import PBNetOptionsError
    from ..networks.lfg.config import LFGConfigError
    from ..networks.pbnet.config import PBNetConfigError
    from ..stages.audio import AudioError
    from ..stages.portrait import PortraitError, PortraitModelError

    err = sys.stderr
    assert job.output.path is not None
    try:
        store = ModelStore(args.models, reason="given with --models") if args.models else ModelStore.locate()
        require_video(store, job.resolution)
        if job.enhance:
            ready, missing = enhancer_readiness(store)
            if not ready:
                raise ModelStoreError(f"Face enhancement needs the GFPGAN v1.4 weights: {missing}. Get them with "
                                      f"`dawn-studio models download {ENHANCE_FEATURE}`, or render without --enhance")
    except ModelStoreError as exc:
        log.info("the model folder cannot generate", exc_info=True)
        print(f"Error: {exc}", file=err)
        return EXIT_MODELS_MISSING
    if args.save_project:
        try:
            job.save(args.save_project)
        except OSError as exc:
            print(f"Error: cannot save the project {args.save_project}: {exc.strerror or exc}", file=err)
            return EXIT_OUTPUT

    progress = RenderProgress(err, args.quiet)
    engine = Engine(store.root)
    export_seconds = 0.0

    def work(cancel):
        nonlocal export_seconds
        result = engine.run(job, progress, cancel, previews=False)
        for warning in result.warnings:
            progress.message(f"Warning: {warning}")
        progress.message(f"Encoding {result.num_frames} frames ({result.duration_s:.2f} s)…")
        started = time.perf_counter()
        written = engine.export(result, job.output.path, job.output.export_settings(),
                                full_frame=job.output.full_frame, cancel=cancel)
        export_seconds = time.perf_counter() - started
        return result, written

    failures: tuple[tuple[tuple[type[BaseException], ...], int], ...] = (
        ((PortraitModelError, CheckpointError, ModelStoreError, ModelLoadError, PBNetOptionsError,
          PBNetConfigError, LFGConfigError), EXIT_MODELS_MISSING),
        ((PortraitError, AudioError, ClipTooLongError), EXIT_BAD_INPUT),
        ((ExportError,), EXIT_OUTPUT),
        ((EngineError, JobError), EXIT_FAILURE),
    )
    try:
        result, written = with_cancel_on_interrupt(work)
    except Cancelled:
        progress.message("Cancelled; nothing was written.")
        return EXIT_CANCELLED
    except Exception as exc:
        code = next((code for kinds, code in failures if isinstance(exc, kinds)), None)
        if code is None:
            raise
        log.info("render failed", exc_info=True)
        print(f"Error: {exc}", file=err)  # errors are shown even with --quiet
        return code
    total = result.timings.get("total", 0.0)
    progress.message(f"Wrote {written} ({result.num_frames} frames, {result.duration_s:.2f} s) "
                     f"in {format_duration(total + export_seconds)} (generating {format_duration(total)}, "
                     f"export {format_duration(export_seconds)}).")
    return EXIT_OK
