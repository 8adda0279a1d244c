"""Field types shared by the routers: one rule per kind of value, in and out.

* Addresses are normalised to EIP-55 checksums.
* Every uint256 (amounts in wei, prices, fees, stakes, token ids, seeds, offer nonces) travels
  as a **decimal string** in every response, so JavaScript (BigInt) and any JSON parser read it
  exactly; on input a decimal string, a ``0x`` hex string or a JSON integer is accepted
  (:data:`Uint256`). Token ids have one output form, the decimal string an ERC-721 wallet shows.
* Block numbers, timestamps (timelocks, deadlines, expiries), gas, chain ids and counts stay JSON
  integers: they are below 2^53 on every chain this serves.
* A hash-time lock is one object in and out (:class:`LockJson`): ``asset`` is the name
  (``"ETHER"``, ``"ERC20"``, ``"ERC721"``), ``amount`` a decimal string; what a task or a trade
  returns is accepted as is by the routes that take a lock.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

Address = Annotated[
    str,
    Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]),
    AfterValidator(lambda v: to_checksum_address(v.lower())),
]
Bytes32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "00" * 32])]

UINT256_MAX = 2**256 - 1
UINT_PATTERN = r"^(0|[1-9][0-9]{0,77}|0x[0-9a-fA-F]{1,64})$"


def parse_uint(value: Any, *, bits: int = 256) -> int:
    """An unsigned integer from a JSON integer, a decimal string or a ``0x`` hex string.

    Floats, booleans, signs, blanks, leading zeros in decimals and out-of-range values are
    refused (a ``ValueError``, which pydantic turns into a 422)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a decimal string (or 0x-hex), not " + type(value).__name__)
    if isinstance(value, str):
        if value[:2] in ("0x", "0X"):
            digits = value[2:]
            if (
                not digits
                or len(digits) > 64
                or any(c not in "0123456789abcdefABCDEF" for c in digits)
            ):
                raise ValueError("not a 0x-hex unsigned integer")
            value = int(digits, 16)
        else:
            if not value.isascii() or not value.isdigit() or len(value) > 78:
                raise ValueError("not a decimal unsigned integer")
            if len(value) > 1 and value[0] == "0":
                raise ValueError("a decimal must not have leading zeros")
            value = int(value)
    number = int(value)
    if not 0 <= number < 2**bits:
        raise ValueError(f"out of range for uint{bits}")
    return number


def _decimal(value: int) -> str:
    return str(value)


Uint256 = Annotated[
    int,
    BeforeValidator(parse_uint),
    PlainSerializer(_decimal, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": UINT_PATTERN,
            "description": "uint256 as a decimal string (0x-hex accepted on input); "
            "responses always carry the decimal form",
            "examples": ["1234567890123456789"],
        }
    ),
]
"""A uint256: decimal string out; decimal string, 0x-hex or JSON integer in."""

TokenId = Annotated[
    Uint256,
    Field(description="ERC-721 token id (the content hash as uint256), decimal string"),
]


def token_hex(token_id: int | str) -> str:
    """The storage form of a token id (``0x`` + 64 hex digits) from any accepted input form."""
    return "0x" + format(parse_uint(token_id), "064x")


def token_dec(token_id: int | str) -> str:
    """The output form of a token id (decimal string) from the storage form or an int."""
    return str(parse_uint(token_id))


def _uint256_text(value: str | None) -> str | None:
    """``value`` as written when it is a uint256 (decimal or 0x-hex); a 78-digit decimal above
    2**256 - 1 matches :data:`UINT_PATTERN` but is refused here (a ``ValueError``: 422)."""
    if value is not None:
        parse_uint(value)
    return value


UINT256_TEXT = AfterValidator(_uint256_text)
"""The range check of a token id taken as text (a path or query parameter), beside its
``Path``/``Query`` with ``pattern=UINT_PATTERN``: the pattern alone let 2**256 through to
:func:`token_hex`, a 500 (tests/api/test_fuzz_regressions.py)."""


def _printable(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise ValueError("must not contain control characters (NUL included)")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("must not contain a lone surrogate (text with no UTF-8 form)")
    return value


Text = Annotated[str, AfterValidator(_printable)]
"""Free text stored, hashed, signed or ABI-encoded as is: control characters (NUL: PostgreSQL
refuses it) and lone surrogates (valid JSON, ``"\ud800"``, but no UTF-8 bytes: eth_abi raised,
a 500) are a 422."""

AssetName = Annotated[str, Field(pattern="^(ETHER|ERC20|ERC721)$")]
_ASSET_NAMES = ("ETHER", "ERC20", "ERC721")


def asset_name(value: Any) -> str:
    """The asset's name for an indexed event's enum value (0, 1, 2) or a name."""
    if isinstance(value, str) and value in _ASSET_NAMES:
        return value
    return _ASSET_NAMES[int(value)]


class LockJson(BaseModel):
    """A hash-time lock, the same object in every response and every request that takes one."""

    id: Bytes32 | None = Field(default=None, description="the lock id (ignored on input)")
    sender: Address
    receiver: Address
    asset: AssetName
    token: Address
    amount: Uint256
    hashlock: Bytes32
    timelock: Annotated[int, Field(ge=0, lt=2**64, description="unix time, seconds")]

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> LockJson | None:
        """From an indexed ``Locked`` event's args (asset 0/1/2, amount int or string)."""
        if data is None:
            return None
        return cls.model_validate({**data, "asset": asset_name(data["asset"])})
