"""Rendering a sequence of flows for one portrait in a few batched decoder calls.

The reference decodes one frame per call and re-encodes the portrait each time; here the portrait
is encoded once and the frames are decoded in chunks sized to the memory that is free. Batch
normalisation runs in eval mode, so chunking changes only floating-point summation order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...progress import CancelToken, StepCallback, check_cancel, report
from .generator import Generator

#: Memory a CPU render may use for decoder activations. Small on purpose: on a CPU, chunks whose
#: activations stay in cache are fastest (100 frames at 128² on 2 cores: 5.2 s one frame per
#: call, 5.8 s at 4, 7.3 s at 16, 9.8 s at 64; see docs/performance.md), so this gives 1–2 frames.
CPU_RENDER_BUDGET_BYTES = 96 << 20
#: Share of the free accelerator memory a render may use.
DEVICE_MEMORY_SHARE = 0.5
#: Activations alive at once while decoding, as a multiple of the encoded maps' size.
ACTIVATION_FACTOR = 8
MAX_CHUNK = 128


@dataclass(frozen=True)
class RenderedFrames:
    """``frames`` (T, C, S, S) generated frames; ``warped`` (T, C, S, S) the portrait warped by each flow."""

    frames: torch.Tensor
    warped: torch.Tensor


def free_memory_bytes(device: torch.device) -> int:
    """Memory a render on ``device`` may use: a share of the free CUDA/MPS memory, or the CPU budget."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * DEVICE_MEMORY_SHARE)
    if device.type == "mps":
        limit = torch.mps.recommended_max_memory()
        return max(0, int((limit - torch.mps.driver_allocated_memory()) * DEVICE_MEMORY_SHARE))
    return CPU_RENDER_BUDGET_BYTES


def frames_per_chunk(encoded: list[torch.Tensor], budget_bytes: int) -> int:
    """How many frames to decode at once so their activations fit ``budget_bytes`` (1 … MAX_CHUNK)."""
    per_frame = sum(m[:1].numel() * m.element_size() for m in encoded) * ACTIVATION_FACTOR
    return max(1, min(MAX_CHUNK, budget_bytes // max(1, per_frame)))


def as_frame_flows(flows: torch.Tensor) -> torch.Tensor:
    """(T, h, w, 2) grids from (T, h, w, 2) or the diffusion's video layout (1, 2, T, h, w)."""
    if flows.ndim == 5 and flows.shape[0] == 1 and flows.shape[1] == 2:
        return flows[0].permute(1, 2, 3, 0)
    if flows.ndim == 4 and flows.shape[-1] == 2:
        return flows
    raise ValueError(f"flows must be (frames, h, w, 2) or (1, 2, frames, h, w), got {tuple(flows.shape)}")


def as_frame_occlusions(occlusions: torch.Tensor) -> torch.Tensor:
    """(T, 1, h, w) maps from (T, 1, h, w) or the video layout (1, 1, T, h, w)."""
    if occlusions.ndim == 5 and occlusions.shape[:2] == (1, 1):
        return occlusions[0].permute(1, 0, 2, 3)
    if occlusions.ndim == 4 and occlusions.shape[1] == 1:
        return occlusions
    raise ValueError(
        f"occlusion maps must be (frames, 1, h, w) or (1, 1, frames, h, w), got {tuple(occlusions.shape)}"
    )


@torch.no_grad()
def render_frames(
    generator: Generator,
    source_image: torch.Tensor,
    flows: torch.Tensor,
    occlusions: torch.Tensor,
    chunk_size: int | None = None,
    output_device: torch.device | str | None = None,
    progress: StepCallback | None = None,
    cancel: CancelToken | None = None,
) -> RenderedFrames:
    """Decode every flow of one portrait: the portrait (1, C, S, S) is encoded once, frames in chunks.

    flows are grid_sample positions, occlusions in [0, 1], both at the generator's latent side and
    in either frame or video layout (see :func:`as_frame_flows`). ``chunk_size`` None picks it from
    free memory. Work runs on the generator's device; frames are gathered on ``output_device``
    (default: that device too), so long videos need not stay in accelerator memory.
    ``progress(frames_done, frames)`` is called after each chunk; ``cancel`` is checked before each.
    """
    if generator.training:
        raise RuntimeError("the LFG generator is in training mode; call .eval() before rendering")
    device = next(generator.parameters()).device
    if source_image.ndim != 4 or source_image.shape[0] != 1:
        raise ValueError(f"render_frames takes one portrait (1, C, S, S), got {tuple(source_image.shape)}")
    grid, occlusion = as_frame_flows(flows), as_frame_occlusions(occlusions)
    if grid.shape[0] != occlusion.shape[0]:
        raise ValueError(f"{grid.shape[0]} flows but {occlusion.shape[0]} occlusion maps")
    if grid.shape[0] == 0:
        raise ValueError("there are no flows to render")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    dtype = next(generator.parameters()).dtype
    source_image = source_image.to(device=device, dtype=dtype)
    generator.check_flow_inputs(source_image, grid[:1], occlusion[:1])
    encoded = generator.encode(source_image)
    step = chunk_size or frames_per_chunk(encoded, free_memory_bytes(device))
    target = torch.device(output_device) if output_device is not None else device
    total = grid.shape[0]
    frames, warped = [], []
    for start in range(0, total, step):
        check_cancel(cancel)
        part = slice(start, start + step)
        out = generator.decode(
            encoded, grid[part].to(device=device, dtype=dtype), occlusion[part].to(device=device, dtype=dtype)
        )
        frames.append(out["prediction"].to(target))
        warped.append(out["deformed"].to(target))
        report(progress, min(start + step, total), total)
    return RenderedFrames(frames=torch.cat(frames), warped=torch.cat(warped))
