"""Dependencies shared by the routers: settings, DB session, chain deployment, current account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from ledger.deploy import Deployment
from marketplace_api import tokens
from marketplace_api.config import ApiSettings
from marketplace_api.errors import Unauthorized
from marketplace_api.ratelimit import RateLimiter


def get_settings_dep(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        try:
            yield session
        except Exception:
            session.rollback()
            raise


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
    """The token of an ``Authorization: Bearer <token>`` header; the scheme is matched in any
    case (RFC 9110 section 11.1), ``None`` when there is no bearer token."""
    if not authorization:
        return None
    parts = authorization.split(maxsplit=1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1].strip()


def current_account(
    settings: SettingsDep,
    authorization: Annotated[
        str | None, Header(description="Bearer token from /v1/auth/verify")
    ] = None,
) -> str:
    """The address behind the bearer token; 401 when missing, forged or expired."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized("sign in with Ethereum first: Authorization: Bearer <token>")
    try:
        return tokens.check(token, secret=settings.token_secret.get_secret_value().encode())
    except tokens.TokenError as exc:
        raise Unauthorized(str(exc)) from None


CurrentAccount = Annotated[str, Depends(current_account)]


def client_key(request: Request) -> str:
    """Whom a rate limit counts: the signed-in address when the request carries a valid bearer
    token, else the client's IP (behind a reverse proxy every anonymous client is one IP)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is not None:
        settings: ApiSettings = request.app.state.settings
        try:
            return tokens.check(token, secret=settings.token_secret.get_secret_value().encode())
        except tokens.TokenError:
            pass
    return request.client.host if request.client else "unknown"
