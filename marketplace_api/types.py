"""Request field types shared by the routers: addresses are normalised to EIP-55 checksums."""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from pydantic import AfterValidator, Field

Address = Annotated[
    str,
    Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]),
    AfterValidator(lambda v: to_checksum_address(v.lower())),
]
Bytes32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "00" * 32])]


def _printable(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise ValueError("must not contain control characters (NUL included)")
    return value


Text = Annotated[str, AfterValidator(_printable)]
"""Free text stored or signed as is; control characters (NUL: PostgreSQL refuses it) are a 422."""
