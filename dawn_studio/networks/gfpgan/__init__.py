"""GFPGAN face restoration: the GFPGANv1Clean network of the published v1.3 / v1.4 weights.

Pure torch, no file access: :mod:`dawn_studio.loading.enhancer` reads the weight file.
"""

from .config import GFPGAN_V1_4, TINY, GFPGANConfig, GFPGANConfigError
from .decoder import SFTStyleGAN2Decoder
from .model import GFPGANv1Clean

__all__ = [
    "GFPGAN_V1_4",
    "TINY",
    "GFPGANConfig",
    "GFPGANConfigError",
    "GFPGANv1Clean",
    "SFTStyleGAN2Decoder",
]
