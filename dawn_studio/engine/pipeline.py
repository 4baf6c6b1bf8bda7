"""The video half of a job as plain functions: the A2V model's conditioning, the DDIM sampling of the
flows and their decoding to frames. The engine and the benchmark both run exactly these.

The names given to ``observe`` are the reference's hand-overs (``a2v.*``, as the end-to-end
conformance fixtures name them), so a run can be compared with a recorded one step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..networks.a2v import DDIMStep, FlowDiffusion, FlowSequence, NoiseSource, bbox_mask
from ..networks.a2v.config import BBoxAxes
from ..progress import HandOverObserver


@dataclass(frozen=True, eq=False)
class VideoInputs:
    """What the A2V model receives for one clip (the reference's ``sample_one_video`` arguments)."""

    image: torch.Tensor  # (1, 3, S, S) RGB in [0, 1]
    audio: np.ndarray  # (T, D) speech features at 25 fps
    pose: np.ndarray  # (T, 6) yaw°, pitch°, roll°, scale, tx, ty
    blink: np.ndarray  # (T, 2) eye ratios
    init_pose: np.ndarray  # (1, 7) the portrait's pose (tz is not used)
    init_eye_bbox: np.ndarray  # (1, 8) eye ratios, face box [x_min, x_max, y_min, y_max, H, W]

    @property
    def frames(self) -> int:
        return int(self.audio.shape[0])


@dataclass(frozen=True, eq=False)
class Conditioning:
    """The per-frame condition (1, T, audio + pose + eye) and the portrait's channels (1, C, 1, h, w)."""

    cond: torch.Tensor
    image_cond: torch.Tensor


def condition(model: FlowDiffusion, inputs: VideoInputs, *, bbox_axes: BBoxAxes = "fixed",
              observe: HandOverObserver | None = None) -> Conditioning:
    """Condition and portrait channels on the model's device (raw-unit deltas, as the reference)."""
    device = model.device
    image = inputs.image.to(device)
    audio = torch.from_numpy(np.ascontiguousarray(inputs.audio, dtype=np.float32))[None].to(device)
    pose = torch.from_numpy(np.ascontiguousarray(inputs.pose.T, dtype=np.float32))[None].to(device)
    eye = torch.from_numpy(np.ascontiguousarray(inputs.blink.T, dtype=np.float32))[None].to(device)
    bbox = torch.from_numpy(np.asarray(inputs.init_eye_bbox, np.float32)[0, 2:8].copy())[None, :, None]
    init_pose = torch.from_numpy(np.asarray(inputs.init_pose, np.float32).copy()).to(device)
    init_eye = torch.from_numpy(np.asarray(inputs.init_eye_bbox, np.float32)[:, :2].copy()).to(device)
    cond = model.condition(audio, pose, eye, init_pose, init_eye)
    image_cond = model.image_condition(image, bbox.to(device), bbox_axes)
    if observe is not None:
        features = model.config.unet.feature_channels
        for name, value in (("a2v.sample_img", image), ("a2v.sample_audio_hubert", audio), ("a2v.sample_pose", pose),
                            ("a2v.sample_eye", eye), ("a2v.sample_bbox", bbox), ("a2v.init_pose", init_pose),
                            ("a2v.init_eye", init_eye), ("a2v.fea", image_cond[:, :features, 0]),
                            ("a2v.bbox_mask", bbox_mask(bbox, image.shape[-1], bbox_axes)),
                            ("a2v.face_loc", image_cond[:, features:, 0]), ("a2v.cond", cond)):
            observe(name, value)
    return Conditioning(cond, image_cond)


def sample_flows(model: FlowDiffusion, conditioning: Conditioning, *, steps: int, noise: NoiseSource,
                 guidance_scale: float = 1.0, on_step: Callable[[DDIMStep], None] | None = None,
                 observe: HandOverObserver | None = None) -> FlowSequence:
    """DDIM-sample the flow grid and occlusion of every frame (float32, on the model's device)."""
    times: list[int] = []
    eps: list[torch.Tensor] = []

    def step(done: DDIMStep) -> None:
        if observe is not None:
            times.append(done.time)
            eps.append(done.pred_noise.float().cpu())
        if on_step is not None:
            on_step(done)

    pred = model.diffusion.sample(conditioning.image_cond, conditioning.cond, noise=noise, cond_scale=guidance_scale,
                                  sampling_timesteps=steps, on_step=step).float()
    grid_dim = model.config.unet.out_grid_dim
    flows = FlowSequence(grid=pred[:, :grid_dim], occlusion=(pred[:, grid_dim:] + 1) * 0.5)
    if observe is not None:
        observe("a2v.ddim_times", torch.tensor(times, dtype=torch.int64))
        observe("a2v.ddim_eps", torch.stack(eps))
        observe("a2v.pred", pred)
        observe("a2v.sample_vid_grid", flows.grid)
        observe("a2v.sample_vid_conf", flows.occlusion)
    return flows
