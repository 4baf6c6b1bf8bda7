"""Recorded random draws, replayed in place of a job's seeded ones.

The published pipeline draws, in this order: PBNet's pose latent ``(F, 1, latent)``, its blink
latent, the DDIM start ``x_T`` ``(1, 3, T, S/4, S/4)`` and one draw of that shape per DDIM step
whose next time is above 0. Handing the engine the tensors a recorded run drew makes the whole
job reproduce that run (with the ``reference`` preset); without them the job's seed decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..networks.a2v import NoiseSource, ddim_time_pairs


class DrawsError(ValueError):
    """Recorded draws that cannot drive the job; the message says which and why."""


@dataclass(frozen=True, eq=False)
class RecordedDraws:
    """PBNet pose and blink latents and the DDIM draws, as recorded."""

    pose: torch.Tensor
    blink: torch.Tensor
    diffusion: tuple[torch.Tensor, ...]

    @classmethod
    def in_draw_order(cls, tensors: Sequence[torch.Tensor]) -> RecordedDraws:
        """From every draw in the order the reference made them: pose, blink, then the DDIM ones."""
        if len(tensors) < 3:
            raise DrawsError(f"Recorded draws need the pose and blink latents and at least one DDIM draw, "
                             f"got {len(tensors)} tensors")
        return cls(tensors[0], tensors[1], tuple(tensors[2:]))

    def check_motion(self, frames: int) -> None:
        """The latents must cover every frame of the speech (PBNet sees them all)."""
        for name, value in (("pose", self.pose), ("blink", self.blink)):
            if value.ndim != 3 or value.shape[0] != frames or value.shape[1] != 1:
                raise DrawsError(f"The recorded {name} latent has shape {tuple(value.shape)}; the speech has "
                                 f"{frames} frames, so ({frames}, 1, latent) is needed")

    def diffusion_noise(self, steps: int, timesteps: int) -> NoiseSource:
        """The DDIM draws as a noise source; a step count that needs another number of draws is refused."""
        needed = 1 + sum(1 for _t, t_next in ddim_time_pairs(timesteps, steps) if t_next > 0)
        if len(self.diffusion) != needed:
            raise DrawsError(f"{steps} diffusion steps draw {needed} noise tensors, {len(self.diffusion)} were "
                             "recorded; set the steps of the recorded run")
        return NoiseSource.replay(self.diffusion)
