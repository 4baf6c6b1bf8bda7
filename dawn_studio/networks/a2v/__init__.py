"""A2V-FDM: the audio-to-video flow diffusion model of DAWN (3D U-Net, DDIM sampler, face location)."""

from .config import DAWN_128, DAWN_256, PRESETS, TINY, A2VConfig, DiffusionConfig, UnetConfig
from .ddim import DDIMStep, ddim_sample, dynamic_threshold, quantile_rows
from .diffusion import GaussianDiffusion
from .face_location import FaceLocationEncoder, bbox_mask
from .flow_diffusion import DEFAULT_SEED, FlowDiffusion, FlowSequence, GeneratedVideo
from .noise import NoiseSource
from .schedule import SCHEDULE_BUFFERS, ddim_time_pairs, schedule_buffers
from .unet import Unet3D

__all__ = [
    "DAWN_128",
    "DAWN_256",
    "DEFAULT_SEED",
    "PRESETS",
    "SCHEDULE_BUFFERS",
    "TINY",
    "A2VConfig",
    "DDIMStep",
    "DiffusionConfig",
    "FaceLocationEncoder",
    "FlowDiffusion",
    "FlowSequence",
    "GaussianDiffusion",
    "GeneratedVideo",
    "NoiseSource",
    "Unet3D",
    "UnetConfig",
    "bbox_mask",
    "ddim_sample",
    "ddim_time_pairs",
    "dynamic_threshold",
    "quantile_rows",
    "schedule_buffers",
]
