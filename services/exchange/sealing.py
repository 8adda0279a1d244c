"""Sealed delivery: an image only the paying producer can open, and only after the ESP is paid.

The key needs BOTH the lock's preimage ``s`` (public once the ESP claims the fee) AND the
ECDH secret of the ESP's and the producer's secp256k1 keys (their Ethereum keys), so the
preimage revealed on chain alone opens nothing::

    shared = ECDH(esp_private, producer_public) = ECDH(producer_private, esp_public)
    key    = HKDF-SHA256(ikm = shared || s, salt = task_id, info = "aigc/sealed-delivery/v1")
    sealed = nonce(12) || AES-256-GCM(key, nonce, image, aad = task_id)

That is format v1, kept for deliveries sealed to a producer's *account* key (which only a client
holding the raw private key can open). Format v2 seals to any recipient key, in practice the
delivery key a wallet user derives from a signature (:mod:`services.exchange.delivery_keys`),
and names it in the sealed bytes::

    shared = x(ECDH(esp_private, recipient_public))                          (32 bytes)
    key    = HKDF-SHA256(ikm = shared || s, salt = task_id,
                         info = "aigc/sealed-delivery/v2" || esp_pub33 || recipient_pub33)
    header = 0x02 || recipient_pub33
    sealed = header || nonce(12) || AES-256-GCM(key, nonce, image, aad = header || task_id)

(``pub33``: the compressed SEC1 point.) docs/delivery.md has the byte-exact spec and test vectors.
The ESP also publishes ``key_commitment = sha256("aigc/key-commitment/v1" || key)`` inside its
signed delivery (the same for both formats). If the opened image does not match the
attestation, the producer reveals ``key`` (it opens this one delivery and nothing else):
anyone can check it against the commitment, decrypt the stored sealed bytes,
and see the mismatch. That is the fraud proof.
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
_INFO_V2 = b"aigc/sealed-delivery/v2"
_COMMIT = b"aigc/key-commitment/v1"
V2 = 0x02  # first byte of a v2 sealed delivery
_HEADER_V2 = 1 + 33


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


def _point(compressed_key: bytes) -> ec.EllipticCurvePublicKey:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), compressed_key)
    except ValueError as exc:
        raise ValueError(f"public key is not a secp256k1 point: {exc}") from None


def delivery_key(
    *, own_private: bytes, peer_public: bytes, preimage: bytes, task_id: bytes
) -> bytes:
    """The 32-byte AES key of a v1 delivery (same result on both sides)."""
    if len(preimage) != 32 or len(task_id) != 32:
        raise ValueError("preimage and task_id must be 32 bytes")
    shared = _private(own_private).exchange(ec.ECDH(), _public(peer_public))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=task_id, info=_INFO).derive(
        shared + preimage
    )


def key_commitment(key: bytes) -> bytes:
    """``sha256("aigc/key-commitment/v1" || key)``: what the ESP signs; the fraud proof opens it."""
    return hashlib.sha256(_COMMIT + key).digest()


def seal(image: bytes, *, key: bytes, task_id: bytes) -> bytes:
    """Format v1: ``nonce || AES-256-GCM(key, nonce, image, aad = task_id)``."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, image, task_id)


def compressed(public_key: bytes) -> bytes:
    """The 33-byte compressed SEC1 form of a secp256k1 public key (33, 64 or 65 bytes in)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = _point(public_key) if len(public_key) == 33 else _public(public_key)
    return point.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def _v2_key(
    *, shared: bytes, esp: bytes, recipient: bytes, preimage: bytes, task_id: bytes
) -> bytes:
    if len(preimage) != 32 or len(task_id) != 32:
        raise ValueError("preimage and task_id must be 32 bytes")
    info = _INFO_V2 + esp + recipient
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=task_id, info=info).derive(
        shared + preimage
    )


def esp_sealing_key(
    *, esp_private: bytes, recipient_public: bytes, preimage: bytes, task_id: bytes
) -> bytes:
    """The v2 key, as the ESP derives it (its account key, the recipient's public key)."""
    recipient = compressed(recipient_public)
    shared = _private(esp_private).exchange(ec.ECDH(), _point(recipient))
    return _v2_key(
        shared=shared,
        esp=compressed(public_key_bytes(esp_private)),
        recipient=recipient,
        preimage=preimage,
        task_id=task_id,
    )


def recipient_sealing_key(
    *, recipient_private: bytes, esp_public: bytes, preimage: bytes, task_id: bytes
) -> bytes:
    """The v2 key, as the recipient derives it (its delivery key, the ESP's public key)."""
    esp = compressed(esp_public)
    shared = _private(recipient_private).exchange(ec.ECDH(), _point(esp))
    return _v2_key(
        shared=shared,
        esp=esp,
        recipient=compressed(public_key_bytes(recipient_private)),
        preimage=preimage,
        task_id=task_id,
    )


def seal_to(
    image: bytes,
    *,
    key: bytes,
    task_id: bytes,
    recipient_public: bytes,
    nonce: bytes | None = None,
) -> bytes:
    """Format v2: ``0x02 || recipient33 || nonce || AES-256-GCM(key, nonce, image, aad)``.

    ``nonce`` is random unless given (test vectors only: never reuse one with a key).
    """
    header = bytes([V2]) + compressed(recipient_public)
    nonce = os.urandom(12) if nonce is None else nonce
    if len(nonce) != 12:
        raise ValueError("nonce must be 12 bytes")
    return header + nonce + AESGCM(key).encrypt(nonce, image, header + task_id)


def sealed_recipient(sealed: bytes) -> bytes | None:
    """The compressed public key a v2 delivery names as its recipient; None when the bytes are
    not shaped like v2 (a v1 delivery, whose first byte is random, may still look like one:
    only opening it tells, see :func:`open_sealed`)."""
    if len(sealed) < _HEADER_V2 + 12 + 16 or sealed[0] != V2:
        return None
    return sealed[1:_HEADER_V2]


def open_sealed(sealed: bytes, *, key: bytes, task_id: bytes) -> bytes:
    """Opens a v2 or a v1 delivery with its key.

    A v1 delivery starts with its random nonce, so 1 in 256 of them start with 0x02: bytes shaped
    like v2 that fail v2's tag are tried as v1 (AES-GCM's tag makes a wrong parse fail, never
    decrypt to something else).
    """
    if len(sealed) < 12 + 16:
        raise SealError("sealed delivery is too short")
    aead = AESGCM(key)
    if sealed_recipient(sealed) is not None:
        header = sealed[:_HEADER_V2]
        body = sealed[_HEADER_V2:]
        try:
            return aead.decrypt(body[:12], body[12:], header + task_id)
        except InvalidTag:
            pass
    try:
        return aead.decrypt(sealed[:12], sealed[12:], task_id)
    except InvalidTag:
        raise SealError("cannot open the delivery: wrong key or tampered bytes") from None
