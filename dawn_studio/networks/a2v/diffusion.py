"""The diffusion object of the published checkpoint: the U-Net plus the schedule buffers.

Its state dict is exactly ``checkpoint["diffusion"]`` of ``DAWN_128.pth`` / ``DAWN_256.pth``
(12 schedule buffers and ``denoise_fn.*``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .config import DiffusionConfig, UnetConfig
from .ddim import DDIMStep, ddim_sample
from .noise import NoiseSource
from .schedule import SCHEDULE_BUFFERS, schedule_buffers
from .unet import Unet3D


class GaussianDiffusion(nn.Module):
    """Denoiser + cosine schedule, sampled with DDIM (reference ``DynamicNfGaussianDiffusion``)."""

    def __init__(self, unet: UnetConfig | None = None, diffusion: DiffusionConfig | None = None) -> None:
        super().__init__()
        self.config = diffusion or DiffusionConfig()
        self.denoise_fn = Unet3D(unet or UnetConfig())
        for name, value in schedule_buffers(self.config.timesteps, self.config.cosine_s).items():
            self.register_buffer(name, value)

    def schedule(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name) for name in SCHEDULE_BUFFERS}

    @torch.no_grad()
    def sample(
        self,
        image_cond: torch.Tensor,
        cond: torch.Tensor,
        *,
        noise: NoiseSource,
        cond_scale: float = 1.0,
        sampling_timesteps: int | None = None,
        eta: float | None = None,
        on_step: Callable[[DDIMStep], None] | None = None,
    ) -> torch.Tensor:
        """Generate (b, 3, T, h, w) in [-1, 1]: flow x, flow y, occlusion·2 − 1.

        image_cond (b, C, 1 or T, h, w) are the constant image channels (LFG features + face location);
        cond (b, T, audio + pose + eye) gives the frame count T.
        """
        if cond.ndim != 3:
            width = self.denoise_fn.config.cond_dim
            raise ValueError(f"cond must be (batch, frames, {width}), got {tuple(cond.shape)}")
        if image_cond.ndim == 4:
            image_cond = image_cond.unsqueeze(2)
        b, frames = cond.shape[:2]
        if frames < 1:
            raise ValueError("cannot sample a video of 0 frames")
        shape = (b, self.denoise_fn.config.noise_channels, frames, *image_cond.shape[-2:])

        def denoise(x_t: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
            return self.denoise_fn.forward_with_cond_scale(x_t, image_cond, time, cond, cond_scale)

        steps = self.config.sampling_timesteps if sampling_timesteps is None else sampling_timesteps
        return ddim_sample(
            denoise,
            shape,
            self.schedule(),
            timesteps=self.config.timesteps,
            sampling_timesteps=steps,
            eta=self.config.ddim_eta if eta is None else eta,
            percentile=self.config.dynamic_thres_percentile,
            noise=noise,
            device=cond.device,
            on_step=on_step,
        )
