"""Sign-In with Ethereum: a one-time nonce, a signed EIP-4361 message, a short-lived token."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from sqlalchemy import delete, update

from marketplace_api import tokens
from marketplace_api.deps import (
    CurrentAccount,
    DeploymentDep,
    LimiterDep,
    SessionDep,
    SettingsDep,
    client_key,
)
from marketplace_api.errors import Unauthorized
from marketplace_api.models import AccountKey, AuthNonce
from marketplace_api.schemas import Me, NonceOut, TokenOut, VerifyIn
from services import siwe

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/nonce", response_model=NonceOut)
def new_nonce(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    deployment: DeploymentDep,
    limiter: LimiterDep,
) -> NonceOut:
    """Issue a one-time nonce to put in the EIP-4361 message."""
    limiter.hit("nonce", client_key(request), limit=settings.rate_nonce_per_minute)
    now = datetime.now(UTC)
    session.execute(delete(AuthNonce).where(AuthNonce.expires_at < int(now.timestamp())))
    nonce = secrets.token_hex(16)
    expires = now + timedelta(seconds=settings.nonce_ttl_s)
    session.add(AuthNonce(nonce=nonce, expires_at=int(expires.timestamp()), used=False))
    session.commit()
    return NonceOut(
        nonce=nonce,
        expires_at=expires,
        domain=settings.siwe_domain,
        uri=settings.siwe_uri,
        chain_id=deployment.chain.chain_id,
    )


@router.post("/verify", response_model=TokenOut)
def verify(
    body: VerifyIn, session: SessionDep, settings: SettingsDep, deployment: DeploymentDep
) -> TokenOut:
    """Check the signed message and its nonce (once), and return a bearer token."""
    now = datetime.now(UTC)
    try:
        msg = siwe.verify(
            body.message,
            body.signature,
            domain=settings.siwe_domain,
            uri=settings.siwe_uri,
            chain_id=deployment.chain.chain_id,
            now=now,
        )
    except siwe.SiweError as exc:
        raise Unauthorized(str(exc)) from None
    # Consume the nonce atomically: exactly one verify can flip it from unused to used.
    consumed = session.execute(
        update(AuthNonce)
        .where(
            AuthNonce.nonce == msg.nonce,
            AuthNonce.used.is_(False),
            AuthNonce.expires_at > int(now.timestamp()),
        )
        .values(used=True)
    )
    if consumed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Unauthorized("nonce is unknown, expired or already used")
    public = siwe.recover_public_key(body.message, body.signature)
    session.merge(AccountKey(address=msg.address, public_key="0x" + public.hex()))
    session.commit()
    token, expiry = tokens.issue(
        msg.address,
        secret=settings.token_secret.get_secret_value().encode(),
        ttl_s=settings.token_ttl_s,
    )
    return TokenOut(token=token, address=msg.address, expires_at=expiry)


@router.get("/me", response_model=Me)
def me(account: CurrentAccount) -> Me:
    """The address the bearer token belongs to."""
    return Me(address=account)
