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


def current_account(
    settings: SettingsDep,
    authorization: Annotated[
        str | None, Header(description="Bearer token from /v1/auth/verify")
    ] = None,
) -> str:
    """The address behind the bearer token; 401 when missing, forged or expired."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("sign in with Ethereum first: Authorization: Bearer <token>")
    try:
        return tokens.check(
            authorization.removeprefix("Bearer "),
            secret=settings.token_secret.get_secret_value().encode(),
        )
    except tokens.TokenError as exc:
        raise Unauthorized(str(exc)) from None


CurrentAccount = Annotated[str, Depends(current_account)]


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"
