"""Delivery keys: the key a wallet user's deliveries are sealed to, derived from a signature.

No EIP-1193 wallet hands out its account's private key, so the producer's client asks the wallet
to ``personal_sign`` (EIP-191) one fixed, domain-bound message (:func:`delivery_key_message`) and
derives a secp256k1 key from the signature (:func:`derive_delivery_key`)::

    ikm    = r || s                    (64 bytes; s in low form, v dropped; see _ikm)
    salt   = keccak256("\\x19Ethereum Signed Message:\\n" || len(message) || message)
    okm    = HKDF-SHA256(ikm, salt, info = "aigc/delivery-key/v1", length = 48)
    secret = int(okm, big-endian) mod n          (n: the secp256k1 order; 0 is refused)

An RFC 6979 wallet signs the same message the same way on every device, so the key is re-derived
anywhere the wallet is. The client registers only the PUBLIC key, with a proof of possession: the
delivery key itself signs :func:`registration_message` (EIP-191), naming the account, chain and
domain, so a typo or someone else's key cannot be registered. The wallet's signature never leaves
the client: whoever holds it (the server included) could derive the key and open deliveries.
docs/delivery.md has the byte-exact rules, the reasoning and test vectors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_keys.datatypes import PublicKey
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError, to_checksum_address

from services.exchange.errors import ExchangeError
from services.exchange.sealing import compressed, public_key_bytes

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
INFO = b"aigc/delivery-key/v1"
_DOMAIN = re.compile(r"^[\x21-\x7e]{1,253}$")


class DeliveryKeyError(ExchangeError):
    """Raised when a delivery key cannot be derived or its registration does not verify."""


class BadDeliveryKeyProof(DeliveryKeyError):
    """Raised when a registration's proof is not signed by the delivery key it registers (for
    this account, chain and domain)."""


@dataclass(frozen=True)
class DeliveryKey:
    """A derived delivery key: ``secret`` (32 bytes) and ``public`` (33-byte compressed)."""

    secret: bytes
    public: bytes


def _check(account: str, chain_id: int, domain: str) -> str:
    if not _DOMAIN.match(domain):
        raise ValueError("domain must be 1-253 printable ASCII characters without spaces")
    if not 0 < chain_id < 2**64:
        raise ValueError("chain_id must be a positive 64-bit integer")
    return to_checksum_address(account.lower())


def delivery_key_message(*, account: str, chain_id: int, domain: str) -> str:
    """The exact text the wallet signs (lines joined by ``\\n``, no trailing newline)."""
    address = _check(account, chain_id, domain)
    return (
        "AIGC delivery key v1\n\n"
        f"Sign only on {domain}. This signature derives the key that opens the images delivered"
        " to you there; it cannot move funds or sign you in.\n\n"
        f"Account: {address}\n"
        f"Chain ID: {chain_id}\n"
        f"Domain: {domain}"
    )


def registration_message(*, account: str, chain_id: int, domain: str, public_key: bytes) -> str:
    """The text the delivery key signs to prove possession when it is registered."""
    address = _check(account, chain_id, domain)
    return (
        "AIGC delivery key registration v1\n"
        f"Account: {address}\n"
        f"Chain ID: {chain_id}\n"
        f"Domain: {domain}\n"
        f"Delivery key: 0x{compressed(public_key).hex()}"
    )


def _ikm(signature: bytes) -> bytes:
    """``r || s`` of a 65-byte (r, s, v) or 64-byte EIP-2098 signature, with s in low form, so
    the v a wallet reports (0/1 or 27/28) and a high-s encoding derive the same key. Any other
    length (a contract wallet's signature) is used as given."""
    if len(signature) == 64:
        r, ys = signature[:32], int.from_bytes(signature[32:], "big")
        s = ys & ((1 << 255) - 1)
    elif len(signature) == 65:
        r, s = signature[:32], int.from_bytes(signature[32:64], "big")
    else:
        if not signature:
            raise DeliveryKeyError("empty signature")
        return signature
    if not (0 < int.from_bytes(r, "big") < N and 0 < s < N):
        raise DeliveryKeyError("signature r or s is out of range")
    s = min(s, N - s)
    return r + s.to_bytes(32, "big")


def derive_delivery_key(
    signature: bytes, *, account: str, chain_id: int, domain: str
) -> DeliveryKey:
    """The delivery key from the wallet's signature over :func:`delivery_key_message`."""
    message = delivery_key_message(account=account, chain_id=chain_id, domain=domain)
    salt = bytes(defunct_hash_message(text=message))
    okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=salt, info=INFO).derive(_ikm(signature))
    scalar = int.from_bytes(okm, "big") % N
    if scalar == 0:  # probability 2^-256: refuse rather than use a non-key
        raise DeliveryKeyError("the signature derives the zero scalar; sign again")
    secret = scalar.to_bytes(32, "big")
    return DeliveryKey(secret=secret, public=compressed(public_key_bytes(secret)))


def prove_possession(key: DeliveryKey, *, account: str, chain_id: int, domain: str) -> bytes:
    """The delivery key's EIP-191 signature over :func:`registration_message` (65 bytes)."""
    message = registration_message(
        account=account, chain_id=chain_id, domain=domain, public_key=key.public
    )
    signed = Account.sign_message(encode_defunct(text=message), key.secret)
    return bytes(signed.signature)


def verify_registration(
    public_key: bytes, proof: bytes, *, account: str, chain_id: int, domain: str
) -> bytes:
    """Checks a registration; returns the compressed key. Raises :class:`BadDeliveryKeyProof`."""
    try:
        point = compressed(public_key)
    except ValueError as exc:
        raise DeliveryKeyError(str(exc)) from None
    message = registration_message(
        account=account, chain_id=chain_id, domain=domain, public_key=point
    )
    expected = PublicKey.from_compressed_bytes(point).to_checksum_address()
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=proof)
    except (BadSignature, ValidationError, ValueError):  # a malformed signature
        signer = None
    if signer != expected:
        raise BadDeliveryKeyProof(
            "the proof is not signed by this delivery key for this account, chain and domain"
        )
    return point
