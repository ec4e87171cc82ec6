"""Reading the image out of a /predict request, whichever of the accepted forms it takes.

Accepted bodies:
  application/json            {"image": "<data URL or bare base64>", "return_input": bool}
  text/plain (or no type,     a data URL or bare base64: what fetch(url, {body: canvas.toDataURL()})
  form-urlencoded as curl -d)   sends
  multipart/form-data         a `file` field holding PNG/JPEG bytes (mobile uploads)
  image/png, image/jpeg       the raw image bytes
``return_input`` may also come as a query parameter or form field ("true"/"1").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from flask import Request

from backend.errors import bad_request, unsupported
from backend.images import SUPPORTED_MEDIA_TYPES

RAW_TEXT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "")
_DATA_URL = re.compile(r"data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*?);base64,", re.IGNORECASE)
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class ImageRequest:
    image: bytes
    return_input: bool


def read_image_request(request: Request) -> ImageRequest:
    """The image bytes and options of a request; raises ApiError (400/413/415)."""
    mimetype = request.mimetype
    return_input = _flag(request.args.get("return_input"))
    if mimetype == "application/json":
        return _from_json(request.get_data(cache=False), return_input)
    if mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise bad_request("missing_file", "multipart uploads need a `file` field")
        return ImageRequest(upload.read(), return_input or _flag(request.form.get("return_input")))
    if mimetype in SUPPORTED_MEDIA_TYPES:
        return ImageRequest(request.get_data(cache=False), return_input)
    if mimetype in RAW_TEXT_TYPES:
        return ImageRequest(decode_image_text(request.get_data(cache=False)), return_input)
    if mimetype.startswith("image/"):
        raise unsupported("unsupported_image_format", "only PNG and JPEG images are accepted")
    raise unsupported(
        "unsupported_media_type",
        f"Content-Type {mimetype!r} is not accepted: send application/json, a data URL as "
        "text/plain, multipart/form-data with a `file` field, or image/png / image/jpeg",
    )


def parse_json(body: bytes) -> object:
    """A JSON body, or a 400 that says what is wrong with it."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("invalid_json", "the body is not valid JSON") from None
    except RecursionError:  # [[[[... thousands deep: the parser's recursion limit
        raise bad_request("json_too_deep", "the JSON body is nested too deeply") from None


def _from_json(body: bytes, return_input: bool) -> ImageRequest:
    payload = parse_json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
        raise bad_request("missing_image", 'the JSON body needs an "image" string')
    flag = payload.get("return_input", False)
    if not isinstance(flag, bool):
        raise bad_request("invalid_field", '"return_input" must be true or false')
    return ImageRequest(decode_image_text(payload["image"]), return_input or flag)


def decode_image_text(text: str | bytes) -> bytes:
    """A data URL (``data:image/png;base64,...``) or bare base64 -> the image bytes."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise bad_request("invalid_base64", "the image text is not base64") from None
    else:
        raw = text
    raw = raw.strip()
    if raw[:5].lower() == b"data:":
        # The header is short; only it needs decoding to text.
        match = _DATA_URL.match(raw[:256].decode("ascii", errors="replace"))
        if not match:
            raise bad_request(
                "invalid_data_url", "expected a base64 data URL: data:image/png;base64,..."
            )
        media_type = match["type"].lower()
        if media_type not in SUPPORTED_MEDIA_TYPES:
            raise unsupported(
                "unsupported_image_format",
                f"data URL type {media_type or '(none)'!r}: only image/png and image/jpeg",
            )
        raw = raw[match.end():]
    if not raw:
        raise bad_request("empty_image", "the image is empty")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        pass
    # Some clients wrap base64 in lines; only then is it worth scanning for whitespace.
    try:
        return base64.b64decode(_WHITESPACE.sub(b"", raw), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("invalid_base64", "the image is not valid base64") from None


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")

