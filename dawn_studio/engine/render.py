"""Flows → video frames: the LFG decodes every generated flow of the portrait (encoded once)."""

from __future__ import annotations

import numpy as np
import torch

from ..networks.a2v import FlowSequence
from ..networks.lfg import Generator
from ..networks.lfg import render_frames as lfg_render
from ..progress import CancelToken, HandOverObserver, StepCallback


def to_uint8_frames(video: torch.Tensor) -> np.ndarray:
    """(T, 3, S, S) floats in [0, 1] → (T, S, S, 3) uint8, truncating like the reference (B12)."""
    clipped = video.detach().float().clamp(0.0, 1.0) * 255.0  # not in place: the caller keeps its tensor
    return clipped.to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()


def render_frames(generator: Generator, image: torch.Tensor, flows: FlowSequence, *,
                  progress: StepCallback | None = None, cancel: CancelToken | None = None,
                  observe: HandOverObserver | None = None) -> np.ndarray:
    """Every frame of ``flows`` for the portrait ``image`` (1, 3, S, S), as uint8 RGB (T, S, S, 3).

    ``observe`` receives the float frames as ``a2v.sample_out_vid`` (1, 3, T, S, S) and the frame
    indices as ``a2v.sample_out_vid_frames``.
    """
    rendered = lfg_render(generator, image, flows.grid, flows.occlusion, output_device="cpu",
                          progress=progress, cancel=cancel)
    if observe is not None:
        observe("a2v.sample_out_vid", rendered.frames.transpose(0, 1)[None])
        observe("a2v.sample_out_vid_frames", torch.arange(rendered.frames.shape[0]))
    return to_uint8_frames(rendered.frames)
