"""Decoding uploaded PNG/JPEG bytes in memory, with a budget: nothing a client sends can make
decoding cost much more than decoding a plain image of the largest accepted size.

- The size comes from the header and is checked before any pixel is decoded (a small file
  that claims a huge image costs nothing).
- JPEGs with more scans than real encoders write are refused before decoding (backend/jpeg.py).
- JPEGs are decoded reduced (libjpeg's DCT scaling, 1/2 to 1/8) straight to the working size
  preprocessing needs, and as luminance only.
- Canvas PNGs (8-bit RGBA) are decoded by libspng from their pixel chunks alone
  (backend/png.py); other PNGs by Pillow, with text chunks capped far below its defaults
  (64 MB of decompressed text).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from backend.errors import bad_request, too_large, unprocessable, unsupported
from backend.jpeg import MAX_SCANS, MAX_SEGMENTS, walk_jpeg
from backend.png import decode_rgba8
from backend.preprocess import LUMINANCE, ink_channel, reduction_factor, working_ink

SUPPORTED_FORMATS = ("PNG", "JPEG")
SUPPORTED_MEDIA_TYPES = ("image/png", "image/jpeg")
JPEG_SCALES = (8, 4, 2, 1)  # what libjpeg can decode reduced by, for free

# Text and ICC chunks are metadata we never read: a few KB each is plenty, and the default
# (1 MB per chunk, 64 MB in all, decompressed) would let a 1 MB upload allocate 64 MB.
PngImagePlugin.MAX_TEXT_CHUNK = 64 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 256 * 1024

# Signatures of image formats we recognise but do not accept (415, not 400).
_OTHER_IMAGE_SIGNATURES = (
    b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00", b"<svg", b"<?xml",
)


@dataclass(frozen=True)
class InkSource:
    """The one channel of a decoded image that holds the ink, and the reduction still due."""

    channel: np.ndarray  # (H, W) uint8
    kind: str  # ALPHA or LUMINANCE
    factor: int  # box reduction to apply to reach the working size (1 = none)
    size: tuple[int, int]  # the upload's (width, height) in pixels


@dataclass(frozen=True)
class Drawing:
    """An upload's ink at the working size, and how working pixels map back to the upload's."""

    ink: np.ndarray  # (h, w) float32 in 0..1
    scale: int  # upload pixels per working pixel
    size: tuple[int, int]  # the upload's (width, height)

    def to_upload(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A working-size (x, y, w, h) box in the upload's pixels."""
        x, y, w, h = (v * self.scale for v in box)
        return x, y, min(w, self.size[0] - x), min(h, self.size[1] - y)


def _looks_like_other_image(data: bytes) -> bool:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data.startswith(_OTHER_IMAGE_SIGNATURES) or data[4:12] in (b"ftypavif", b"ftypheic")


def open_image(data: bytes, max_side: int) -> Image.Image:
    """PNG/JPEG bytes -> an opened (not yet decoded) image; raises ApiError (400/413/415/422)."""
    if not data:
        raise bad_request("empty_image", "the image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb guard fires at ~89M pixels, far above our limit: either way
            # the answer is 413, never a warning in the log or a 500.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large("image_too_large",
                        f"the image is larger than {max_side}x{max_side} pixels") from None
    except UnidentifiedImageError:
        if _looks_like_other_image(data):
            raise unsupported(
                "unsupported_image_format", "only PNG and JPEG images are accepted"
            ) from None
        raise bad_request("invalid_image", "the data is not a PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise bad_request("invalid_image", f"the image header is invalid: {exc}") from None
    width, height = image.size
    if width > max_side or height > max_side:
        raise too_large(
            "image_too_large",
            f"the image is {width}x{height} pixels; at most {max_side}x{max_side} is accepted",
        )
    if width == 0 or height == 0:
        raise bad_request("invalid_image", "the image has no pixels")
    if image.format == "JPEG":
        structure = walk_jpeg(data)
        if structure.scans > MAX_SCANS:
            raise unprocessable(
                "too_many_jpeg_scans",
                f"the JPEG has more than {MAX_SCANS} scans (real encoders write about ten); "
                "save it again as a baseline or standard progressive JPEG",
            )
        if structure.segments > MAX_SEGMENTS:
            raise unprocessable(
                "too_many_jpeg_segments",
                f"the JPEG has more than {MAX_SEGMENTS} marker segments; real files have a few "
                "dozen",
            )
    return image


def decode_ink_source(data: bytes, max_side: int) -> InkSource:
    """PNG/JPEG bytes -> the ink channel at (or above) the working size; raises ApiError."""
    image = open_image(data, max_side)
    factor = reduction_factor(image.height, image.width)
    try:
        if image.format == "JPEG":
            return _jpeg_source(image, factor)
        return _png_source(image, data, factor)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise bad_request("invalid_image", f"the image could not be decoded: {exc}") from None


def _jpeg_source(image: Image.Image, factor: int) -> InkSource:
    """JPEGs have no alpha: luminance, decoded reduced by as much of ``factor`` as libjpeg can."""
    wanted = next(s for s in JPEG_SCALES if s <= factor)
    width, height = image.size
    drafted = image.draft("L", (max(1, width // wanted), max(1, height // wanted)))
    scale = round(width / drafted[1][2]) if drafted else 1  # what the decoder will do
    image = ImageOps.exif_transpose(image)  # phone photos carry their rotation in EXIF
    if image.mode != "L":
        image = image.convert("L")  # CMYK, or a decoder that ignored the draft mode
    upload_size = (image.width * scale, image.height * scale)  # after the EXIF rotation
    return InkSource(np.asarray(image), LUMINANCE, max(1, factor // scale), upload_size)


def _png_source(image: Image.Image, data: bytes, factor: int) -> InkSource:
    rgba = decode_rgba8(data)
    if rgba is not None:  # a canvas: libspng, pixel chunks only
        image = Image.frombuffer("RGBA", image.size, rgba, "raw", "RGBA", 0, 1)
    else:
        image.load()
    return InkSource(*ink_channel(image), factor, image.size)


def decode_drawing(data: bytes, max_side: int) -> Drawing:
    """PNG/JPEG bytes -> the drawing at the working size; raises ApiError, or EmptyDrawing."""
    source = decode_ink_source(data, max_side)
    ink = working_ink(source.channel, source.kind, source.factor)
    return Drawing(ink, round(source.size[0] / ink.shape[1]) if ink.shape[1] else 1,
                   source.size)


def decode_ink(data: bytes, max_side: int) -> np.ndarray:
    """PNG/JPEG bytes -> ink at the working size; raises ApiError, or EmptyDrawing."""
    return decode_drawing(data, max_side).ink
