"""Dependencies shared by the routers: settings, DB session, chain deployment, current account."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from ledger.deploy import Deployment
from marketplace_api import tokens
from marketplace_api.config import ApiSettings
from marketplace_api.errors import Unauthorized
from marketplace_api.proxies import forwarded_client
from marketplace_api.ratelimit import RateLimiter


def get_settings_dep(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed by the handler; whatever it did not commit is rolled
    back when the session closes (an error included: no ``except`` needed here)."""
    with request.app.state.sessions() as session:
        yield session


def get_deployment(request: Request) -> Deployment:
    deployment: Deployment = request.app.state.deployment
    return deployment


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


SettingsDep = Annotated[ApiSettings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
DeploymentDep = Annotated[Deployment, Depends(get_deployment)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, parsed as :data:`BEARER`
    parses it (the scheme in any case, RFC 9110 section 11.1); ``None`` without one."""
    scheme, token = get_authorization_scheme_param(authorization)
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _holder(token: str, settings: ApiSettings) -> str:
    """The address a bearer token was issued to; :class:`tokens.TokenError` when it is forged,
    expired or not a token."""
    return tokens.check(token.strip(), secret=settings.token_secret.get_secret_value().encode())


BEARER = HTTPBearer(
    auto_error=False,  # a missing or foreign scheme is answered by current_account's own 401
    scheme_name="bearer",
    description="The token from POST /v1/auth/verify (Sign-In with Ethereum)",
)
"""The OpenAPI security scheme of every signed-in route (``Authorization: Bearer <token>``)."""


def current_account(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> str:
    """The address behind the bearer token; 401 (the ErrorOut envelope) when missing, forged or
    expired."""
    if credentials is None:
        raise Unauthorized("sign in with Ethereum first: Authorization: Bearer <token>")
    try:
        return _holder(credentials.credentials, settings)
    except tokens.TokenError as exc:
        raise Unauthorized(str(exc)) from None


CurrentAccount = Annotated[str, Depends(current_account)]


def optional_account(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> str | None:
    """The address behind a valid bearer token, ``None`` without one (a route that answers
    anonymous callers too: a forged or expired token is treated as no token)."""
    if credentials is None:
        return None
    try:
        return _holder(credentials.credentials, settings)
    except tokens.TokenError:
        return None


OptionalAccount = Annotated[str | None, Depends(optional_account)]
OPTIONAL_SIGN_IN: dict[str, Any] = {"security": [{}]}
"""``openapi_extra`` of a route taking :data:`OptionalAccount`: FastAPI lists the bearer scheme
as required; this adds the empty requirement that makes it optional (OpenAPI 3.1 section 4.8.10)."""


def client_ip(request: Request) -> str:
    """Whom an anonymous rate limit counts: the client's IP. Behind a reverse proxy named in
    ``AIGC_TRUSTED_PROXIES`` that is the rightmost ``X-Forwarded-For`` address that is no
    trusted proxy (:func:`marketplace_api.proxies.forwarded_client`); from any other peer the
    header is ignored, so a client cannot write itself a fresh bucket there. An IPv6 client
    counts as its /64, the block one subscriber gets: one host may use any of its 2**64
    addresses, so a bucket per address limited nothing. An IPv4 address mapped into IPv6 is
    that IPv4 address."""
    peer = request.client.host if request.client else "unknown"
    networks = getattr(request.app.state, "trusted_proxies", ())
    host, ip = forwarded_client(peer, request.headers.getlist("x-forwarded-for"), networks)
    if ip is None:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_key(request: Request) -> str:
    """Whom a rate limit counts: the signed-in address when the request carries a valid bearer
    token, else :func:`client_ip` (the client behind a trusted reverse proxy: AIGC_TRUSTED_PROXIES).
    Not for sign-in itself: an address is free to make, so a bucket per signed-in address would
    let each throwaway sign-in bring fresh nonces (the nonce route counts :func:`client_ip`)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is not None:
        try:
            return _holder(token, request.app.state.settings)
        except tokens.TokenError:
            pass
    return client_ip(request)
