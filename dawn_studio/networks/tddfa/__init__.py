"""TDDFA (3DDFA_V2): MobileNet 3DMM regression, head pose, and the 68 BFM landmarks."""

from .model import MB05, MB1, TINY, MobileNetTDDFA, TDDFAConfig, normalise_crops
from .morphable import MorphableModel, to_image_coordinates
from .pose import POSE_FIELDS, poses_from_params
from .weights import load_tddfa, save_tddfa

__all__ = [
    "MB05", "MB1", "POSE_FIELDS", "TINY", "MobileNetTDDFA", "MorphableModel", "TDDFAConfig", "load_tddfa",
    "normalise_crops", "poses_from_params", "save_tddfa", "to_image_coordinates",
]
