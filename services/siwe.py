"""Sign-In with Ethereum (EIP-4361): parse a message by the standard's grammar and check it all.

The message (ERC-4361's ABNF; ``[...]`` is optional, every line ends with LF, none after the
last)::

    [{scheme}://]{domain} wants you to sign in with your Ethereum account:
    {address}
                                        (a blank line)
    [{statement}                        (a statement and its line end, or nothing:
    ]                                    so no statement means two blank lines here)
    URI: {uri}
    Version: 1
    Chain ID: {chain id}
    Nonce: {nonce}
    Issued At: {RFC 3339 date-time}
    [Expiration Time: {RFC 3339 date-time}]
    [Not Before: {RFC 3339 date-time}]
    [Request ID: {*pchar}]
    [Resources:
    - {URI}
    - {URI} ...]

The fields come in exactly this order. ``domain`` is an RFC 3986 authority, ``uri`` and each
resource an RFC 3986 URI, ``address`` EIP-55 checksummed, ``nonce`` at least 8 ASCII letters or
digits, ``statement`` RFC 3986 reserved/unreserved characters and spaces (no line break). Times are
strict RFC 3339 (``2021-09-30T16:25:24.000Z``, ``...-02:00``; no naive or week dates).

Signatures: the EIP-191 ``personal_sign`` hash of the exact text is signed by

- an externally owned account: 65 bytes ``r || s || v`` (v 0, 1, 27 or 28) or the EIP-2098
  compact 64 bytes ``r || yParityAndS``; s must be in the lower half of the curve order;
- a deployed contract account (ERC-1271): ``isValidSignature(hash, signature)`` on the message's
  address must return exactly the magic value 0x1626ba7e;
- a contract account not deployed yet (ERC-6492): a signature ending with the 32-byte
  ``0x6492...6492`` suffix wraps ``(factory, factoryCalldata, innerSignature)``; the check runs
  as an ``eth_call`` of the deployless ``SignatureValidator6492`` (contracts/), which calls the
  factory when the address has no code, then requires code at the address and the ERC-1271 magic
  value. Nothing is deployed for real; a factory that deploys another address fails.

Contract checks always run at the message's own address, so a contract that accepts anything can
sign in only as itself.

Why not the ``siwe`` package (spruceid/siwe-py, PyPI ``siwe`` 4.4.0): its declared dependency
range ``abnf>=2.2,<3`` resolves to abnf 2.9.1, under which ``import siwe`` fails (abnf refuses the
package's redefinition of the RFC 5234 core rule ``ALPHA``); it imports only with abnf pinned back
to 2.2.0. It also caps web3 (<8) and eth-account (<0.14), and its ``verify`` checks neither
EIP-2098 compact signatures nor ERC-6492, so only its parser would be used. This module is the
parser instead; the reference library's published vectors (tests/services/siwe_vectors/) are its
tests.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from eth_abi import encode as abi_encode
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError, is_checksum_address, keccak, to_checksum_address

from services.errors import ServiceError

MAX_MESSAGE_CHARS = 4096
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
ERC6492_SUFFIX = bytes.fromhex("6492" * 16)
# Gas the node may spend on one contract-signature check (a Safe deployment plus its check is
# well under 1M); a wallet that needs more cannot sign in.
CONTRACT_CHECK_GAS = 3_000_000
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_HEADER_TAIL = " wants you to sign in with your Ethereum account:"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_NONCE = re.compile(r"[A-Za-z0-9]{8,}")
_CHAIN_ID = re.compile(r"[0-9]+")

# RFC 3986, appendix A.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_URI = re.compile(r"(?P<scheme>[^:/?#]*):(?P<hier>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<frag>.*))?")
_QUERY = re.compile(rf"(?:{_PCHAR}|[/?])*")
_USERINFO = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*")
_REG_NAME = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*")
_IPV_FUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+")
_PATH_ABEMPTY = re.compile(rf"(?:/{_PCHAR}*)*")
_PATH_ABSOLUTE_OR_ROOTLESS = re.compile(rf"/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?")
_PORT = re.compile(r":[0-9]*")
_REQUEST_ID = re.compile(rf"{_PCHAR}*")
# statement = *( reserved / unreserved / " " ); reserved = gen-delims / sub-delims.
_STATEMENT = re.compile(rf"[{_UNRESERVED}{_SUB_DELIMS}:/?#\[\]@ ]+")

# RFC 3339 section 5.6 (T and Z may be lower case: ABNF strings are case-insensitive).
_DATE_TIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})[Tt]"
    r"(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(?:\.(?P<frac>[0-9]+))?"
    r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>[0-9]{2}):(?P<om>[0-9]{2}))"
)


class SiweErrorCode(StrEnum):
    """Stable codes for every way a sign-in can fail (the API's error ``code``)."""

    MALFORMED = "siwe_malformed"
    BAD_SIGNATURE = "siwe_bad_signature"
    WRONG_DOMAIN = "siwe_wrong_domain"
    WRONG_URI = "siwe_wrong_uri"
    WRONG_CHAIN = "siwe_wrong_chain"
    EXPIRED = "siwe_expired"
    NOT_YET_VALID = "siwe_not_yet_valid"
    CHAIN_UNAVAILABLE = "siwe_chain_unavailable"


class SiweError(ServiceError, ValueError):
    """Raised when a SIWE message is malformed, or its signature or claims do not hold."""

    def __init__(self, message: str, *, code: SiweErrorCode = SiweErrorCode.MALFORMED):
        super().__init__(message)
        self.code = code


class WalletKind(StrEnum):
    """How the signature was checked."""

    EOA = "eoa"
    ERC1271 = "erc1271"
    ERC6492 = "erc6492"


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
    resources: tuple[str, ...] | None = None
    scheme: str | None = None

    def to_text(self) -> str:
        """The EIP-4361 text to sign (times must carry a zone)."""
        header = f"{self.domain}{_HEADER_TAIL}"
        if self.scheme:
            header = f"{self.scheme}://{header}"
        lines = [header, self.address, ""]
        if self.statement:
            lines.append(self.statement)
        lines += [
            "",
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_fmt(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {_fmt(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {_fmt(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources is not None:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)


@dataclass(frozen=True)
class SignIn:
    """A verified sign-in: the message, how its signature was checked, and (for an EOA) the
    secp256k1 public key that signed (uncompressed, 65 bytes)."""

    message: SiweMessage
    wallet: WalletKind
    public_key: bytes | None


def _fmt(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("SIWE times must carry a time zone")
    return t.isoformat().replace("+00:00", "Z")


def _bad(message: str) -> SiweError:
    return SiweError(message, code=SiweErrorCode.MALFORMED)


def parse_time(name: str, value: str) -> datetime:
    """An RFC 3339 ``date-time`` (section 5.6), checked field by field; raises SiweError."""
    m = _DATE_TIME.fullmatch(value)
    if not m:
        raise _bad(f"{name} is not an RFC 3339 date-time: {value[:40]!r}")
    oh, om = int(m["oh"] or 0), int(m["om"] or 0)
    if oh > 23 or om > 59:
        raise _bad(f"{name} has an impossible UTC offset: {value!r}")
    offset = timedelta(hours=oh, minutes=om) * (-1 if m["sign"] == "-" else 1)
    second = int(m["s"])
    micro = int((m["frac"] or "0")[:6].ljust(6, "0"))
    try:
        # A leap second (:60) is the instant after :59 (RFC 3339 section 5.7).
        t = datetime(
            int(m["y"]),
            int(m["mo"]),
            int(m["d"]),
            int(m["h"]),
            int(m["mi"]),
            min(second, 59),
            micro,
            tzinfo=timezone(offset),
        )
    except ValueError as exc:
        raise _bad(f"{name} is not a real date-time ({exc}): {value!r}") from None
    if second > 60:
        raise _bad(f"{name} has second {second}: {value!r}")
    return t + timedelta(seconds=1) if second == 60 else t


def _is_authority(text: str, *, host_required: bool) -> bool:
    """Whether ``text`` is an RFC 3986 ``authority``: ``[userinfo "@"] host [":" port]``."""
    userinfo, at, hostport = text.rpartition("@")
    if at and not _USERINFO.fullmatch(userinfo):
        return False
    if hostport.startswith("["):
        literal, bracket, rest = hostport[1:].partition("]")
        if not bracket or not (_is_ipv6(literal) or _IPV_FUTURE.fullmatch(literal)):
            return False
        host = literal
    else:
        host, colon, port = hostport.partition(":")
        if not _REG_NAME.fullmatch(host):
            return False
        rest = colon + port
    if rest and not _PORT.fullmatch(rest):
        return False
    return bool(host) or not host_required


def _is_ipv6(text: str) -> bool:
    if "%" in text:  # zone ids are not RFC 3986 syntax
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def is_uri(text: str) -> bool:
    """Whether ``text`` is an RFC 3986 ``URI`` (absolute, with a scheme)."""
    m = _URI.fullmatch(text)
    if not m or not _SCHEME.fullmatch(m["scheme"]):
        return False
    for part in (m["query"], m["frag"]):
        if part is not None and not _QUERY.fullmatch(part):
            return False
    hier = m["hier"]
    if hier.startswith("//"):
        authority, slash, path = hier[2:].partition("/")
        return _is_authority(authority, host_required=False) and bool(
            _PATH_ABEMPTY.fullmatch(slash + path)
        )
    return bool(_PATH_ABSOLUTE_OR_ROOTLESS.fullmatch(hier))


class _Lines:
    """The message's lines, consumed in the grammar's order."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.i = 0

    def peek(self) -> str | None:
        return self.lines[self.i] if self.i < len(self.lines) else None

    def take(self) -> str | None:
        line = self.peek()
        self.i += 1
        return line

    def field(self, label: str, *, required: bool) -> str | None:
        line = self.peek()
        if line is not None and line.startswith(f"{label}: "):
            self.i += 1
            return line[len(label) + 2 :]
        if required:
            got = "the end of the message" if line is None else repr(line[:60])
            raise _bad(f"expected '{label}: ...' (EIP-4361 field order), found {got}")
        return None


def parse(text: str) -> SiweMessage:
    """Parses ``text`` by the EIP-4361 grammar; raises :class:`SiweError` naming the problem."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise _bad(f"message longer than {MAX_MESSAGE_CHARS} characters")
    lines = _Lines(text.split("\n"))
    header = lines.take() or ""
    if not header.endswith(_HEADER_TAIL):
        raise _bad(f"first line must be '[scheme://]<domain>{_HEADER_TAIL}'")
    domain = header[: -len(_HEADER_TAIL)]
    scheme = None
    if "://" in domain:
        scheme, _, domain = domain.partition("://")
        if not _SCHEME.fullmatch(scheme):
            raise _bad(f"scheme {scheme[:40]!r} is not an RFC 3986 scheme")
    if not domain or not _is_authority(domain, host_required=True):
        raise _bad(f"domain {domain[:60]!r} is not an RFC 3986 authority")
    address = lines.take() or ""
    if not _ADDRESS.fullmatch(address):
        raise _bad("second line must be the 0x-prefixed 40-hex-digit address")
    if not is_checksum_address(address):
        raise _bad("the address must be EIP-55 checksummed")
    if lines.take() != "":
        raise _bad("a blank line must follow the address")
    statement = lines.take()
    if statement is None:
        raise _bad("message ends after the address")
    if statement != "":
        if statement.startswith("URI: "):
            raise _bad(
                "a message without a statement has two blank lines after the address (EIP-4361)"
            )
        if not _STATEMENT.fullmatch(statement):
            raise _bad("statement has characters outside RFC 3986 reserved/unreserved and space")
        if lines.take() != "":
            raise _bad("a blank line must follow the statement")
    uri = lines.field("URI", required=True) or ""
    if not is_uri(uri):
        raise _bad(f"URI {uri[:60]!r} is not an RFC 3986 URI")
    if lines.field("Version", required=True) != "1":
        raise _bad("Version must be 1")
    chain_id = lines.field("Chain ID", required=True) or ""
    if not _CHAIN_ID.fullmatch(chain_id):
        raise _bad("Chain ID must be a decimal integer")
    nonce = lines.field("Nonce", required=True) or ""
    if not _NONCE.fullmatch(nonce):
        raise _bad("Nonce must be at least 8 ASCII letters or digits")
    issued_at = parse_time("Issued At", lines.field("Issued At", required=True) or "")
    expiration = lines.field("Expiration Time", required=False)
    not_before = lines.field("Not Before", required=False)
    request_id = lines.field("Request ID", required=False)
    if request_id is not None and not _REQUEST_ID.fullmatch(request_id):
        raise _bad("Request ID has characters outside RFC 3986 pchar")
    resources: tuple[str, ...] | None = None
    if lines.peek() == "Resources:":
        lines.take()
        found = []
        while (line := lines.peek()) is not None and line.startswith("- "):
            lines.take()
            if not is_uri(line[2:]):
                raise _bad(f"resource {line[2:62]!r} is not an RFC 3986 URI")
            found.append(line[2:])
        resources = tuple(found)
    rest = lines.peek()
    if rest is not None:
        raise _bad(f"unexpected line {rest[:60]!r} (EIP-4361 field order, no trailing newline)")
    return SiweMessage(
        domain=domain,
        address=address,
        statement=statement or None,
        uri=uri,
        version="1",
        chain_id=int(chain_id),
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=parse_time("Expiration Time", expiration) if expiration else None,
        not_before=parse_time("Not Before", not_before) if not_before else None,
        request_id=request_id,
        resources=resources,
        scheme=scheme,
    )


def message_hash(text: str) -> bytes:
    """The EIP-191 ``personal_sign`` hash of ``text``."""
    data = text.encode()
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


def _signature_bytes(signature: str) -> bytes:
    try:
        return bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        raise SiweError("signature is not hex", code=SiweErrorCode.BAD_SIGNATURE) from None


def _ecdsa(raw: bytes) -> Signature:
    """A 65-byte (v 0/1/27/28) or EIP-2098 64-byte signature; raises SiweError otherwise."""
    if len(raw) == 65:
        r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
        v = v - 27 if v >= 27 else v
        if v not in (0, 1):
            raise SiweError(
                f"signature v byte {raw[64]} is not 0, 1, 27 or 28",
                code=SiweErrorCode.BAD_SIGNATURE,
            )
    elif len(raw) == 64:
        r, vs = raw[:32], int.from_bytes(raw[32:], "big")
        v, s = vs >> 255, vs & ((1 << 255) - 1)
    else:
        raise SiweError(
            f"an ECDSA signature is 64 or 65 bytes, not {len(raw)}",
            code=SiweErrorCode.BAD_SIGNATURE,
        )
    if s > _SECP256K1_N // 2:
        raise SiweError(
            "signature s is in the upper half of the curve order (EIP-2)",
            code=SiweErrorCode.BAD_SIGNATURE,
        )
    try:
        return Signature(vrs=(v, int.from_bytes(r, "big"), s))
    except (ValidationError, BadSignature, ValueError) as exc:
        raise SiweError(
            f"signature is malformed: {exc}", code=SiweErrorCode.BAD_SIGNATURE
        ) from None


def recover(text: str, signature: str) -> tuple[str, bytes]:
    """The address and uncompressed public key (65 bytes) that signed ``text`` (EIP-191)."""
    sig = _ecdsa(_signature_bytes(signature))
    try:
        public = sig.recover_public_key_from_msg_hash(message_hash(text))
    except (BadSignature, ValidationError, ValueError) as exc:
        raise SiweError(
            f"signature is malformed: {exc}", code=SiweErrorCode.BAD_SIGNATURE
        ) from None
    return public.to_checksum_address(), b"\x04" + public.to_bytes()


def recover_public_key(text: str, signature: str) -> bytes:
    """The uncompressed secp256k1 public key (65 bytes) that signed ``text`` (EIP-191)."""
    return recover(text, signature)[1]


def _eth_call(w3: Any, tx: dict[str, Any]) -> bytes | None:
    """The call's return data, None when it reverts; SiweError when the node cannot answer."""
    from eth_tester.exceptions import TransactionFailed as EmbeddedRevert
    from web3.exceptions import ContractLogicError, Web3Exception

    try:
        return bytes(w3.eth.call({**tx, "gas": CONTRACT_CHECK_GAS}))
    except (ContractLogicError, EmbeddedRevert):  # a revert (RPC nodes; the embedded chain)
        return None
    except (Web3Exception, ValueError) as exc:
        # Some nodes report a revert or an out-of-gas as a plain JSON-RPC error.
        text = str(exc).lower()
        if "revert" in text or "out of gas" in text or "invalid opcode" in text:
            return None
        raise SiweError(
            f"cannot check a contract signature: {exc}", code=SiweErrorCode.CHAIN_UNAVAILABLE
        ) from None
    except OSError as exc:
        raise SiweError(
            f"cannot check a contract signature: {exc}", code=SiweErrorCode.CHAIN_UNAVAILABLE
        ) from None


def check_erc1271(w3: Any, address: str, digest: bytes, raw: bytes) -> bool:
    """``isValidSignature(digest, raw)`` on ``address`` returned exactly the magic value."""
    data = keccak(text="isValidSignature(bytes32,bytes)")[:4] + abi_encode(
        ["bytes32", "bytes"], [digest, raw]
    )
    out = _eth_call(w3, {"to": address, "data": "0x" + data.hex()})
    return out == ERC1271_MAGIC.ljust(32, b"\0")


def check_erc6492(w3: Any, address: str, digest: bytes, raw: bytes) -> bool:
    """The deployless ``SignatureValidator6492`` says ``raw`` is valid for ``address``."""
    from ledger import artifacts

    code = bytes.fromhex(artifacts.load("SignatureValidator6492")["bytecode"].removeprefix("0x"))
    args = abi_encode(["address", "bytes32", "bytes"], [address, digest, raw])
    out = _eth_call(w3, {"data": "0x" + (code + args).hex()})
    return out == b"\x01"


def check_signature(
    text: str, address: str, signature: str, *, w3: Any = None
) -> tuple[WalletKind, bytes | None] | None:
    """How ``signature`` proves ``address`` signed ``text``; None when it does not.

    ERC-6492 wrapped signatures go to the deployless validator; otherwise ECDSA recovery (EOAs,
    EIP-7702 accounts included), then ERC-1271 when the address has code. ``w3`` (a web3.py
    instance) is needed for contract accounts only.
    """
    raw = _signature_bytes(signature)
    digest = message_hash(text)
    address = to_checksum_address(address)
    if raw.endswith(ERC6492_SUFFIX):
        if w3 is None:
            raise SiweError(
                "no chain to check an ERC-6492 signature", code=SiweErrorCode.CHAIN_UNAVAILABLE
            )
        ok = check_erc6492(w3, address, digest, raw)
        return (WalletKind.ERC6492, None) if ok else None
    ecdsa_error: SiweError | None = None
    if len(raw) in (64, 65):
        try:
            signer, public = recover(text, signature)
        except SiweError as exc:  # maybe a contract's 64/65-byte signature: try ERC-1271
            ecdsa_error = exc
        else:
            if signer == address:
                return WalletKind.EOA, public
    if w3 is not None:
        try:
            has_code = len(w3.eth.get_code(address)) > 0
        except OSError as exc:
            raise SiweError(
                f"cannot read the account's code: {exc}", code=SiweErrorCode.CHAIN_UNAVAILABLE
            ) from None
        if has_code and check_erc1271(w3, address, digest, raw):
            return WalletKind.ERC1271, None
    elif len(raw) not in (64, 65):
        raise SiweError(
            f"an ECDSA signature is 64 or 65 bytes, not {len(raw)}",
            code=SiweErrorCode.BAD_SIGNATURE,
        )
    if ecdsa_error is not None:
        raise ecdsa_error
    return None


def _origin(uri: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), parts.hostname.lower(), port if port is not None else default


def same_origin(a: str, b: str) -> bool:
    """Whether URIs ``a`` and ``b`` share scheme, host and (default-aware) port (RFC 6454)."""
    origin = _origin(a)
    return origin is not None and origin == _origin(b)


def check_claims(
    msg: SiweMessage,
    *,
    domain: str,
    uri: str | None,
    chain_id: int | None,
    now: datetime,
    scheme: str | None = None,
) -> None:
    """The message is for this domain (and scheme, when it names one), URI and chain, and
    ``now`` is inside its validity window; raises :class:`SiweError` with a specific code.

    The message's URI must be ``uri`` or any URI of the same origin (scheme, host and port):
    a dApp commonly signs ``window.location.href``, a page under the origin it serves.
    """
    if msg.domain != domain:
        raise SiweError(
            f"message is for domain {msg.domain!r}, this is {domain!r}",
            code=SiweErrorCode.WRONG_DOMAIN,
        )
    if msg.scheme is not None and scheme is not None and msg.scheme != scheme:
        raise SiweError(
            f"message is for scheme {msg.scheme!r}, this is {scheme!r}",
            code=SiweErrorCode.WRONG_DOMAIN,
        )
    if uri is not None and msg.uri != uri and not same_origin(msg.uri, uri):
        raise SiweError(
            f"message is for URI {msg.uri!r}, this is {uri!r}", code=SiweErrorCode.WRONG_URI
        )
    if chain_id is not None and msg.chain_id != chain_id:
        raise SiweError(
            f"message is for chain {msg.chain_id}, this is chain {chain_id}",
            code=SiweErrorCode.WRONG_CHAIN,
        )
    if msg.expiration_time is not None and now >= msg.expiration_time:
        raise SiweError(
            f"message expired at {_fmt(msg.expiration_time)}", code=SiweErrorCode.EXPIRED
        )
    if msg.not_before is not None and now < msg.not_before:
        raise SiweError(
            f"message is not valid before {_fmt(msg.not_before)}", code=SiweErrorCode.NOT_YET_VALID
        )


def verify(
    text: str,
    signature: str,
    *,
    domain: str,
    uri: str | None,
    chain_id: int | None,
    now: datetime,
    scheme: str | None = None,
    w3: Any = None,
) -> SignIn:
    """Parses ``text``, checks its claims (:func:`check_claims`) and that its address signed it
    (:func:`check_signature`; pass ``w3`` to admit contract accounts). ``uri``/``chain_id`` None
    skips that check. The nonce is checked (and consumed) by the caller, which owns the store.
    """
    msg = parse(text)
    check_claims(msg, domain=domain, uri=uri, chain_id=chain_id, now=now, scheme=scheme)
    result = check_signature(text, msg.address, signature, w3=w3)
    if result is None:
        raise SiweError(
            "signature was not made by the message's address", code=SiweErrorCode.BAD_SIGNATURE
        )
    return SignIn(msg, *result)
