"""The one exception type of the audio stage: a message a person can act on."""

from __future__ import annotations


class AudioError(ValueError):
    """The audio cannot be used as it is: the message says why and, where possible, what to do."""
