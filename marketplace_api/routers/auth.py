"""Sign-In with Ethereum: a one-time nonce, a signed EIP-4361 message, a short-lived token.

Any wallet signs in: an EOA (65-byte or EIP-2098 64-byte signature), a deployed contract account
(ERC-1271) or one not deployed yet (ERC-6492), checked against the deployment's chain. The token
ends no later than the message's Expiration Time.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from marketplace_api import tokens
from marketplace_api.deps import (
    CurrentAccount,
    DeploymentDep,
    LimiterDep,
    SessionDep,
    SettingsDep,
    client_ip,
)
from marketplace_api.errors import Unauthorized, declare
from marketplace_api.models import AccountKey, AuthNonce
from marketplace_api.schemas import Me, NonceOut, TokenOut, VerifyIn
from services import siwe

router = APIRouter(prefix="/v1/auth", tags=["auth"])

NONCE_INVALID = "siwe_nonce_invalid"


@router.post("/nonce", response_model=NonceOut, responses=declare(429, 502))
def new_nonce(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    deployment: DeploymentDep,
    limiter: LimiterDep,
) -> NonceOut:
    """Issue a one-time nonce to put in the EIP-4361 message."""
    # By IP, signed in or not: a token's own bucket would let throwaway sign-ins mint nonces.
    limiter.hit("nonce", client_ip(request), limit=settings.rate_nonce_per_minute)
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


@router.post("/verify", response_model=TokenOut, responses=declare(401, 502))
def verify(
    body: VerifyIn, session: SessionDep, settings: SettingsDep, deployment: DeploymentDep
) -> TokenOut:
    """Check the signed message and its nonce (once), and return a bearer token."""
    now = datetime.now(UTC)
    claimed = siwe.parse(body.message)  # a SiweError is 401 with its siwe_* code (errors.py)
    # A nonce we issued and nobody used is needed before any signature work (a contract
    # signature costs an eth_call): unknown nonces stop here.
    live = (
        AuthNonce.nonce == claimed.nonce,
        AuthNonce.used.is_(False),
        AuthNonce.expires_at > int(now.timestamp()),
    )
    if session.scalar(select(AuthNonce.nonce).where(*live)) is None:
        raise Unauthorized("nonce is unknown, expired or already used", code=NONCE_INVALID)
    signed = siwe.verify(
        body.message,
        body.signature,
        domain=settings.siwe_domain,
        uri=settings.siwe_uri,
        chain_id=deployment.chain.chain_id,
        now=now,
        scheme=urlsplit(settings.siwe_uri).scheme,
        w3=deployment.chain.w3,
    )
    msg = signed.message
    # Consume the nonce atomically: exactly one verify can flip it from unused to used.
    consumed = session.execute(update(AuthNonce).where(*live).values(used=True))
    if consumed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Unauthorized("nonce is unknown, expired or already used", code=NONCE_INVALID)
    if signed.public_key is not None:  # contract accounts have no key of their own
        key = "0x" + signed.public_key.hex()
        try:
            with session.begin_nested():
                session.merge(AccountKey(address=msg.address, public_key=key))
        except IntegrityError:  # a concurrent first sign-in of this account made the row
            session.merge(AccountKey(address=msg.address, public_key=key))
    session.commit()
    ttl = settings.token_ttl_s
    if msg.expiration_time is not None:
        ttl = min(ttl, math.floor((msg.expiration_time - now).total_seconds()))
    token, expiry = tokens.issue(
        msg.address,
        secret=settings.token_secret.get_secret_value().encode(),
        ttl_s=ttl,
        now=now.timestamp(),
    )
    return TokenOut(token=token, address=msg.address, expires_at=expiry)


@router.get("/me", response_model=Me, responses=declare(401))
def me(account: CurrentAccount) -> Me:
    """The address the bearer token belongs to."""
    return Me(address=account)
