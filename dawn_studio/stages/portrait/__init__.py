"""Portrait stage: decode the photo, find faces, measure pose/eyes/box, crop, and paste results back.

Typical use::

    models = load_portrait_models(model_folder)
    portrait = load_portrait(path)
    analysis = analyse_portrait(portrait, models, output_size=256, framing="face")
    face = analysis.face(0)
    image = crop_image(portrait.rgb, face.crop)          # generator input (S, S, 3)
    ... face.init_pose(), face.init_eye_bbox() ...
    for photo in paste_back(frames, portrait.rgb, face.crop): ...
"""

from .analysis import FaceResult, PortraitAnalysis, analyse_portrait
from .crop import FACE_RAISE, FACE_SCALE, FRAMINGS, FaceCrop, Framing, crop_image, plan_crop, portrait_tensor
from .errors import NO_FACE_MESSAGE, NoFaceError, PortraitError, PortraitModelError
from .image_io import HEIF_AVAILABLE, Portrait, load_portrait, portrait_from_image
from .models import (
    PortraitModels,
    load_portrait_models,
    read_morphable_model,
    read_param_stats,
    save_param_stats,
)
from .paste import feather_mask, paste_back
from .safe_pickle import UnsafePickleError, read_numpy_pickle

__all__ = [
    "FACE_RAISE", "FACE_SCALE", "FRAMINGS", "HEIF_AVAILABLE", "NO_FACE_MESSAGE", "FaceCrop", "FaceResult",
    "Framing", "NoFaceError", "Portrait", "PortraitAnalysis", "PortraitError", "PortraitModelError",
    "PortraitModels",
    "UnsafePickleError", "analyse_portrait", "crop_image", "feather_mask", "load_portrait",
    "load_portrait_models", "paste_back", "plan_crop", "portrait_from_image", "portrait_tensor",
    "read_morphable_model", "read_numpy_pickle", "read_param_stats", "save_param_stats",
]
