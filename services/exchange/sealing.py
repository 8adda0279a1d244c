"""Sealed delivery: an image only the paying producer can open, and only after the ESP is paid.

The key needs BOTH the lock's preimage ``s`` (public once the ESP claims the fee) AND the
ECDH secret of the ESP's and the producer's secp256k1 keys (their Ethereum keys), so the
preimage revealed on chain alone opens nothing::

    shared = ECDH(esp_private, producer_public) = ECDH(producer_private, esp_public)
    key    = HKDF-SHA256(ikm = shared || s, salt = task_id, info = "aigc/sealed-delivery/v1")
    sealed = nonce(12) || AES-256-GCM(key, nonce, image, aad = task_id)

The ESP also publishes ``key_commitment = sha256("aigc/key-commitment/v1" || key)`` inside its
signed delivery. If the opened image does not match the attestation, the producer reveals
``key`` (it opens this one delivery and nothing else): anyone can check it against the
commitment, decrypt the stored sealed bytes, and see the mismatch. That is the fraud proof.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.exchange.errors import ExchangeError

_INFO = b"aigc/sealed-delivery/v1"
_COMMIT = b"aigc/key-commitment/v1"


class SealError(ExchangeError):
    """Raised when a sealed delivery cannot be opened (wrong key, preimage, or tampered bytes)."""


def _private(key: bytes) -> ec.EllipticCurvePrivateKey:
    if len(key) != 32:
        raise ValueError("private key must be 32 bytes")
    return ec.derive_private_key(int.from_bytes(key, "big"), ec.SECP256K1())


def public_key_bytes(private_key: bytes) -> bytes:
    """The uncompressed public key (65 bytes, 0x04 || x || y) of a secp256k1 private key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return (
        _private(private_key)
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )


def _public(key: bytes) -> ec.EllipticCurvePublicKey:
    raw = key if len(key) == 65 else b"\x04" + key  # accept 64-byte x||y too
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw)
    except ValueError as exc:
        raise ValueError(f"public key is not a secp256k1 point: {exc}") from None


def delivery_key(
    *, own_private: bytes, peer_public: bytes, preimage: bytes, task_id: bytes
) -> bytes:
    """The 32-byte AES key of a delivery (same result on both sides)."""
    if len(preimage) != 32 or len(task_id) != 32:
        raise ValueError("preimage and task_id must be 32 bytes")
    shared = _private(own_private).exchange(ec.ECDH(), _public(peer_public))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=task_id, info=_INFO).derive(
        shared + preimage
    )


def key_commitment(key: bytes) -> bytes:
    return hashlib.sha256(_COMMIT + key).digest()


def seal(image: bytes, *, key: bytes, task_id: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, image, task_id)


def open_sealed(sealed: bytes, *, key: bytes, task_id: bytes) -> bytes:
    if len(sealed) < 12 + 16:
        raise SealError("sealed delivery is too short")
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], task_id)
    except InvalidTag:
        raise SealError("cannot open the delivery: wrong key or tampered bytes") from None
