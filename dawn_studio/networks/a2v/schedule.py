"""The cosine noise schedule and what derives from it (the 12 schedule buffers of the checkpoint)."""

from __future__ import annotations

import math

import torch

SCHEDULE_BUFFERS = (
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
)


def cosine_betas(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """β_t of the cosine schedule in float64, clipped to [0, 0.9999]."""
    x = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64)
    alphas_cumprod = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0, 0.9999)


def schedule_buffers(timesteps: int, s: float = 0.008) -> dict[str, torch.Tensor]:
    """All schedule arrays, computed in float64 and stored as float32 like the reference's buffers."""
    betas = cosine_betas(timesteps, s)
    alphas = 1.0 - betas
    ac = torch.cumprod(alphas, dim=0)
    ac_prev = torch.cat((torch.ones(1, dtype=torch.float64), ac[:-1]))
    posterior_variance = betas * (1.0 - ac_prev) / (1.0 - ac)
    values = {
        "betas": betas,
        "alphas_cumprod": ac,
        "alphas_cumprod_prev": ac_prev,
        "sqrt_alphas_cumprod": torch.sqrt(ac),
        "sqrt_one_minus_alphas_cumprod": torch.sqrt(1.0 - ac),
        "log_one_minus_alphas_cumprod": torch.log(1.0 - ac),
        "sqrt_recip_alphas_cumprod": torch.sqrt(1.0 / ac),
        "sqrt_recipm1_alphas_cumprod": torch.sqrt(1.0 / ac - 1),
        "posterior_variance": posterior_variance,
        "posterior_log_variance_clipped": torch.log(posterior_variance.clamp(min=1e-20)),
        "posterior_mean_coef1": betas * torch.sqrt(ac_prev) / (1.0 - ac),
        "posterior_mean_coef2": (1.0 - ac_prev) * torch.sqrt(alphas) / (1.0 - ac),
    }
    return {name: values[name].to(torch.float32) for name in SCHEDULE_BUFFERS}


def ddim_time_pairs(timesteps: int, sampling_timesteps: int) -> list[tuple[int, int]]:
    """(t, t_next) pairs of the DDIM loop: int-truncated float32 linspace(0, T, S + 2) minus the last."""
    times = torch.linspace(0.0, timesteps, sampling_timesteps + 2)[:-1].int().tolist()
    times = list(reversed(times))
    return list(zip(times[:-1], times[1:], strict=True))
