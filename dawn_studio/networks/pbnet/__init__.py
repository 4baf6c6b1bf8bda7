"""PBNet, DAWN's head-pose and blink generator (pose and blink are two models of one architecture).

Spec: ``../shared/spec/pbnet.md``. Build from the published files with :func:`load_pbnet`, run
both models with :func:`generate_pose_blink`; :func:`save_pbnet` writes the published format.
"""

from .config import BLINK, POSE, SIGNAL_DIMS, TINY_BLINK, TINY_POSE, PBNetConfig, PBNetConfigError, SignalKind
from .files import (
    PBNET_DIR,
    PUBLISHED_CHECKPOINTS,
    find_checkpoint,
    load_pbnet,
    load_pbnet_pair,
    model_dir,
    save_pbnet,
    save_pbnet_pair,
)
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
from .options import (
    SUPPORTED_ARCHITECTURES,
    PBNetOptionsError,
    config_from_options,
    options_for_config,
    parse_options,
    read_options,
)

__all__ = [
    "BLINK",
    "FALLBACK_BLINK",
    "FALLBACK_POSE",
    "PBNET_DIR",
    "POSE",
    "POSE_MAX",
    "POSE_MIN",
    "PUBLISHED_CHECKPOINTS",
    "SIGNAL_DIMS",
    "SUPPORTED_ARCHITECTURES",
    "TINY_BLINK",
    "TINY_POSE",
    "PBNet",
    "PBNetConfig",
    "PBNetConfigError",
    "PBNetDecoder",
    "PBNetEncoder",
    "PBNetOptionsError",
    "PoseBlinkOutput",
    "SignalKind",
    "config_from_options",
    "denormalise_pose",
    "find_checkpoint",
    "generate_pose_blink",
    "load_pbnet",
    "load_pbnet_pair",
    "model_dir",
    "normalise_pose",
    "options_for_config",
    "parse_options",
    "read_options",
    "save_pbnet",
    "save_pbnet_pair",
]
