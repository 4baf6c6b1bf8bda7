"""Pose and blink generation exactly as the reference's ``generate_pose_blink``.

The pose model works in units normalised by fixed min/max vectors and predicts deltas to the
portrait's initial pose; the blink model works on raw eye-opening ratios. This module does the
normalisation, runs both models (pose noise drawn before blink noise) and maps the outputs
back to raw units: degrees, 3DDFA scale, 120-px crop translation, eye ratios.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .model import PBNet

#: Normalisation range of [yaw°, pitch°, roll°, scale, tx, ty] used in training and inference.
POSE_MIN = (-90.0, -90.0, -90.0, 0.0, 0.0, 0.0)
POSE_MAX = (90.0, 90.0, 90.0, 1.0, 720.0, 1080.0)
#: The reference's stand-in portrait state when its cached initial state cannot be read.
FALLBACK_POSE = (0.0, 0.0, 0.0, 4.79e-4, 56.5, 64.9)
FALLBACK_BLINK = (0.3, 0.3)


PoseRange = tuple[Sequence[float], Sequence[float]]


def _range(like: Tensor, pose_range: PoseRange) -> tuple[Tensor, Tensor]:
    low = torch.tensor(pose_range[0], dtype=torch.float32, device=like.device)
    high = torch.tensor(pose_range[1], dtype=torch.float32, device=like.device)
    if low.shape != (6,) or high.shape != (6,) or not bool((high > low).all()):
        raise ValueError("The pose range needs 6 minima and 6 larger maxima")
    return low, high


def normalise_pose(pose: Tensor, pose_range: PoseRange = (POSE_MIN, POSE_MAX)) -> Tensor:
    """Raw ``(..., 6+)`` pose → normalised ``(..., 6)`` float32; a 7th value (tz) is dropped."""
    pose = torch.as_tensor(pose)[..., :6].to(torch.float32)
    low, high = _range(pose, pose_range)
    return (pose - low) / (high - low)


def denormalise_pose(
    delta: Tensor,
    normalised_initial: Tensor,
    pose_range: PoseRange = (POSE_MIN, POSE_MAX),
) -> Tensor:
    """Pose model output (a normalised delta) plus the normalised initial pose, in raw units."""
    low, high = _range(delta, pose_range)
    return (delta + normalised_initial) * (high - low) + low


@dataclass(frozen=True, eq=False)
class PoseBlinkOutput:
    """Raw model outputs ``(1, F, 6)`` / ``(1, F, 2)``; sequences in raw units ``(F, 6)`` / ``(F, 2)``."""

    output_pose: Tensor
    output_blink: Tensor
    dri_pose: Tensor
    dri_blink: Tensor


def _as_state(value: Tensor, width: int, name: str) -> Tensor:
    flat = torch.as_tensor(value).reshape(-1)
    if flat.numel() < width:
        raise ValueError(f"{name} needs at least {width} values, got {flat.numel()}")
    if not torch.isfinite(flat[:width]).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return flat[:width].to(torch.float32).reshape(1, 1, width)


def generate_pose_blink(
    pose_model: PBNet,
    blink_model: PBNet,
    initial_pose: Tensor,
    initial_blink: Tensor,
    audio: Tensor,
    *,
    pose_noise: Tensor | None = None,
    blink_noise: Tensor | None = None,
    generator: torch.Generator | None = None,
    fact: float = 1.0,
    pose_range: PoseRange = (POSE_MIN, POSE_MAX),
) -> PoseBlinkOutput:
    """Generate head pose and blink for all ``F`` frames of ``audio`` ``(F, A)`` or ``(1, F, A)``.

    ``initial_pose``: the portrait's raw pose, 6 values or 7 with tz (ignored);
    ``initial_blink``: its two eye ratios (extra values, e.g. the bbox, are ignored).
    Noise ``(F, 1, latent)`` is drawn from ``generator``, pose first, unless passed in;
    ``fact`` scales it (0 gives the deterministic mean motion). ``pose_range`` is the
    (min, max) normalisation of the pose model, the published one by default.
    """
    audio = torch.as_tensor(audio)
    if audio.dim() == 2:
        audio = audio[None]
    if audio.dim() != 3 or audio.shape[0] != 1:
        raise ValueError(
            f"Audio features must have shape (frames, dim) or (1, frames, dim), got {tuple(audio.shape)}"
        )
    audio = audio.to(torch.float32)
    pose0 = normalise_pose(_as_state(initial_pose, 6, "Initial pose"), pose_range)
    blink0 = _as_state(initial_blink, 2, "Initial blink state")
    frames = audio.shape[1]
    if pose_noise is None:
        pose_noise = pose_model.draw_noise(frames, 1, generator)
    if blink_noise is None:
        blink_noise = blink_model.draw_noise(frames, 1, generator)
    output_pose = pose_model.generate(pose0, audio, noise=pose_noise, fact=fact)
    output_blink = blink_model.generate(blink0, audio, noise=blink_noise, fact=fact)
    dri_pose = denormalise_pose(output_pose, pose0.to(output_pose.device), pose_range)[0]
    dri_blink = (output_blink + blink0.to(output_blink.device))[0]
    return PoseBlinkOutput(output_pose, output_blink, dri_pose, dri_blink)
