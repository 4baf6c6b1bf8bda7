"""What the studio's banner says when model files are missing (empty when the studio can work)."""

from __future__ import annotations

from collections.abc import Mapping

from ..modelstore import ModelStore

BANNER_BUTTON = "Get Models…"


def missing_models_text(store: ModelStore, availability: Mapping[int, tuple[bool, str]]) -> str:
    """One sentence for the creator when no video model can run or portraits cannot be analysed yet;
    "" when at least one resolution can generate from an analysed portrait.

    ``availability``: resolution → (ready, reason), as the Controls panel gets it.
    """
    video_ready = any(ready for ready, _reason in availability.values())
    faces_ready = (store.root / "3ddfa").is_dir()
    if video_ready and faces_ready:
        return ""
    if not video_ready and not faces_ready:
        return ("The model files are not installed yet, so DAWN Studio cannot animate a portrait. "
                "Download them once (or import a copied folder) to start.")
    if not video_ready:
        return "The video model files are missing, so DAWN Studio cannot generate yet."
    return "The face-analysis model files are missing, so portraits cannot be opened yet."
