"""A2V-FDM: the audio-to-video flow diffusion model of DAWN (3D U-Net, DDIM sampler, face location)."""

from .config import DAWN_128, DAWN_256, PRESETS, TINY, A2VConfig, DiffusionConfig, UnetConfig
from .ddim import DDIMStep, ddim_sample, dynamic_threshold, quantile_rows
from .diffusion import GaussianDiffusion
from .face_location import (
    FACE_LOC_SHA256,
    FaceLocationEncoder,
    bbox_mask,
    encode_face_location_weights,
    load_face_location_weights,
    save_face_location_weights,
)
from .flow_diffusion import DEFAULT_SEED, FlowDiffusion, FlowSequence, GeneratedVideo
from .noise import NoiseSource
from .schedule import SCHEDULE_BUFFERS, ddim_time_pairs, schedule_buffers
from .unet import Unet3D
from .weights import (
    DIFFUSION_SECTION,
    build_diffusion,
    build_flow_diffusion,
    load_diffusion_weights,
    save_diffusion_checkpoint,
)

__all__ = [
    "DAWN_128",
    "DAWN_256",
    "DEFAULT_SEED",
    "DIFFUSION_SECTION",
    "FACE_LOC_SHA256",
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
    "build_diffusion",
    "build_flow_diffusion",
    "ddim_sample",
    "ddim_time_pairs",
    "dynamic_threshold",
    "encode_face_location_weights",
    "load_diffusion_weights",
    "load_face_location_weights",
    "quantile_rows",
    "save_diffusion_checkpoint",
    "save_face_location_weights",
    "schedule_buffers",
]
