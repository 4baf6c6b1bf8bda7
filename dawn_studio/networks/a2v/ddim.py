"""DDIM sampling of the A2V latent-flow video, with the reference's dynamic thresholding.

Faithful to the published sampler: the update uses ``alphas_cumprod_prev[t]`` while x0 is predicted
with ``alphas_cumprod[t]``, the raw network noise is reused, and the last step returns the
thresholded x0. The 0.9-quantile is computed with two order statistics and the float32 rank the
reference's ``torch.quantile`` uses, so it has no input-size limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .noise import NoiseSource
from .schedule import ddim_time_pairs


@dataclass(frozen=True)
class DDIMStep:
    """What one sampling step saw and produced, for progress reports and intermediate checks."""

    index: int
    total: int
    time: int
    time_next: int
    x_t: torch.Tensor
    pred_noise: torch.Tensor
    x_start: torch.Tensor


def quantile_rows(values: torch.Tensor, q: float) -> torch.Tensor:
    """Per-row ``torch.quantile(values, q, dim=-1)`` (linear interpolation), for any row length."""
    n = values.shape[-1]
    rank = torch.tensor(q, dtype=torch.float32) * (n - 1)
    lo = int(rank.floor().item())
    hi = int(rank.ceil().item())
    weight = (rank - lo).to(values.device, values.dtype)
    if values.device.type == "mps":  # kthvalue is not implemented there
        ordered = values.sort(dim=-1).values
        below, above = ordered[..., lo], ordered[..., hi]
    else:
        below = values.kthvalue(lo + 1, dim=-1).values
        above = below if hi == lo else values.kthvalue(hi + 1, dim=-1).values
    return torch.lerp(below, above, weight)


def dynamic_threshold(x_start: torch.Tensor, percentile: float) -> torch.Tensor:
    """Clamp each sample to ±s and divide by s, s = max(1, percentile of |x| over all its values)."""
    s = quantile_rows(x_start.flatten(1).abs(), percentile).clamp(min=1.0)
    s = s.view(-1, *((1,) * (x_start.ndim - 1)))
    return x_start.clamp(-s, s) / s


def ddim_sample(
    denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    shape: tuple[int, ...],
    schedule: dict[str, torch.Tensor],
    *,
    timesteps: int,
    sampling_timesteps: int,
    eta: float,
    percentile: float,
    noise: NoiseSource,
    device: torch.device,
    on_step: Callable[[DDIMStep], None] | None = None,
) -> torch.Tensor:
    """Run the DDIM loop from pure noise; ``denoise(x_t, time (b,))`` returns the predicted noise.

    ``schedule`` holds ``alphas_cumprod_prev``, ``sqrt_recip_alphas_cumprod`` and
    ``sqrt_recipm1_alphas_cumprod``. Noise is drawn once at the start and once per step whose
    next time is above 0.
    """
    acp = schedule["alphas_cumprod_prev"]
    recip = schedule["sqrt_recip_alphas_cumprod"]
    recipm1 = schedule["sqrt_recipm1_alphas_cumprod"]
    batch = shape[0]
    pairs = ddim_time_pairs(timesteps, sampling_timesteps)
    img = noise.draw(shape, device=device, dtype=torch.float32)
    for index, (t, t_next) in enumerate(pairs):
        alpha, alpha_next = acp[t], acp[t_next]
        time = torch.full((batch,), t, device=device, dtype=torch.long)
        pred_noise = denoise(img, time)
        x_start = recip[t] * img - recipm1[t] * pred_noise
        x_start = dynamic_threshold(x_start, percentile)
        if on_step is not None:
            on_step(DDIMStep(index, len(pairs), t, t_next, img, pred_noise, x_start))
        sigma = eta * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
        c = ((1 - alpha_next) - sigma**2).sqrt()
        img = x_start * alpha_next.sqrt() + c * pred_noise
        if t_next > 0:
            img = img + sigma * noise.draw(shape, device=device, dtype=torch.float32)
    return img
