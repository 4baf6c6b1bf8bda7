"""Photo decoding: every common format and awkward file gives upright 8-bit RGB or a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dawn_studio.stages.portrait import HEIF_AVAILABLE, PortraitError, load_portrait
from dawn_studio.stages.portrait.image_io import MIN_SIDE, NEUTRAL_BACKGROUND


def _pattern(height: int = 60, width: int = 80) -> np.ndarray:
    """An asymmetric RGB test card, so that rotations and channel swaps are visible."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) % 256], axis=-1)
    rgb[:10, :10] = (255, 0, 0)
    return rgb.astype(np.uint8)


@pytest.mark.parametrize("suffix,options", [
    (".png", {}), (".bmp", {}), (".tiff", {}), (".webp", {"lossless": True}),
])
def test_lossless_formats_round_trip(tmp_path, suffix, options) -> None:
    rgb = _pattern()
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(rgb).save(path, **options)
    portrait = load_portrait(path)
    assert portrait.rgb.dtype == np.uint8 and portrait.rgb.shape == (60, 80, 3)
    np.testing.assert_array_equal(portrait.rgb, rgb)
    np.testing.assert_array_equal(portrait.bgr(), rgb[..., ::-1])


def test_jpeg_decodes_like_opencv(tmp_path) -> None:
    import cv2

    path = tmp_path / "photo.jpg"
    Image.fromarray(_pattern()).save(path, quality=90)
    np.testing.assert_array_equal(load_portrait(path).bgr(), cv2.imread(str(path)))


def test_transparent_png_is_composited_on_neutral_grey(tmp_path) -> None:
    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 25:, 3] = 255  # right half opaque red, left half fully transparent
    rgba[:, 20:25, 3] = 128
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    portrait = load_portrait(path)
    assert portrait.had_alpha
    np.testing.assert_array_equal(portrait.rgb[:, :20], np.broadcast_to(NEUTRAL_BACKGROUND, (40, 20, 3)))
    np.testing.assert_array_equal(portrait.rgb[:, 25:], np.broadcast_to((200, 0, 0), (40, 25, 3)))
    half = portrait.rgb[0, 22].astype(int)
    assert abs(half[0] - (200 + 128) // 2) <= 1 and abs(half[1] - 64) <= 1


def test_palette_png_with_transparency(tmp_path) -> None:
    image = Image.fromarray(_pattern()).convert("P")
    image.info["transparency"] = 0
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    portrait = load_portrait(path)
    assert portrait.rgb.shape == (60, 80, 3)


def test_16_bit_png_colour_and_grey(tmp_path) -> None:
    import cv2

    rgb16 = (_pattern().astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])
    np.testing.assert_array_equal(load_portrait(tmp_path / "rgb16.png").rgb, _pattern())

    grey16 = (np.arange(64 * 40, dtype=np.uint32).reshape(40, 64) * 25).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "grey16.png"), grey16)
    grey = load_portrait(tmp_path / "grey16.png").rgb
    expected = np.rint(grey16 / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(grey[..., 0], expected)
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])


def test_colour_profiles_are_converted_to_srgb(tmp_path) -> None:
    from PIL import ImageCms

    rgb = _pattern()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(rgb).save(tmp_path / "tagged.png", icc_profile=srgb)
    np.testing.assert_allclose(load_portrait(tmp_path / "tagged.png").rgb, rgb, atol=2)
    broken = b"\0" * 200
    Image.fromarray(rgb).save(tmp_path / "broken.png", icc_profile=broken)
    np.testing.assert_array_equal(load_portrait(tmp_path / "broken.png").rgb, rgb)


def test_greyscale_and_cmyk_become_rgb(tmp_path) -> None:
    Image.fromarray(_pattern()[..., 1]).save(tmp_path / "grey.jpg")
    grey = load_portrait(tmp_path / "grey.jpg").rgb
    assert grey.shape == (60, 80, 3) and (grey[..., 0] == grey[..., 1]).all()

    Image.fromarray(_pattern()).convert("CMYK").save(tmp_path / "print.tiff")
    cmyk = load_portrait(tmp_path / "print.tiff").rgb
    assert cmyk.shape == (60, 80, 3)
    assert np.abs(cmyk.astype(int) - _pattern()).mean() < 3


@pytest.mark.parametrize("orientation,undo", [
    (6, lambda a: np.rot90(a, 1)),  # stored rotated; the tag says "rotate 90° clockwise to view"
    (3, lambda a: np.rot90(a, 2)),
    (8, lambda a: np.rot90(a, -1)),
    (2, lambda a: a[:, ::-1]),
])
def test_exif_orientation_is_applied_once(tmp_path, orientation, undo) -> None:
    upright = _pattern()
    stored = np.ascontiguousarray(undo(upright))
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.png"
    image.save(path, exif=exif.tobytes())
    portrait = load_portrait(path)
    assert portrait.exif_rotated
    np.testing.assert_array_equal(portrait.rgb, upright)


def test_tiny_image_is_refused_clearly(tmp_path) -> None:
    Image.fromarray(_pattern(12, 20)).save(tmp_path / "icon.png")
    with pytest.raises(PortraitError, match=f"at least {MIN_SIDE} pixels"):
        load_portrait(tmp_path / "icon.png")


@pytest.mark.parametrize("content", [
    b"", b"hello, this is not a photo\n" * 10, b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
])
def test_non_image_files_give_a_clear_error(tmp_path, content) -> None:
    path = tmp_path / "notes.png"
    path.write_bytes(content)
    with pytest.raises(PortraitError, match="notes.png"):
        load_portrait(path)


def test_truncated_jpeg_gives_a_clear_error(tmp_path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(_pattern(200, 200)).save(path)
    path.write_bytes(path.read_bytes()[:400])
    with pytest.raises(PortraitError, match="damaged or incomplete|not an image"):
        load_portrait(path)


def test_missing_file_and_folder(tmp_path) -> None:
    with pytest.raises(PortraitError, match="does not exist"):
        load_portrait(tmp_path / "nope.jpg")
    with pytest.raises(PortraitError, match="not a file"):
        load_portrait(tmp_path)


@pytest.mark.skipif(HEIF_AVAILABLE, reason="pillow-heif is installed")
def test_heic_without_pillow_heif_says_what_to_install(tmp_path) -> None:
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
    with pytest.raises(PortraitError, match="pillow-heif"):
        load_portrait(path)
