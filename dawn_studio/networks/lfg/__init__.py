"""LFG: the latent flow generator of DAWN (region / background / pixel-wise flow predictors, generator).

DAWN inference needs only :class:`Generator` — :meth:`Generator.compute_fea` for the diffusion's
image condition and :func:`render_frames` (or :meth:`Generator.forward_with_flow`) to turn
generated flows into frames; the other networks serve the full reconstruction.
"""

from .background_predictor import BackgroundMotionPredictor
from .config import (
    LFG_128,
    LFG_256,
    PRESETS,
    TINY,
    BackgroundPredictorConfig,
    FlowPredictorConfig,
    GeneratorConfig,
    LFGConfig,
    LFGConfigError,
    RegionPredictorConfig,
    config_from_model_params,
)
from .flow_predictor import PixelwiseFlowPredictor
from .generator import Generator
from .model import LatentFlowGenerator, Reconstruction
from .region_predictor import RegionParams, RegionPredictor
from .rendering import RenderedFrames, frames_per_chunk, render_frames

__all__ = [
    "LFG_128",
    "LFG_256",
    "PRESETS",
    "TINY",
    "BackgroundMotionPredictor",
    "BackgroundPredictorConfig",
    "FlowPredictorConfig",
    "Generator",
    "GeneratorConfig",
    "LFGConfig",
    "LFGConfigError",
    "LatentFlowGenerator",
    "PixelwiseFlowPredictor",
    "Reconstruction",
    "RegionParams",
    "RegionPredictor",
    "RegionPredictorConfig",
    "RenderedFrames",
    "config_from_model_params",
    "frames_per_chunk",
    "render_frames",
]
