"""Cross-origin access for browser dApps: the origins named in ``AIGC_CORS_ORIGINS`` only.

With no origins configured (the default) no CORS header is sent, so browsers keep the API
same-origin. Bearer tokens travel in ``Authorization``, never in cookies, so credentials mode is
off and a preflight names ``Authorization`` among the allowed request headers.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept", "Idempotency-Key")
EXPOSED_HEADERS = ("Retry-After",)
PREFLIGHT_MAX_AGE_S = 600


def parse_origins(value: str) -> list[str]:
    """``"https://a.example, https://b.example"`` -> the origins, trimmed, without a trailing
    slash (browsers send ``Origin`` without one); ``"*"`` allows any origin."""
    return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Answers preflights and tags responses for ``origins``; does nothing when empty."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_S,
    )
