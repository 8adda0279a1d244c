"""Short-lived bearer tokens: ``base64url(address.expiry.nonce).base64url(hmac-sha256)``.

Stateless (nothing to store per session), bound to the address that signed in, and rejected
after ``expiry`` or when the signature does not verify under the server's secret. The secret is
``AIGC_TOKEN_SECRET`` or, unset, one stored in the database (:func:`stored_secret`), so every
replica accepts every replica's tokens and tokens survive restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from marketplace_api.models_shared import SharedSecret


class TokenError(ValueError):
    """Raised when a bearer token is malformed, forged or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(address: str, *, secret: bytes, ttl_s: int, now: float | None = None) -> tuple[str, int]:
    """A token for ``address`` valid ``ttl_s`` seconds; returns (token, expiry unix time)."""
    expiry = int((now if now is not None else time.time()) + ttl_s)
    payload = f"{address}.{expiry}.{secrets.token_hex(8)}".encode()
    mac = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}", expiry


def check(token: str, *, secret: bytes, now: float | None = None) -> str:
    """The address a valid token was issued to; raises :class:`TokenError` otherwise."""
    try:
        payload_b64, mac_b64 = token.split(".")
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
        address, expiry, _ = payload.decode().split(".")
    except (ValueError, UnicodeDecodeError):
        raise TokenError("malformed token") from None
    if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()):
        raise TokenError("token signature is invalid")
    if (now if now is not None else time.time()) >= int(expiry):
        raise TokenError("token has expired")
    return address


def stored_secret(engine: Engine, name: str = "token_secret") -> str:
    """The secret every replica on this database signs with: created once, atomically (the
    first replica's insert wins; the others' inserts are ignored and they read the winner's)."""
    candidate = secrets.token_hex(32)
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        conn.execute(
            insert(SharedSecret).values(name=name, value=candidate).on_conflict_do_nothing()
        )
        return str(
            conn.execute(select(SharedSecret.value).where(SharedSecret.name == name)).scalar_one()
        )
