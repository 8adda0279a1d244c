"""The web app (issue 15): ``/`` and its assets, served from ``marketplace_api/web`` as committed.

Plain HTML, CSS and ES modules, plus the studio's SDK bundle (``sdk.bundle.js``, built by
``js/sdk/scripts/bundle-web.sh`` and committed): ``pip install`` and ``make demo`` need no Node
at run time. Assets are served from a fixed table (no path from the request touches the
filesystem) with a content hash as ETag, so a browser revalidates cheaply after an upgrade.

Every answer carries a strict Content-Security-Policy (:data:`CSP`) and the usual hardening
headers (:data:`SECURITY_HEADERS`): the page signs transactions, so an injected script (an API
string rendered as HTML somewhere, a hostile browser extension's inline tag) must not run, and
no other site may frame it to trick a click on "Pay" (clickjacking). The app needs nothing else:
its scripts are same-origin ES modules, its one stylesheet is a file, its images come from the API
or are blobs the studio opens, and the wallet is the injected ``window.ethereum`` object (no
script tag, no network origin of its own). The app builds its DOM with ``createElement`` and text
nodes only; ``require-trusted-types-for 'script'`` (which would make every string-to-HTML sink
throw) is left out on purpose: it binds every script in the page's realm, wallet extensions' own
in-page scripts included, and ``script-src 'self'`` already refuses what markup could smuggle in
(inline handlers, inline scripts, string timers).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response

from marketplace_api.errors import NotFound

router = APIRouter(include_in_schema=False)

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
    "Referrer-Policy": "no-referrer",
    # same-origin-allow-popups, not same-origin: a wallet that signs in a popup it opens from the
    # page (Coinbase Smart Wallet's keys.coinbase.com) talks to it through window.opener.
    "Cross-Origin-Opener-Policy": "same-origin-allow-popups",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

# The API's documentation pages (/docs: Swagger UI, /redoc: ReDoc) are served from the app's own
# copies (web/vendor: swagger-ui-dist 5.35.0, redoc 2.5.2, their licences beside them), not
# FastAPI's defaults: those load unpinned scripts from cdn.jsdelivr.net (and fonts from Google)
# into an inline-scripted page with no policy, on the origin whose web app signs transactions, so
# whoever served that CDN file could script the marketplace's origin. Each page gets the app's
# policy with only what it needs: Swagger UI nothing more; ReDoc the inline <style> elements its
# styled-components write ('unsafe-inline' for styles only, never scripts) and the blob: worker
# its search runs in.
DOCS_CSP = CSP.replace("img-src 'self' blob:", "img-src 'self' data:")
REDOC_CSP = "; ".join(
    (
        DOCS_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
        "worker-src blob:",
    )
)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_JS = "text/javascript; charset=utf-8"
# The assets under /app/{name}: the file (relative to WEB_DIR) and its media type.
_ASSETS = {
    "app.js": ("app.js", _JS),
    "wallet.js": ("wallet.js", _JS),
    "keccak.js": ("keccak.js", _JS),
    "studio.js": ("studio.js", _JS),
    "market.js": ("market.js", _JS),
    "dashboard.js": ("dashboard.js", _JS),
    "sdk.bundle.js": ("sdk.bundle.js", _JS),
    "style.css": ("style.css", "text/css; charset=utf-8"),
    "docs.js": ("docs.js", _JS),
    "swagger-ui-bundle.js": ("vendor/swagger-ui-bundle.js", _JS),
    "swagger-ui.css": ("vendor/swagger-ui.css", "text/css; charset=utf-8"),
    "redoc.standalone.js": ("vendor/redoc.standalone.js", _JS),
}


@cache
def _asset(name: str) -> tuple[bytes, str]:
    body = (WEB_DIR / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _serve(request: Request, name: str, media_type: str, csp: str = CSP) -> Response:
    body, etag = _asset(name)
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        **SECURITY_HEADERS,
        "Content-Security-Policy": csp,
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/")
def index(request: Request) -> Response:
    """The single page: gallery at ``#/``, a product at ``#/product/<token id>``."""
    return _serve(request, "index.html", "text/html; charset=utf-8")


@router.get("/app/{name}")
def asset(name: str, request: Request) -> Response:
    found = _ASSETS.get(name)
    if found is None:
        raise NotFound(f"no asset {name[:80]!r}")
    return _serve(request, found[0], found[1])


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    """The API's interactive documentation (Swagger UI over ``/openapi.json``)."""
    return _serve(request, "docs.html", "text/html; charset=utf-8", DOCS_CSP)


@router.get("/redoc")
def redoc(request: Request) -> Response:
    """The API's reference documentation (ReDoc over ``/openapi.json``)."""
    return _serve(request, "redoc.html", "text/html; charset=utf-8", REDOC_CSP)
