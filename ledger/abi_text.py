"""ABI strings decoded leniently: bytes that are not UTF-8 become U+FFFD.

A contract's ``string`` (a metadata URI, an ESP's endpoint) is whatever bytes its caller sent;
``eth_abi`` decodes it strictly, so one registration or ESP whose string holds ``0xff`` made
every read of it raise ``UnicodeDecodeError``: the indexer stopped at its block for everyone, and
``GET /v1/esps`` failed for everyone (tests/api/test_redteam4_chain_text_utf8.py,
test_redteam4_esp_endpoint_utf8.py). Both the indexer's decoder and every web3 instance of the
ledger (``ledger.chain``) decode strings with this registry's string decoder.
"""

from __future__ import annotations

from eth_abi import decoding, encoding
from eth_abi.codec import ABICodec
from eth_abi.registry import ABIRegistry, BaseEquals

__all__ = ["lenient_codec"]


class _LenientStringDecoder(decoding.StringDecoder):
    """A ``string`` whose bytes are not UTF-8 decodes with U+FFFD in their place."""

    def __init__(self, handle_string_errors: str = "replace") -> None:
        super().__init__(handle_string_errors="replace")  # type: ignore[no-untyped-call]


def lenient_codec(registry: ABIRegistry) -> ABICodec:
    """A codec of a copy of ``registry`` whose ``string`` decoder replaces bad UTF-8 (encoding
    unchanged)."""
    lenient = registry.copy()  # type: ignore[no-untyped-call]
    lenient.unregister("string")
    is_string = BaseEquals("string")  # type: ignore[no-untyped-call]
    lenient.register(is_string, encoding.TextStringEncoder, _LenientStringDecoder, label="string")
    return ABICodec(lenient)
