"""Decoding a user's photo once, into the 8-bit RGB pixels every later step uses.

The reference reads the photo twice with two libraries that disagree (bug B8: OpenCV applies the
EXIF rotation and drops alpha, PIL does neither). Here it is decoded once with Pillow: EXIF
orientation applied, an embedded colour profile (Display P3, Adobe RGB, CMYK, ...) converted to
sRGB, transparency composited onto a neutral grey, greyscale/palette/CMYK/16-bit converted to 8-bit
RGB. HEIC/HEIF needs the optional ``pillow-heif`` package.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import PortraitError

NEUTRAL_BACKGROUND = (128, 128, 128)
MIN_SIDE = 32
MAX_PIXELS = 120_000_000  # 120 MP: any real camera photo, far below what would exhaust memory
HEIF_SUFFIXES = {".heic", ".heif"}

try:  # optional: HEIC/HEIF photos of phones
    from pillow_heif import register_heif_opener
except ImportError:
    HEIF_AVAILABLE = False
else:
    register_heif_opener()
    HEIF_AVAILABLE = True


@dataclass(frozen=True, eq=False)
class Portrait:
    """A decoded photo: ``rgb (H, W, 3)`` uint8, upright, opaque."""

    rgb: np.ndarray
    source: str = ""
    exif_rotated: bool = False
    had_alpha: bool = False

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    def bgr(self) -> np.ndarray:
        """The same pixels in OpenCV's BGR order (what the 3DDFA networks were trained on)."""
        return np.ascontiguousarray(self.rgb[..., ::-1])


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels tagged with an ICC profile to sRGB (video players assume sRGB); untagged as is."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        target = ImageCms.createProfile("sRGB")
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, target, outputMode=mode) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken or unsupported profile: keep the pixels as they are


def _to_rgb8(image: Image.Image, background: tuple[int, int, int]) -> tuple[Image.Image, bool]:
    """Any Pillow mode -> 8-bit RGB; transparency is composited onto ``background``."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB"), False
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas, True
    return image.convert("RGB"), False  # greyscale, palette, CMYK, YCbCr, 48-bit RGB


def portrait_from_image(
    image: Image.Image, source: str = "", background: tuple[int, int, int] = NEUTRAL_BACKGROUND,
) -> Portrait:
    """Upright, opaque 8-bit RGB from a Pillow image (EXIF orientation applied once)."""
    orientation = image.getexif().get(0x0112, 1)
    upright = ImageOps.exif_transpose(image) if orientation not in (None, 1) else image
    rgb_image, had_alpha = _to_rgb8(_to_srgb(upright), background)
    rgb = np.asarray(rgb_image, dtype=np.uint8)
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise PortraitError(
            f"{f'{Path(source).name}: the' if source else 'The'} image is only {rgb.shape[1]}×{rgb.shape[0]} "
            f"pixels; use a photo of at least "
            f"{MIN_SIDE} pixels on each side (a few hundred is better)."
        )
    return Portrait(np.ascontiguousarray(rgb), source, orientation not in (None, 1), had_alpha)


def load_portrait(
    path: str | os.PathLike[str], background: tuple[int, int, int] = NEUTRAL_BACKGROUND,
) -> Portrait:
    """Decode a photo file (JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC with pillow-heif, ...).

    Raises ``PortraitError`` with a message for the user when the file is missing, not an image,
    damaged, too small or unreasonably large.
    """
    p = Path(path)
    if not p.is_file():
        raise PortraitError(f"The photo {p} does not exist." if not p.exists() else f"{p} is not a file.")
    if p.suffix.lower() in HEIF_SUFFIXES and not HEIF_AVAILABLE:
        raise PortraitError(
            f"{p.name} is a HEIC/HEIF photo; reading it needs the optional package pillow-heif "
            "(pip install pillow-heif), or convert the photo to JPEG or PNG."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # MAX_PIXELS is checked below
            with Image.open(p) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise PortraitError(
                        f"{p.name} is {width}×{height} pixels ({width * height / 1e6:.0f} MP); photos up to "
                        f"{MAX_PIXELS / 1e6:.0f} MP are supported. Please scale it down."
                    )
                if getattr(image, "n_frames", 1) > 1:
                    image.seek(0)  # animated GIF/WebP, multi-page TIFF: the first frame
                image.load()
                return portrait_from_image(image, str(p), background)
    except PortraitError:
        raise
    except Image.DecompressionBombError as exc:
        raise PortraitError(f"{p.name} is too large to open safely; please scale it down.") from exc
    except UnidentifiedImageError as exc:
        raise PortraitError(
            f"{p.name} is not an image file this program can read (JPEG, PNG, WebP, ...)."
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise PortraitError(
            f"{p.name} could not be decoded; the file may be damaged or incomplete ({exc})."
        ) from exc
