"""Whether a model folder can make videos at a resolution (or enhance faces), and if not, what is missing.

The folder itself says what it holds (:mod:`dawn_studio.loading.model_folder`): the tiny test set
needs its two video files; the published set needs every catalog file of the ``dawn<S>`` feature,
verified. The studio and ``dawn-studio render`` both ask here, so neither knows about tiny sets.
"""

from __future__ import annotations

from ..loading.model_folder import ModelFolderError, architecture_preset, enhancer_file, video_files
from .errors import ModelsMissingError
from .store import ModelStore

#: The catalog feature of the optional face enhancer (GFPGAN v1.4).
ENHANCE_FEATURE = "enhance"


def video_feature(resolution: int) -> str:
    """The catalog feature of the video model of ``resolution``."""
    return f"dawn{resolution}"


def video_readiness(store: ModelStore, resolution: int) -> tuple[bool, str]:
    """(ready, what is missing in words) for generating at ``resolution`` from ``store``."""
    try:
        preset = architecture_preset(store.root)
    except ModelFolderError as exc:
        return False, str(exc)
    if preset == "tiny":
        missing = [path.name for path in video_files(store.root, resolution) if not path.is_file()]
        return not missing, (f"The {resolution} model files are missing ({', '.join(missing)})" if missing else "")
    feature = store.status().feature(video_feature(resolution))
    return feature.ready, "" if feature.ready else feature.summary


def require_video(store: ModelStore, resolution: int) -> None:
    """Nothing when ``store`` can generate at ``resolution``; else ``ModelsMissingError`` saying what to get."""
    try:
        preset = architecture_preset(store.root)
    except ModelFolderError as exc:
        raise ModelsMissingError(str(exc), video_feature(resolution), ()) from exc
    if preset == "published":
        store.require(video_feature(resolution))
        return
    missing = tuple(path.name for path in video_files(store.root, resolution) if not path.is_file())
    if missing:
        raise ModelsMissingError(f"The tiny model set in {store.root} has no {resolution} model files "
                                 f"({', '.join(missing)})", video_feature(resolution), missing)


def enhancer_readiness(store: ModelStore) -> tuple[bool, str]:
    """(ready, what is missing in words) for face enhancement: the tiny set needs its enhancer file,
    the published set the verified (or size-checked) GFPGAN v1.4 file of the catalog."""
    try:
        preset = architecture_preset(store.root)
    except ModelFolderError as exc:
        return False, str(exc)
    if preset == "tiny":
        path = enhancer_file(store.root)
        return path.is_file(), "" if path.is_file() else f"The face enhancer file is missing ({path.name})"
    feature = store.status().feature(ENHANCE_FEATURE)
    return feature.ready, "" if feature.ready else feature.summary
