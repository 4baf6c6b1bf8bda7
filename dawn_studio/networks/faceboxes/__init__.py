"""FaceBoxes face detector (3DDFA_V2's ``FaceBoxesProd``): network, anchors, decoding, NMS, weight files."""

from .boxes import DetectionThresholds, decode_boxes, nms_keep, prior_boxes, select_detections
from .model import PUBLISHED, TINY, FaceBoxesConfig, FaceBoxesNet
from .weights import load_faceboxes, save_faceboxes

__all__ = [
    "PUBLISHED", "TINY", "DetectionThresholds", "FaceBoxesConfig", "FaceBoxesNet", "decode_boxes",
    "load_faceboxes", "nms_keep", "prior_boxes", "save_faceboxes", "select_detections",
]
