"""FlowDiffusion: portrait + face box + audio/pose/blink sequences → motion flows → rendered frames.

Mirrors the reference's ``FlowDiffusion.sample_one_video`` with the frame count taken from the
inputs, explicit randomness (a seed, a generator, or replayed tensors) and frames decoded in
batches by the latent flow generator (LFG) instead of one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..lfg import Generator, render_frames
from .config import DAWN_128, A2VConfig, BBoxAxes
from .ddim import DDIMStep
from .diffusion import GaussianDiffusion
from .face_location import FaceLocationEncoder, bbox_mask
from .noise import NoiseSource

DEFAULT_SEED = 1234  # the seed of the reference's training and older test scripts (pipeline.md B2)


@dataclass(frozen=True)
class FlowSequence:
    """Generated motion: ``grid`` (b, 2, T, h, w) grid_sample positions (x, y) in [-1, 1];
    ``occlusion`` (b, 1, T, h, w) in [0, 1] (1 = use the warped source)."""

    grid: torch.Tensor
    occlusion: torch.Tensor


@dataclass(frozen=True)
class GeneratedVideo:
    """Flows plus the rendered ``video`` and ``warped`` source, each (b, 3, T, S, S), roughly [0, 1]."""

    flows: FlowSequence
    video: torch.Tensor
    warped: torch.Tensor


class FlowDiffusion(nn.Module):
    """The A2V flow diffusion model with its face-location branch and an optional LFG generator.

    ``diffusion`` holds exactly ``checkpoint["diffusion"]``; ``face_loc_emb`` starts at PyTorch's
    default init: :func:`dawn_studio.loading.a2v.build_flow_diffusion` gives it the seed-1234 weights.
    """

    def __init__(
        self,
        config: A2VConfig = DAWN_128,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.diffusion = GaussianDiffusion(config.unet, config.diffusion)
        self.face_loc_emb = FaceLocationEncoder(config.face_loc_hidden, config.unet.face_loc_channels)
        self.generator = generator

    @property
    def device(self) -> torch.device:
        return self.diffusion.alphas_cumprod.device

    # ---- conditioning ----------------------------------------------------------------------
    def condition(
        self,
        audio: torch.Tensor,
        pose: torch.Tensor,
        eye: torch.Tensor,
        init_pose: torch.Tensor | None = None,
        init_eye: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-frame condition (b, T, audio + pose + eye) = [audio, pose − init_pose, eye − init_eye].

        audio (b, T, audio_dim); pose (b, ≥pose_dim, T) and eye (b, eye_dim, T), channels first as
        the reference passes them, in raw units; init_pose (b, ≥pose_dim) (the 3DDFA pose has 7
        values, tz is dropped) and init_eye (b, eye_dim); when absent, frame 0 is used.
        """
        c = self.config.unet
        if audio.ndim != 3 or audio.shape[-1] != c.audio_dim:
            raise ValueError(
                f"audio features must be (batch, frames, {c.audio_dim}), got {tuple(audio.shape)}"
            )
        b, frames = audio.shape[:2]
        if frames < 1:
            raise ValueError("the audio features have no frames")
        if pose.ndim != 3 or pose.shape[0] != b or pose.shape[2] != frames or pose.shape[1] < c.pose_dim - 1:
            raise ValueError(
                f"pose must be ({b}, {c.pose_dim}, {frames}) channels first, got {tuple(pose.shape)}"
            )
        if tuple(eye.shape) != (b, c.eye_dim, frames):
            raise ValueError(
                f"eye must be ({b}, {c.eye_dim}, {frames}) channels first, got {tuple(eye.shape)}"
            )
        pose = pose[:, : c.pose_dim].permute(0, 2, 1).float()
        eye = eye.permute(0, 2, 1).float()
        if init_pose is None:
            base_pose = pose[:, :1].expand(-1, frames, -1)
        else:
            if init_pose.ndim != 2 or init_pose.shape[0] != b:
                raise ValueError(
                    f"init_pose must be ({b}, {c.pose_dim} or more), got {tuple(init_pose.shape)}"
                )
            base_pose = init_pose.float()[:, None, : c.pose_dim].expand(-1, frames, -1)
        if pose.shape[-1] != base_pose.shape[-1]:
            if pose.shape[-1] + 1 != base_pose.shape[-1]:
                raise ValueError(
                    f"init_pose has {base_pose.shape[-1]} values, the driving pose {pose.shape[-1]}"
                )
            pose = torch.cat((pose, base_pose[..., -1:]), dim=-1)
        if init_eye is None:
            base_eye = eye[:, :1].expand(-1, frames, -1)
        else:
            if tuple(init_eye.shape) != (b, c.eye_dim):
                raise ValueError(f"init_eye must be ({b}, {c.eye_dim}), got {tuple(init_eye.shape)}")
            base_eye = init_eye.float()[:, None, :].expand(-1, frames, -1)
        return torch.cat((audio.float(), pose - base_pose, eye - base_eye), dim=-1).to(self.device)

    def face_location(self, bbox: torch.Tensor, image_size: int, bbox_axes: BBoxAxes | None = None) -> torch.Tensor:
        """Face-location embedding (b, C, S/4, S/4) of the box's frame 0 (see :func:`bbox_mask`);
        ``bbox_axes`` overrides the configured box normalisation."""
        mask = bbox_mask(bbox.to(self.device), image_size, bbox_axes or self.config.bbox_axes)
        return self.face_loc_emb(mask)

    def image_condition(
        self, source_image: torch.Tensor, bbox: torch.Tensor, bbox_axes: BBoxAxes | None = None
    ) -> torch.Tensor:
        """Frame-constant channels (b, features + face location, 1, h, w) from the portrait and its box."""
        self._check_image(source_image)
        features = self._generator().compute_fea(source_image.to(self.device))
        location = self.face_location(bbox, source_image.shape[-1], bbox_axes)
        if location.shape[0] != features.shape[0]:
            raise ValueError(f"{features.shape[0]} portraits but {location.shape[0]} face boxes")
        if features.shape[-2:] != location.shape[-2:]:
            raise ValueError(
                f"LFG features are {tuple(features.shape[-2:])}, "
                f"the face location is {tuple(location.shape[-2:])}"
            )
        return torch.cat((features, location), dim=1).unsqueeze(2)

    # ---- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def sample_flows(
        self,
        image_cond: torch.Tensor,
        cond: torch.Tensor,
        *,
        noise: NoiseSource,
        cond_scale: float = 1.0,
        on_step: Callable[[DDIMStep], None] | None = None,
    ) -> FlowSequence:
        """DDIM-sample the flow grid and occlusion for all T = cond.shape[1] frames at once."""
        pred = self.diffusion.sample(image_cond, cond, noise=noise, cond_scale=cond_scale, on_step=on_step)
        grid_dim = self.config.unet.out_grid_dim
        return FlowSequence(grid=pred[:, :grid_dim], occlusion=(pred[:, grid_dim:] + 1) * 0.5)

    @torch.no_grad()
    def render(
        self, source_image: torch.Tensor, flows: FlowSequence, frames_per_chunk: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode every frame with the LFG: (video, warped), each (b, 3, T, S, S).

        Each portrait is encoded once and its frames decoded in chunks (``frames_per_chunk``,
        None = as many as memory allows), not one at a time as in the reference.
        """
        generator = self._generator()
        video, warped = [], []
        for i in range(source_image.shape[0]):
            frames = render_frames(
                generator,
                source_image[i : i + 1],
                flows.grid[i : i + 1],
                flows.occlusion[i : i + 1],
                chunk_size=frames_per_chunk,
            )
            video.append(frames.frames.transpose(0, 1))
            warped.append(frames.warped.transpose(0, 1))
        return torch.stack(video), torch.stack(warped)

    @torch.no_grad()
    def sample_video(
        self,
        source_image: torch.Tensor,
        audio: torch.Tensor,
        pose: torch.Tensor,
        eye: torch.Tensor,
        bbox: torch.Tensor,
        init_pose: torch.Tensor | None = None,
        init_eye: torch.Tensor | None = None,
        *,
        cond_scale: float = 1.0,
        noise: NoiseSource | None = None,
        seed: int = DEFAULT_SEED,
        on_step: Callable[[DDIMStep], None] | None = None,
        frames_per_chunk: int | None = None,
    ) -> GeneratedVideo:
        """The whole A2V stage (reference ``sample_one_video``); T is the number of audio frames.

        source_image (b, 3, S, S) RGB in [0, 1]; bbox (b, 6[, frames]) [x_min, x_max, y_min, y_max, H, W];
        other inputs as in :meth:`condition`. Noise comes from ``noise`` or, by default, a CPU
        generator seeded with ``seed`` (the same result on every device).
        """
        cond = self.condition(audio, pose, eye, init_pose, init_eye)
        image_cond = self.image_condition(source_image, bbox)
        if image_cond.shape[0] != cond.shape[0]:
            raise ValueError(f"portrait batch {image_cond.shape[0]} and audio batch {cond.shape[0]} differ")
        flows = self.sample_flows(
            image_cond,
            cond,
            noise=noise or NoiseSource.seeded(seed),
            cond_scale=cond_scale,
            on_step=on_step,
        )
        video, warped = self.render(source_image, flows, frames_per_chunk)
        return GeneratedVideo(flows=flows, video=video, warped=warped)

    def _generator(self) -> Generator:
        if self.generator is None:
            raise RuntimeError("FlowDiffusion has no LFG generator; pass one to the constructor")
        return self.generator

    def _check_image(self, image: torch.Tensor) -> None:
        if image.ndim != 4 or image.shape[1] != 3 or image.shape[2] != image.shape[3]:
            raise ValueError(f"source image must be (batch, 3, S, S) RGB, got {tuple(image.shape)}")
        if image.shape[-1] != self.config.image_size:
            raise ValueError(
                f"source image is {image.shape[-1]} px, this model works at {self.config.image_size}"
            )
