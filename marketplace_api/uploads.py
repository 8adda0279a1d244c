"""Upload guards: a body-size limit enforced while receiving, and strict image decoding.

* :class:`BodySizeLimit` (ASGI middleware) answers 413 from the ``Content-Length`` header before
  reading the body, and stops a chunked body as soon as it passes the limit: an oversized upload
  is never buffered.
* :class:`JsonDepthLimit` refuses JSON bodies nested deeper than the JSON parser can safely
  recurse (422 ``json_too_deep``) before FastAPI parses them.
* :func:`decode_image` accepts PNG, JPEG and WebP only, checks the bytes are what the declared
  content type says (a spoofed type is 415), refuses dimensions over the pixel limit before
  decoding (decompression bombs, 413) and anything PIL cannot fully decode (415). It returns
  the pixels alone: no ICC profile, transparency colour or other metadata of the upload rides
  along into the PNG the API stores and serves.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import pydantic_core
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


MAX_JSON_DEPTH = 200  # pydantic-core's parser's own bound on nesting


def _json_body(headers: dict[bytes, bytes]) -> bool:
    """Whether FastAPI would parse this request's body as JSON (a JSON media type, or none)."""
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind in (b"", b"application/json") or kind.endswith(b"+json")


class JsonDepthLimit:
    """Refuses JSON bodies nested deeper than :data:`MAX_JSON_DEPTH` (422 ``json_too_deep``)
    before FastAPI parses them. The API's imports (py-evm, py_ecc) raise Python's recursion
    limit to 100,000, so the standard library's C JSON parser recursed through a body of
    200,000 nested brackets (400 kB, under the upload limit) until the process overflowed its
    stack and died (a segfault: every request of that worker lost). The body is checked with
    pydantic-core's parser, which bounds nesting itself; it is at most the upload limit, which
    :class:`BodySizeLimit` (outside this one) enforces while it is received."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in ("POST", "PUT", "PATCH")  # the routes with a body
            or not _json_body(dict(scope.get("headers") or []))
        ):
            await self.app(scope, receive, send)
            return
        messages: list[dict[str, Any]] = []
        body = bytearray()
        while True:
            message: dict[str, Any] = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client left: the app sees it as it would have
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _too_deep(bytes(body)):
            await _answer(
                send, 422, "json_too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            )
            return
        replay = iter(messages)

        async def replayed() -> dict[str, Any]:
            for message in replay:
                return message
            return dict(await receive())

        await self.app(scope, replayed, send)


def _too_deep(body: bytes) -> bool:
    try:
        pydantic_core.from_json(body)
    except ValueError as exc:
        return "recursion limit" in str(exc)
    return False


async def _answer(send: Any, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def decode_image(data: bytes, *, declared_type: str | None, max_pixels: int) -> Image.Image:
    """The fully decoded RGB image, or a 413/415 error naming the problem.

    The image carries no metadata of the upload (``info`` emptied): PIL's PNG encoder writes an
    ``icc_profile`` and an RGB ``transparency`` colour found there, so an upload of a token's
    pixels (open to any signed-in account) with a profile that repaints them, or a tRNS colour
    that blanks them, changed the bytes the API serves for the token while the canonical hash
    (the RGB pixels) still matched."""
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
            rgb = probe.convert("RGB")
            rgb.info = {}  # the pixels alone (see above)
            return rgb
    except UnidentifiedImageError:
        # PIL's message names its in-memory buffer object (<_io.BytesIO object at 0x...>)
        raise UnsupportedMedia(
            "not a decodable image: the bytes are no PNG, JPEG or WebP image"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMedia(f"not a decodable image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge("image decompresses beyond the pixel limit") from None
