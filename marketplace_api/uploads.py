"""Upload guards: a body-size limit enforced while receiving, and strict image decoding.

* :class:`BodySizeLimit` (ASGI middleware) answers 413 from the ``Content-Length`` header before
  reading the body, and stops a chunked body as soon as it passes the limit: an oversized upload
  is never buffered.
* :func:`decode_image` accepts PNG, JPEG and WebP only, checks the bytes are what the declared
  content type says (a spoofed type is 415), refuses dimensions over the pixel limit before
  decoding (decompression bombs, 413) and anything PIL cannot fully decode (415).
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

from PIL import Image, UnidentifiedImageError

from marketplace_api.errors import PayloadTooLarge, UnsupportedMedia

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


class _TooLarge(BaseException):  # not Exception: parsers that catch Exception must not swallow it
    pass


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` (413) without buffering them."""

    def __init__(self, app: Any, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._reject(send)
            return
        seen = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Any) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body over {self.max_bytes} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def decode_image(data: bytes, *, declared_type: str | None, max_pixels: int) -> Image.Image:
    """The fully decoded RGB image, or a 413/415 error naming the problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format or ""
            if fmt not in FORMATS:
                raise UnsupportedMedia(
                    f"unsupported image format {fmt or 'unknown'}: use PNG, JPEG or WebP"
                )
            if declared_type and declared_type.split(";")[0].strip() not in (
                FORMATS[fmt],
                "application/octet-stream",
            ):
                raise UnsupportedMedia(
                    f"content type {declared_type} does not match the {fmt} bytes"
                )
            width, height = probe.size
            if width * height > max_pixels:
                raise PayloadTooLarge(
                    f"image is {width}x{height}, over the {max_pixels}-pixel limit"
                )
            probe.load()
            return probe.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMedia(f"not a decodable image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge("image decompresses beyond the pixel limit") from None
