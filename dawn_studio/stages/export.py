"""Encode generated frames plus the speech into a file: MP4 (H.264 + AAC), WebM, GIF or PNG frames.

Everything is written under a temporary name in the destination folder and renamed on
success, so a cancelled or failed export never leaves a half-written file, and an existing
file is replaced only when the caller asks for it.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
import uuid
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np

from ..frame_rate import FPS
from ..progress import CancelToken, StepCallback, check_cancel, report

#: Above this many pixels per frame (a full-frame export of a large photo), the encoder looks ahead
#: 5 frames instead of 40: about 0.5 GB less memory at 6000×6000 for the same speed.
LARGE_FRAME_PIXELS = 8_000_000
ExportFormat = Literal["mp4", "webm", "gif", "png"]
FORMAT_SUFFIX: dict[str, str] = {"mp4": ".mp4", "webm": ".webm", "gif": ".gif", "png": ""}
FORMAT_LABELS: dict[str, str] = {
    "mp4": "MP4 video (H.264 + AAC)",
    "webm": "WebM video (VP9 + Opus)",
    "gif": "Animated GIF (no sound)",
    "png": "PNG frames + WAV (lossless)",
}


#: GIF has no sound and no inter-frame compression worth the name: fewer and smaller frames are what
#: keeps it small. ``gif_frame_step`` keeps every n-th frame (25, 12.5 or 8.3 fps).
GIF_FRAME_STEPS = (1, 2, 3)
#: Bytes per pixel per frame of a 256-colour GIF of a photo (median cut, as written here), measured on
#: the sample portraits at 320–450 px: 0.69–0.82. Used only to estimate a size before exporting.
GIF_BYTES_PER_PIXEL = 0.75


class ExportError(Exception):
    """The file cannot be written; the message says why and what to do."""


@dataclass(frozen=True)
class ExportSettings:
    """How to encode. ``quality`` is the CRF of H.264/VP9: lower = better and bigger (18 ≈ visually lossless).
    A GIF can be scaled down (``gif_max_side``: the longer side in pixels) and keep every n-th frame
    (``gif_frame_step``), which is what makes it small enough to share."""

    format: ExportFormat = "mp4"
    quality: int = 18
    preset: str = "medium"
    audio_bitrate: int = 160_000
    overwrite: bool = False
    gif_max_side: int | None = None
    gif_frame_step: int = 1

    def __post_init__(self) -> None:
        if self.format not in FORMAT_SUFFIX:
            raise ValueError(f"Unknown export format '{self.format}' (choose from {', '.join(FORMAT_SUFFIX)})")
        if isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 0 <= self.quality <= 63:
            raise ValueError("Quality (CRF) must be between 0 and 63")
        if self.gif_frame_step not in GIF_FRAME_STEPS:
            raise ValueError(f"The GIF frame step must be one of {GIF_FRAME_STEPS}")
        if self.gif_max_side is not None and self.gif_max_side < 16:
            raise ValueError("The GIF size must be at least 16 pixels")

    @property
    def gif_fps(self) -> float:
        return FPS / self.gif_frame_step


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """``width``×``height`` scaled down (never up) so the longer side is at most ``max_side``."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def estimate_gif_bytes(width: int, height: int, num_frames: int, settings: ExportSettings) -> int:
    """About how big the GIF of ``num_frames`` frames of ``width``×``height`` will be (±20 % on photos)."""
    out_w, out_h = scaled_size(width, height, settings.gif_max_side)
    kept = -(-num_frames // settings.gif_frame_step)
    return int(out_w * out_h * kept * GIF_BYTES_PER_PIXEL)


def even_size(width: int, height: int) -> tuple[int, int]:
    """Video codecs with 4:2:0 chroma need even sides: drop the last odd row/column."""
    return width - width % 2, height - height % 2


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: the same resolved path (links, ``..``) or the same inode
    (hard links). A path that does not exist yet is only the same as another by name."""
    first, second = Path(a).expanduser(), Path(b).expanduser()
    try:
        if first.resolve() == second.resolve():
            return True
    except (OSError, RuntimeError):
        pass
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):
        return False


def partial_name(target: Path) -> Path:
    """The temporary name an export writes under: hidden, beside the target, marked with this process."""
    return target.with_name(f".{target.name or 'export'}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
                            f"{target.suffix}")


_PARTIAL_TAG = re.compile(r"^(?:(?P<pid>\d+)-)?[0-9a-f]{8}$")
#: Where the owner of a partial file cannot be asked whether it still runs (Windows), it is
#: considered abandoned after this long.
_ABANDONED_AFTER_S = 24 * 3600


def remove_abandoned_partials(target: Path) -> list[Path]:
    """Delete partial files of ``target`` left by an earlier export that was killed (its process is gone);
    those of an export still running are kept. Returns what was removed."""
    prefix, suffix = f".{target.name or 'export'}.", f".partial{target.suffix}"
    removed = []
    try:
        entries = list(target.parent.iterdir()) if str(target.parent) else list(Path(".").iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        match = _PARTIAL_TAG.match(name[len(prefix):len(name) - len(suffix)])
        if match is None or not _abandoned(entry, match.group("pid")):
            continue
        try:
            _remove(entry)
        except OSError:
            continue
        removed.append(entry)
    return removed


def _abandoned(entry: Path, pid: str | None) -> bool:
    if pid is None:  # written before partial names carried their process
        return True
    if os.name != "posix":
        try:
            return time.time() - entry.lstat().st_mtime > _ABANDONED_AFTER_S
        except OSError:
            return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False
    return False


def check_destination(path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Fail early (before any heavy work) if the result could not be written to ``path``; removes the
    partial files a killed earlier export of the same target left behind."""
    target = Path(path).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if folder.is_dir():
        remove_abandoned_partials(target)
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists. Choose another name or allow overwriting.")
    if target.exists() and target.is_dir() != (target.suffix == ""):
        raise ExportError(f"{target} exists and is a {'folder' if target.is_dir() else 'file'}.")
    if not folder.is_dir():
        raise ExportError(f"The folder {folder} does not exist.")
    try:
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".dawn-write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise ExportError(f"Cannot write into {folder}: {exc.strerror or exc}. Choose another folder.") from exc
    return target


def _disk_error(exc: OSError, target: Path) -> ExportError:
    if exc.errno == errno.ENOSPC:
        return ExportError(f"The disk is full: {target} could not be written. Free some space and export again.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ExportError(f"No permission to write {target}.")
    return ExportError(f"Writing {target} failed: {exc.strerror or exc}")


def _iter_frames(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Accept single frames (H, W, 3) or chunks (N, H, W, 3) of uint8 RGB."""
    for item in frames:
        array = np.asarray(item)
        if array.ndim == 3:
            yield array
        elif array.ndim == 4:
            yield from array
        else:
            raise ValueError(f"frames must be (H, W, 3) or (N, H, W, 3) arrays, got shape {array.shape}")


def _prepare(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB, got {frame.dtype}")
    if frame.shape[-1] != 3:
        raise ValueError(f"frames must have 3 colour channels, got shape {frame.shape}")
    if size is not None:
        frame = frame[: size[1], : size[0]]
    return np.ascontiguousarray(frame)


def audio_for_frames(audio: np.ndarray, sample_rate: int, num_frames: int) -> np.ndarray:
    """The speech cut (or padded with silence) to exactly ``num_frames`` video frames."""
    samples = int(round(num_frames * sample_rate / FPS))
    mono = np.asarray(audio, dtype=np.float32).reshape(-1)
    if mono.shape[0] >= samples:
        return mono[:samples]
    return np.concatenate([mono, np.zeros(samples - mono.shape[0], np.float32)])


def _encode_audio(container: av.container.OutputContainer, stream: av.AudioStream,
                  audio: np.ndarray, sample_rate: int) -> None:
    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono",
                                  rate=stream.codec_context.sample_rate)
    fifo = av.AudioFifo()
    frame_size = stream.codec_context.frame_size or 1024
    pts = 0
    block = sample_rate  # one second at a time keeps memory flat for long speech
    for start in range(0, max(audio.shape[0], 1), block):
        chunk = audio[start:start + block]
        if chunk.size == 0:
            break
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = sample_rate
        for resampled in resampler.resample(frame):
            fifo.write(resampled)
        while fifo.samples >= frame_size:
            out = fifo.read(frame_size)
            out.pts = pts
            pts += out.samples
            container.mux(stream.encode(out))
    for resampled in resampler.resample(None):
        fifo.write(resampled)
    if fifo.samples:
        out = fifo.read(fifo.samples)
        out.pts = pts
        container.mux(stream.encode(out))
    container.mux(stream.encode(None))


def _write_av(tmp: Path, frames: Iterator[np.ndarray], num_frames: int, size: tuple[int, int],
              audio: np.ndarray | None, sample_rate: int, settings: ExportSettings,
              progress: StepCallback | None, cancel: CancelToken | None) -> int:
    mp4 = settings.format == "mp4"
    container = av.open(str(tmp), mode="w", format="mp4" if mp4 else "webm")
    written = 0
    try:
        video = container.add_stream("libx264" if mp4 else "libvpx-vp9", rate=FPS)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, FPS)
        if mp4:
            video.options = {"crf": str(settings.quality), "preset": settings.preset,
                             "movflags": "+faststart"}
            if size[0] * size[1] > LARGE_FRAME_PIXELS:  # each frame x264 looks ahead to is held in memory
                video.options["x264-params"] = "rc-lookahead=5:sync-lookahead=0"
        else:
            video.options = {"crf": str(settings.quality), "b": "0", "row-mt": "1", "deadline": "good",
                             "cpu-used": "4"}
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream("aac" if mp4 else "libopus", rate=sample_rate if mp4 else 48000)
            audio_stream.layout = "mono"
            audio_stream.bit_rate = settings.audio_bitrate
        for frame in frames:
            check_cancel(cancel)
            vf = av.VideoFrame.from_ndarray(_prepare(frame, size), format="rgb24")
            vf.pts = written
            container.mux(video.encode(vf))
            written += 1
            report(progress, written, num_frames)
        container.mux(video.encode(None))
        if audio_stream is not None and audio is not None:
            _encode_audio(container, audio_stream, audio_for_frames(audio, sample_rate, written), sample_rate)
    finally:
        container.close()
    return written


def _write_gif(tmp: Path, frames: Iterator[np.ndarray], num_frames: int, size: tuple[int, int] | None,
               progress: StepCallback | None, cancel: CancelToken | None, settings: ExportSettings) -> int:
    from PIL import Image

    count = 0  # frames consumed (every one counts for the progress and the length check)
    step = settings.gif_frame_step

    def images() -> Iterator[Image.Image]:
        nonlocal count
        for frame in frames:
            check_cancel(cancel)
            keep = count % step == 0
            count += 1
            report(progress, count, num_frames)
            if not keep:
                continue
            image = Image.fromarray(_prepare(frame, size))
            target = scaled_size(image.width, image.height, settings.gif_max_side)
            if target != image.size:
                image = image.resize(target, Image.Resampling.LANCZOS)
            yield image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)

    stream = images()
    first = next(stream, None)
    if first is None:
        raise ExportError("There are no frames to export.")
    first.save(tmp, format="GIF", save_all=True, append_images=stream, duration=step * 1000 // FPS, loop=0,
               optimize=False, disposal=1)
    return count


def _write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


def _write_png_dir(tmp: Path, frames: Iterator[np.ndarray], num_frames: int, audio: np.ndarray | None,
                   sample_rate: int, progress: StepCallback | None, cancel: CancelToken | None) -> int:
    from PIL import Image

    tmp.mkdir()
    count = 0
    digits = max(5, len(str(num_frames)))
    for frame in frames:
        check_cancel(cancel)
        Image.fromarray(_prepare(frame, None)).save(tmp / f"frame_{count:0{digits}d}.png", compress_level=3)
        count += 1
        report(progress, count, num_frames)
    if audio is not None:
        _write_wav(tmp / "audio.wav", audio_for_frames(audio, sample_rate, count), sample_rate)
    return count


def export_video(
    frames: Iterable[np.ndarray], num_frames: int, path: str | os.PathLike[str], *,
    audio: np.ndarray | None = None, sample_rate: int = 16000, settings: ExportSettings | None = None,
    progress: StepCallback | None = None, cancel: CancelToken | None = None,
) -> Path:
    """Encode ``frames`` (uint8 RGB, 25 fps) with the speech ``audio`` (mono float) into ``path``.

    The audio is cut or padded to exactly the video's length. For the PNG format ``path`` is a
    folder that receives ``frame_00000.png …`` and ``audio.wav``. Returns the written path.
    """
    settings = settings or ExportSettings()
    target = check_destination(path, settings.overwrite)
    if num_frames <= 0:
        raise ExportError("There are no frames to export.")
    stream = _iter_frames(frames)
    first = next(stream, None)
    if first is None:
        raise ExportError("There are no frames to export.")
    height, width = first.shape[:2]
    size = even_size(width, height)
    if settings.format in ("mp4", "webm") and min(size) < 2:
        raise ExportError(f"Frames of {width}×{height} pixels are too small to encode as video.")

    def all_frames() -> Iterator[np.ndarray]:
        yield first
        yield from stream

    tmp = partial_name(target)
    try:
        if settings.format in ("mp4", "webm"):
            written = _write_av(tmp, all_frames(), num_frames, size, audio, sample_rate, settings,
                                progress, cancel)
        elif settings.format == "gif":
            written = _write_gif(tmp, all_frames(), num_frames, None, progress, cancel, settings)
        else:
            written = _write_png_dir(tmp, all_frames(), num_frames, audio, sample_rate, progress, cancel)
        check_cancel(cancel)
        if written != num_frames:
            raise ExportError(f"Expected {num_frames} frames but received {written}; nothing was written.")
        if target.exists():
            if not settings.overwrite:
                raise ExportError(f"{target} appeared while exporting; it was left untouched.")
            if target.is_dir():
                shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise _disk_error(exc, target) from exc
    except BaseException:
        _remove(tmp)
        raise
    return target


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
