"""``dawn-studio render``: portrait + speech → video file, from the command line (scripts, batches)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..engine.events import ProgressEvent, format_duration
from ..engine.job import QUALITY_STEPS, Job, JobError
from ..engine.presets import PRESETS
from ..modelstore import ModelsMissingError, ModelStore
from ..modelstore.contents import require_video
from ..progress import Cancelled
from ..stages.export import FORMAT_SUFFIX, ExportError, check_destination
from ..stages.motion import MotionControls, MotionError
from .terminal import with_cancel_on_interrupt

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


def run_render(args: argparse.Namespace) -> int:
    from ..engine.engine import Engine, EngineError
    from ..engine.memory import ClipTooLongError
    from ..loading.checkpoint import CheckpointError
    from ..stages.audio import AudioError
    from ..stages.portrait import PortraitError

    err = sys.stderr
    try:
        job = build_job(args)
    except (JobError, MotionError) as exc:
        print(f"Error: {exc}", file=err)
        return EXIT_USAGE
    if job.output.path is None:
        print("Error: give --output FILE", file=err)
        return EXIT_USAGE
    for label, path in (("Portrait", job.portrait), ("Speech", job.audio)):
        if not Path(path).is_file():
            print(f"Error: {label} file not found: {path}", file=err)
            return EXIT_BAD_INPUT
    if job.face_loc_weights is not None and not Path(job.face_loc_weights).is_file():
        print(f"Error: Face-location weight file not found: {job.face_loc_weights}", file=err)
        return EXIT_USAGE
    try:
        check_destination(job.output.path, job.output.overwrite)
    except ExportError as exc:
        print(f"Error: {exc}", file=err)
        return EXIT_OUTPUT
    store = ModelStore(args.models, reason="given with --models") if args.models else ModelStore.locate()
    try:
        require_video(store, job.resolution)
    except ModelsMissingError as exc:
        print(f"Error: {exc}", file=err)
        return EXIT_MODELS_MISSING
    if args.save_project:
        job.save(args.save_project)

    progress = RenderProgress(err, args.quiet)
    engine = Engine(store.root)

    def work(cancel):
        result = engine.run(job, progress, cancel, previews=False)
        for warning in result.warnings:
            progress.message(f"Warning: {warning}")
        progress.message(f"Encoding {result.num_frames} frames ({result.duration_s:.2f} s)…")
        written = engine.export(result, job.output.path, job.output.export_settings(),
                                full_frame=job.output.full_frame, cancel=cancel)
        return result, written

    try:
        result, written = with_cancel_on_interrupt(work)
    except Cancelled:
        progress.message("Cancelled; nothing was written.")
        return EXIT_CANCELLED
    except (PortraitError, AudioError) as exc:
        progress.message(f"Error: {exc}")
        return EXIT_BAD_INPUT
    except ExportError as exc:
        progress.message(f"Error: {exc}")
        return EXIT_OUTPUT
    except (CheckpointError, ModelsMissingError) as exc:
        progress.message(f"Error: {exc}")
        return EXIT_MODELS_MISSING
    except (EngineError, ClipTooLongError, JobError) as exc:
        progress.message(f"Error: {exc}")
        return EXIT_FAILURE
    total = result.timings.get("total", 0.0)
    progress.message(f"Wrote {written} ({result.num_frames} frames, {result.duration_s:.2f} s) "
                     f"in {format_duration(total)}.")
    return EXIT_OK
