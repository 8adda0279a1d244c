"""Turning revert data into Python exceptions that carry the custom error's fields.

Every custom error in the committed ABIs gets a :class:`ledger.errors.ContractRevert` subclass of
the same name, keyed by its 4-byte selector. :func:`decode` maps raw revert data to an instance.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from ledger import artifacts
from ledger.errors import ContractRevert

_PANIC_SELECTOR = "4e487b71"
_ERROR_SELECTOR = "08c379a0"


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter (tuples spelled out), as selectors use it."""
    t = str(param["type"])
    if t.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){t[5:]}"
    return t


@cache
def _registry() -> dict[str, tuple[type[ContractRevert], list[str]]]:
    by_selector: dict[str, tuple[type[ContractRevert], list[str]]] = {}
    for name in artifacts.all_names():
        for item in artifacts.abi(name):
            if item.get("type") != "error":
                continue
            types = [canonical_type(p) for p in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            selector = function_signature_to_4byte_selector(signature).hex()
            if selector in by_selector:
                continue
            names = tuple(p["name"] or f"arg{i}" for i, p in enumerate(item["inputs"]))
            cls = type(
                item["name"],
                (ContractRevert,),
                {
                    "error_name": item["name"],
                    "selector": selector,
                    "param_names": names,
                    "__doc__": f"Raised when a contract reverts with {signature}.",
                    "__module__": "ledger.errors",
                },
            )
            by_selector[selector] = (cls, types)
    return by_selector


@cache
def _by_name() -> dict[str, type[ContractRevert]]:
    return {cls.error_name: cls for cls, _ in _registry().values()}


def error_class(name: str) -> type[ContractRevert]:
    """The exception class for custom error ``name`` (KeyError if no ABI declares it)."""
    return _by_name()[name]


def selector_of(name: str) -> str:
    """The 4-byte selector (hex, no 0x) of custom error ``name``."""
    return error_class(name).selector


def decode(data: bytes | str | None) -> Exception | None:
    """The exception for revert ``data``: a ContractRevert subclass, or None if unknown."""
    if data is None:
        return None
    raw = (
        bytes.fromhex(data[2:] if data.startswith("0x") else data)
        if isinstance(data, str)
        else data
    )
    if len(raw) < 4:
        return None
    selector, body = raw[:4].hex(), raw[4:]
    if selector == _ERROR_SELECTOR:
        (reason,) = abi_decode(["string"], body)
        return ContractRevertReason(reason)
    if selector == _PANIC_SELECTOR:
        (code,) = abi_decode(["uint256"], body)
        return ContractRevertReason(f"panic 0x{code:02x}")
    found = _registry().get(selector)
    if found is None:
        return None
    cls, types = found
    values = abi_decode(types, body)
    return cls(dict(zip(cls.param_names, values, strict=True)))


class ContractRevertReason(ContractRevert):
    """Raised when a contract reverts with a plain reason string or a panic code."""

    error_name = "Error"

    def __init__(self, reason: str):
        super().__init__({"reason": reason})
