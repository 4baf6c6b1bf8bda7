"""PBNet, DAWN's head-pose and blink generator (pose and blink are two models of one architecture).

Spec: ``../shared/spec/pbnet.md``. Run both models with :func:`generate_pose_blink`; the published
files are read and written by :mod:`dawn_studio.loading.pbnet`.
"""

from .config import BLINK, POSE, SIGNAL_DIMS, TINY_BLINK, TINY_POSE, PBNetConfig, PBNetConfigError, SignalKind
from .generation import (
    FALLBACK_BLINK,
    FALLBACK_POSE,
    POSE_MAX,
    POSE_MIN,
    PoseBlinkOutput,
    denormalise_pose,
    generate_pose_blink,
    normalise_pose,
)
from .model import PBNet, PBNetDecoder, PBNetEncoder

__all__ = [
    "BLINK",
    "FALLBACK_BLINK",
    "FALLBACK_POSE",
    "POSE",
    "POSE_MAX",
    "POSE_MIN",
    "SIGNAL_DIMS",
    "TINY_BLINK",
    "TINY_POSE",
    "PBNet",
    "PBNetConfig",
    "PBNetConfigError",
    "PBNetDecoder",
    "PBNetEncoder",
    "PoseBlinkOutput",
    "SignalKind",
    "denormalise_pose",
    "generate_pose_blink",
    "normalise_pose",
]
