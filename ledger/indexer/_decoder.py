"""A decoder built once per event type (web3's generic decoding dominated the indexer's time).

Non-indexed arguments decode from the log data in one ``eth_abi`` call; indexed ones from their
topics. Addresses come back EIP-55 checksummed, as web3 returns them, so rows are identical.

Strings decode leniently (bytes that are not UTF-8 become U+FFFD): a contract's ``string`` is
whatever bytes its caller sent, and ``eth_abi`` decodes strictly by default, so one registration
whose metadata URI holds ``0xff`` raised ``UnicodeDecodeError`` at its block on every poll and
stopped the index for everyone (tests/api/test_redteam4_chain_text_utf8.py).
"""

from __future__ import annotations

from typing import Any

from eth_abi import decoding, encoding
from eth_abi.codec import ABICodec
from eth_abi.registry import BaseEquals, registry
from eth_utils import to_checksum_address

from ledger.revert import canonical_type


class _LenientStringDecoder(decoding.StringDecoder):
    """A ``string`` whose bytes are not UTF-8 decodes with U+FFFD in their place."""

    def __init__(self, handle_string_errors: str = "replace") -> None:
        super().__init__(handle_string_errors="replace")  # type: ignore[no-untyped-call]


def _lenient_codec() -> ABICodec:
    lenient = registry.copy()  # type: ignore[no-untyped-call]
    lenient.unregister("string")
    is_string = BaseEquals("string")  # type: ignore[no-untyped-call]
    lenient.register(is_string, encoding.TextStringEncoder, _LenientStringDecoder, label="string")
    return ABICodec(lenient)


decode = _lenient_codec().decode


class EventDecoder:
    def __init__(self, contract: str, abi: dict[str, Any]):
        self.contract = contract
        self.name = str(abi["name"])
        inputs = abi["inputs"]
        self._names = [i["name"] for i in inputs]
        self._indexed = [(i["name"], canonical_type(i)) for i in inputs if i.get("indexed")]
        self._data = [(i["name"], canonical_type(i)) for i in inputs if not i.get("indexed")]
        self._data_types = [t for _, t in self._data]

    def args(self, topics: list[Any], data: bytes) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for (name, typ), topic in zip(self._indexed, topics[1:], strict=True):
            values[name] = _fix(typ, decode([typ], bytes(topic))[0])
        for (name, typ), value in zip(self._data, decode(self._data_types, data), strict=True):
            values[name] = _fix(typ, value)
        return {name: values[name] for name in self._names}


def _fix(typ: str, value: Any) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    return value
