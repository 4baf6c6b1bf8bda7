"""Head pose from 3DMM parameters, exactly as 3DDFA_V2's ``P2sRt`` + ``matrix2angle`` (DAWN's units).

The pose depends on the parameters only (the camera is relative to TDDFA's own face crop):
``[yaw, pitch, roll]`` in degrees, the scale ``s`` and the translation ``t3d`` in the 120-px
crop frame. These are the values PBNet and the diffusion model were trained on.
"""

from __future__ import annotations

import math

import torch

POSE_FIELDS: tuple[str, ...] = ("yaw", "pitch", "roll", "scale", "tx", "ty", "tz")
_GIMBAL = 0.998


def camera_matrices(params: torch.Tensor) -> torch.Tensor:
    """``(N, 62)`` parameters -> ``(N, 3, 4)`` affine cameras ``[sR | t]``."""
    return params[:, :12].reshape(-1, 3, 4)


def poses_from_params(params: torch.Tensor) -> torch.Tensor:
    """``(N, 62)`` de-normalised parameters -> ``(N, 7)`` float64 ``[yaw°, pitch°, roll°, s, tx, ty, tz]``."""
    camera = camera_matrices(params)
    row1, row2 = camera[:, 0, :3], camera[:, 1, :3]
    norm1, norm2 = row1.norm(dim=1), row2.norm(dim=1)
    scale = (norm1 + norm2) / 2
    r1 = (row1 / norm1[:, None]).to(torch.float64)
    r2 = (row2 / norm2[:, None]).to(torch.float64)
    r3 = torch.linalg.cross(r1, r2, dim=1)
    r20 = r3[:, 0]
    cos_yaw = torch.cos(torch.asin(r20.clamp(-1.0, 1.0)))
    yaw = torch.asin(r20.clamp(-1.0, 1.0))
    pitch = torch.atan2(r3[:, 1] / cos_yaw, r3[:, 2] / cos_yaw)
    roll = torch.atan2(r2[:, 0] / cos_yaw, r1[:, 0] / cos_yaw)
    up, down = r20 > _GIMBAL, r20 < -_GIMBAL
    zero = torch.zeros_like(yaw)
    yaw = torch.where(up, zero + math.pi / 2, torch.where(down, zero - math.pi / 2, yaw))
    pitch = torch.where(up, torch.atan2(-r1[:, 1], -r1[:, 2]),
                        torch.where(down, torch.atan2(r1[:, 1], r1[:, 2]), pitch))
    roll = torch.where(up | down, zero, roll)
    angles = torch.rad2deg(torch.stack([yaw, pitch, roll], dim=1))
    translation = camera[:, :, 3].to(torch.float64)
    return torch.cat([angles, scale.to(torch.float64)[:, None], translation], dim=1)
