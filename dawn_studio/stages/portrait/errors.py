"""Errors of the portrait stage; their messages are meant to be shown to the user as they are."""

from __future__ import annotations

NO_FACE_MESSAGE = "No face found — try a photo where the face is larger / frontal."


class PortraitError(ValueError):
    """The portrait (or a model file it needs) cannot be used; the message says why and what to do."""


class NoFaceError(PortraitError):
    """The detector found no face in the photo."""

    def __init__(self, message: str = NO_FACE_MESSAGE) -> None:
        super().__init__(message)


class PortraitModelError(PortraitError):
    """A face-analysis model file is missing or unusable: a model problem, not a problem of the photo."""
