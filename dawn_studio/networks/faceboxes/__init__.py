"""FaceBoxes face detector (3DDFA_V2's ``FaceBoxesProd``): network, anchors, decoding, NMS."""

from .boxes import DetectionThresholds, decode_boxes, nms_keep, prior_boxes, select_detections
from .model import PUBLISHED, TINY, FaceBoxesConfig, FaceBoxesNet

__all__ = [
    "PUBLISHED", "TINY", "DetectionThresholds", "FaceBoxesConfig", "FaceBoxesNet", "decode_boxes", "nms_keep",
    "prior_boxes", "select_detections",
]
