"""The web app (issue 15): ``/`` and its assets, served from ``marketplace_api/web`` as committed.

Plain HTML, CSS and ES modules, plus the studio's SDK bundle (``sdk.bundle.js``, built by
``js/sdk/scripts/bundle-web.sh`` and committed): ``pip install`` and ``make demo`` need no Node
at run time. Assets are served from a fixed table (no path from the request touches the
filesystem) with a content hash as ETag, so a browser revalidates cheaply after an upgrade.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response

from marketplace_api.errors import NotFound

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "wallet.js": "text/javascript; charset=utf-8",
    "keccak.js": "text/javascript; charset=utf-8",
    "studio.js": "text/javascript; charset=utf-8",
    "market.js": "text/javascript; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "sdk.bundle.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


@cache
def _asset(name: str) -> tuple[bytes, str]:
    body = (WEB_DIR / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _serve(request: Request, name: str, media_type: str) -> Response:
    body, etag = _asset(name)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/")
def index(request: Request) -> Response:
    """The single page: gallery at ``#/``, a product at ``#/product/<token id>``."""
    return _serve(request, "index.html", "text/html; charset=utf-8")


@router.get("/app/{name}")
def asset(name: str, request: Request) -> Response:
    media_type = _TYPES.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name[:80]!r}")
    return _serve(request, name, media_type)
