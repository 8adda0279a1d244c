"""A decoder built once per event type (web3's generic decoding dominated the indexer's time).

Non-indexed arguments decode from the log data in one ``eth_abi`` call; indexed ones from their
topics. Addresses come back EIP-55 checksummed, as web3 returns them, so rows are identical.
Strings decode leniently (``ledger.abi_text``: bytes that are not UTF-8 become U+FFFD), so one
registration whose metadata URI holds ``0xff`` no longer stops the index at its block.
"""

from __future__ import annotations

from typing import Any

from eth_abi.registry import registry
from eth_utils import to_checksum_address

from ledger.abi_text import lenient_codec
from ledger.revert import canonical_type

decode = lenient_codec(registry).decode


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
