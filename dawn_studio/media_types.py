"""Which kind of input a file is, judged by its extension (drag-and-drop and open dialogs)."""

from __future__ import annotations

from pathlib import Path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".oga", ".wma", ".aiff", ".aif")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
PROJECT_EXTENSIONS = (".dawn",)


def media_kind(path: str | Path) -> str | None:
    """'image', 'audio', 'video' (its sound is used as audio), 'project', or None."""
    suffix = Path(path).suffix.lower()
    for kind, extensions in (
        ("image", IMAGE_EXTENSIONS), ("audio", AUDIO_EXTENSIONS),
        ("video", VIDEO_EXTENSIONS), ("project", PROJECT_EXTENSIONS),
    ):
        if suffix in extensions:
            return kind
    return None


def dialog_filter(kind: str) -> str:
    """A Qt file-dialog filter string for one kind (plain text, no Qt import needed)."""
    table = {
        "image": ("Images", IMAGE_EXTENSIONS),
        "audio": ("Audio and video files", AUDIO_EXTENSIONS + VIDEO_EXTENSIONS),
        "project": ("DAWN Studio projects", PROJECT_EXTENSIONS),
    }
    label, extensions = table[kind]
    return f"{label} ({' '.join('*' + e for e in extensions)});;All files (*)"
