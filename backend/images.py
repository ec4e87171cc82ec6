"""Decoding uploaded PNG/JPEG bytes in memory, refusing oversized images before decoding."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import bad_request, too_large, unsupported
from backend.preprocess import ink_from_alpha, ink_from_rgb

SUPPORTED_FORMATS = ("PNG", "JPEG")
SUPPORTED_MEDIA_TYPES = ("image/png", "image/jpeg")

# Signatures of image formats we recognise but do not accept (415, not 400).
_OTHER_IMAGE_SIGNATURES = (
    b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00", b"<svg", b"<?xml",
)


def _looks_like_other_image(data: bytes) -> bool:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data.startswith(_OTHER_IMAGE_SIGNATURES) or data[4:12] in (b"ftypavif", b"ftypheic")


def decode_image(data: bytes, max_side: int) -> Image.Image:
    """PNG/JPEG bytes -> a decoded image; raises ApiError (400/413/415) for bad input.

    The size is read from the header and checked before any pixel is decoded, so a small
    file that claims a huge image (a decompression bomb) costs nothing.
    """
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
    try:
        image.load()
        if image.format == "JPEG":
            image = ImageOps.exif_transpose(image)  # phone photos carry their rotation in EXIF
        return image
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise bad_request("invalid_image", f"the image could not be decoded: {exc}") from None


def image_ink(image: Image.Image) -> np.ndarray:
    """The ink of a decoded image, exactly as preprocess.ink_from_rgba reads its RGBA pixels.

    A canvas only needs its alpha channel, so the full RGBA array is never built for it
    (that copy alone cost more than the model).
    """
    if image.mode not in ("RGBA", "LA", "RGB", "L"):
        image = image.convert("RGBA")  # palette (maybe with transparency), CMYK, 16-bit, ...
    if "A" in image.getbands():
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            return ink_from_alpha(alpha)
    return ink_from_rgb(np.asarray(image.convert("RGB")))
