"""TDDFA (3DDFA_V2): MobileNet 3DMM regression, head pose, and the 68 BFM landmarks."""

from .model import (
    MB05,
    MB1,
    TINY,
    LandmarkHead,
    MobileNetTDDFA,
    TDDFAConfig,
    landmarks_from_head,
    normalise_crops,
)
from .morphable import MorphableModel, to_image_coordinates
from .pose import POSE_FIELDS, poses_from_params

__all__ = [
    "MB05", "MB1", "POSE_FIELDS", "TINY", "LandmarkHead", "MobileNetTDDFA", "MorphableModel", "TDDFAConfig",
    "landmarks_from_head", "normalise_crops", "poses_from_params", "to_image_coordinates",
]
