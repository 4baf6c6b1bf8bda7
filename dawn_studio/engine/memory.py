"""Will a clip fit? Memory the diffusion pass needs for T frames, versus what the device has free.

The diffusion model couples all frames (GroupNorm statistics, the threshold quantile, the ±40
frame attention window), so a clip is generated in one pass or not at all: splitting it would
compute a different function. This check turns an out-of-memory crash deep in the sampler into
a clear message before any heavy work, with the longest clip that would fit.
"""

from __future__ import annotations

import os

import torch

from .. import heap
from ..device import ComputeDevice
from ..frame_rate import FPS

#: Peak working memory per frame of one float32 diffusion step, plus what the loaded models and the
#: runtime need regardless of length. Calibrated with ``dawn-studio bench --steps 1`` (CPU peak
#: resident set during the diffusion step, all models loaded, banded temporal attention): at 128²
#: 2670 / 3344 / 3950 / 5675 MiB for 50 / 100 / 200 / 400 frames, i.e. 8.6 MiB per frame over about
#: 2.2 GiB (docs/performance.md); rounded up here. 256² is the 128² figure scaled by the 4× latent
#: area (not measured; the rendering peak is below the diffusion peak at both sizes).
BYTES_PER_FRAME = {128: 9 * 2**20, 256: 36 * 2**20}
FIXED_BYTES = {128: 9 * 2**28, 256: 5 * 2**29}
#: Per frame on CPU when freed memory is kept in the heap (:mod:`dawn_studio.heap`): the step is
#: about 2× faster but the fragmented heap peaks higher. Calibrated the same way at 128²: 2611 / 3161 /
#: 4760 / 6647 MiB for 50 / 100 / 200 / 400 frames (docs/performance.md); 256² scaled by the latent area.
KEPT_BYTES_PER_FRAME = {128: 14 * 2**20, 256: 56 * 2**20}
#: Leave this share of the free memory to the rest of the system.
HEADROOM = 0.85


class ClipTooLongError(RuntimeError):
    """The clip does not fit in the device's memory in one pass."""


def required_bytes(frames: int, resolution: int, *, freed_memory_kept: bool = False) -> int:
    """Peak memory of the diffusion pass; ``freed_memory_kept``: with the heap's freed blocks kept."""
    table = KEPT_BYTES_PER_FRAME if freed_memory_kept else BYTES_PER_FRAME
    per_frame = table.get(resolution, table[256] * (resolution / 256) ** 2)
    return int(FIXED_BYTES.get(resolution, FIXED_BYTES[256]) + frames * per_frame)


def available_bytes(device: ComputeDevice) -> int | None:
    """Free memory on the device now, or None when it cannot be known."""
    if device.kind == "cuda":
        free, _total = torch.cuda.mem_get_info(torch.device(device.torch_device))
        return int(free)
    if device.kind == "mps":
        recommended = getattr(torch.mps, "recommended_max_memory", None)
        return int(recommended() - torch.mps.current_allocated_memory()) if recommended else None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    if hasattr(os, "sysconf") and "SC_AVPHYS_PAGES" in os.sysconf_names:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return None


def max_frames(resolution: int, free: int) -> int:
    per_frame = BYTES_PER_FRAME.get(resolution, BYTES_PER_FRAME[256])
    return max(0, int((free * HEADROOM - FIXED_BYTES.get(resolution, FIXED_BYTES[256])) // per_frame))


def check_fits(frames: int, resolution: int, device: ComputeDevice, free: int | None = None) -> bool:
    """Raise ClipTooLongError, saying how long a clip would fit, if ``frames`` cannot be generated.

    Otherwise return whether the faster CPU setting, freed memory kept in the heap, fits as well
    (always False on GPUs, whose memory has its own caching allocator; True when the free memory
    cannot be known, as nothing says it would not fit).
    """
    free = available_bytes(device) if free is None else free
    keepable = device.kind == "cpu" and heap.is_supported()
    if free is None:
        return keepable
    need = required_bytes(frames, resolution)
    if need <= free * HEADROOM:
        return keepable and required_bytes(frames, resolution, freed_memory_kept=True) <= free * HEADROOM
    raise ClipTooLongError(too_long_message(frames, resolution, device, need, free))


def too_long_message(frames: int, resolution: int, device: ComputeDevice, need: int, free: int) -> str:
    """Why the clip does not fit, and only the remedies that would help: the longest length that fits,
    the smaller model when it fits more, a GPU when this machine has one."""
    from ..device import available_devices

    fits = max_frames(resolution, free)
    text = (f"This clip is {_clock(frames / FPS)} ({frames} frames) at {resolution}×{resolution}; generating it "
            f"in one pass needs about {need / 2**30:.1f} GB but {device.label} has {free / 2**30:.1f} GB free.")
    remedies = []
    if fits >= FPS:
        remedies.append(f"trim the speech to at most {fits / FPS:.1f} s (--trim-start/--trim-end) or use a "
                        "shorter clip")
    else:
        remedies.append("close other programs to free memory, or use a much shorter clip")
    if resolution != 128 and max_frames(128, free) > max(fits, 0):
        remedies.append(f"choose 128×128 (up to {max_frames(128, free) / FPS:.1f} s fit)")
    gpus = [d for d in available_devices() if d.kind != "cpu" and d.torch_device != device.torch_device]
    if device.kind == "cpu" and gpus:
        remedies.append(f"use the GPU ({gpus[0].torch_device})")
    return f"{text} To make it fit, {', or '.join(remedies)}."


def _clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour), with the seconds to one decimal under a minute."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
