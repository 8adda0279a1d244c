"""Sign-In with Ethereum (EIP-4361): parse a message strictly and check everything it claims.

The message format::

    {domain} wants you to sign in with your Ethereum account:
    {address}

    {statement}

    URI: {uri}
    Version: 1
    Chain ID: {chain id}
    Nonce: {nonce}
    Issued At: {RFC 3339}
    Expiration Time: {RFC 3339}      (optional)
    Not Before: {RFC 3339}           (optional)
    Request ID: {id}                 (optional)

The signature is an EIP-191 ``personal_sign`` of the exact message text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils import is_checksum_address

_HEADER = re.compile(r"^(?P<domain>[^\s]+) wants you to sign in with your Ethereum account:$")
_FIELDS = {
    "URI": "uri",
    "Version": "version",
    "Chain ID": "chain_id",
    "Nonce": "nonce",
    "Issued At": "issued_at",
    "Expiration Time": "expiration_time",
    "Not Before": "not_before",
    "Request ID": "request_id",
}


class SiweError(ValueError):
    """Raised when a SIWE message is malformed, or its signature or claims do not hold."""


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None

    def to_text(self) -> str:
        lines = [
            f"{self.domain} wants you to sign in with your Ethereum account:",
            self.address,
            "",
        ]
        if self.statement:
            lines += [self.statement, ""]
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_fmt(self.issued_at)}",
        ]
        if self.expiration_time:
            lines.append(f"Expiration Time: {_fmt(self.expiration_time)}")
        if self.not_before:
            lines.append(f"Not Before: {_fmt(self.not_before)}")
        if self.request_id:
            lines.append(f"Request ID: {self.request_id}")
        return "\n".join(lines)


def _fmt(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _time(name: str, value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(f"{name} is not an RFC 3339 time: {value!r}") from None
    if t.tzinfo is None:
        raise SiweError(f"{name} must carry a time zone")
    return t


def parse(text: str) -> SiweMessage:
    """Parses ``text`` strictly; raises :class:`SiweError` naming the first problem."""
    if len(text) > 4096:
        raise SiweError("message longer than 4096 characters")
    lines = text.split("\n")
    if len(lines) < 8:
        raise SiweError("message too short to be EIP-4361")
    header = _HEADER.match(lines[0])
    if not header:
        raise SiweError(
            "first line must be '<domain> wants you to sign in with your Ethereum account:'"
        )
    address = lines[1]
    if not is_checksum_address(address):
        raise SiweError("second line must be an EIP-55 checksummed address")
    if lines[2] != "":
        raise SiweError("a blank line must follow the address")
    rest = lines[3:]
    statement = None
    if rest and not rest[0].startswith("URI: "):
        statement = rest[0]
        if len(rest) < 2 or rest[1] != "":
            raise SiweError("a blank line must follow the statement")
        rest = rest[2:]
    values: dict[str, str] = {}
    for line in rest:
        key, sep, value = line.partition(": ")
        if not sep or key not in _FIELDS:
            raise SiweError(f"unexpected line {line[:60]!r}")
        if _FIELDS[key] in values:
            raise SiweError(f"field {key!r} appears twice")
        values[_FIELDS[key]] = value
    for required in ("uri", "version", "chain_id", "nonce", "issued_at"):
        if required not in values:
            raise SiweError(f"missing field {required}")
    if values["version"] != "1":
        raise SiweError("Version must be 1")
    if not values["chain_id"].isdigit():
        raise SiweError("Chain ID must be a decimal integer")
    if not re.fullmatch(r"[A-Za-z0-9]{8,}", values["nonce"]):
        raise SiweError("Nonce must be at least 8 alphanumeric characters")
    return SiweMessage(
        domain=header["domain"],
        address=address,
        statement=statement,
        uri=values["uri"],
        version="1",
        chain_id=int(values["chain_id"]),
        nonce=values["nonce"],
        issued_at=_time("Issued At", values["issued_at"]),
        expiration_time=_time("Expiration Time", values["expiration_time"])
        if "expiration_time" in values
        else None,
        not_before=_time("Not Before", values["not_before"]) if "not_before" in values else None,
        request_id=values.get("request_id"),
    )


def verify(
    text: str, signature: str, *, domain: str, uri: str, chain_id: int, now: datetime
) -> SiweMessage:
    """Parses ``text`` and checks signature, domain, URI, chain id and validity window.

    The nonce is checked (and consumed) by the caller, which owns the nonce store.
    """
    msg = parse(text)
    try:
        recovered = Account.recover_message(encode_defunct(text=text), signature=signature)
    except (ValueError, TypeError, BadSignature) as exc:
        raise SiweError(f"signature is malformed: {exc}") from None
    if recovered != msg.address:
        raise SiweError("signature was not made by the message's address")
    if msg.domain != domain:
        raise SiweError(f"message is for domain {msg.domain!r}, this is {domain!r}")
    if msg.uri != uri:
        raise SiweError(f"message is for URI {msg.uri!r}, this is {uri!r}")
    if msg.chain_id != chain_id:
        raise SiweError(f"message is for chain {msg.chain_id}, this is chain {chain_id}")
    if msg.expiration_time is not None and now >= msg.expiration_time:
        raise SiweError("message has expired")
    if msg.not_before is not None and now < msg.not_before:
        raise SiweError("message is not valid yet")
    return msg


def recover_public_key(text: str, signature: str) -> bytes:
    """The uncompressed secp256k1 public key (65 bytes) that signed ``text`` (EIP-191)."""
    from eth_account.messages import _hash_eip191_message
    from eth_keys import keys  # type: ignore[attr-defined]

    raw = bytes.fromhex(signature.removeprefix("0x"))
    v = raw[64] - 27 if raw[64] >= 27 else raw[64]
    sig = keys.Signature(raw[:64] + bytes([v]))
    digest = _hash_eip191_message(encode_defunct(text=text))
    return b"\x04" + sig.recover_public_key_from_msg_hash(digest).to_bytes()
