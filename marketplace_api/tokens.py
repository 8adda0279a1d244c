"""Short-lived bearer tokens: ``base64url(address.expiry.nonce).base64url(hmac-sha256)``.

Stateless (nothing to store per session), bound to the address that signed in, and rejected
after ``expiry`` or when the signature does not verify under the server's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time


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
