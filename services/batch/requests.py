"""A producer's request for a batch attestation, carried by the marketplace to the ESP.

pending -> attested (the ESP's signature, checked here before anyone relies on it) | refused
(the ESP's rule and message). One home for the transitions: the API's routes call them; the ESP
worker answers pending requests with :func:`services.batch.attestation.attest_batch`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from eth_utils import to_checksum_address

from services.batch.attestation import SignedBatch
from services.batch.errors import BatchError

__all__ = ["RequestNotPending", "RequestState", "check_attestation", "check_refusal"]


class RequestState(StrEnum):
    PENDING = "pending"
    ATTESTED = "attested"
    REFUSED = "refused"


class RequestNotPending(BatchError):
    """Raised when a request that was already answered is answered again."""

    code = "request_not_pending"


def _pending(state: str) -> None:
    if state != RequestState.PENDING:
        raise RequestNotPending(f"the request is {state}: it was answered already")


def check_attestation(
    state: str,
    request: Mapping[str, Any],
    answer: Mapping[str, Any],
    *,
    producer: str,
    esp: str,
    chain_id: int,
    contract: str,
) -> SignedBatch:
    """The ESP's answer to a pending request, if it is its signature for this producer over
    exactly the requested images under this deployment's BatchRegistry; raises BatchError
    (``bad_attestation``) otherwise, RequestNotPending when already answered."""
    _pending(state)
    signed = SignedBatch.from_json(answer)
    signed.check()  # signed by the ESP it names, the lock from the producer to that ESP
    if (
        to_checksum_address(signed.esp) != to_checksum_address(esp)
        or to_checksum_address(signed.producer) != to_checksum_address(producer)
        or signed.chain_id != chain_id
        or to_checksum_address(signed.contract) != to_checksum_address(contract)
    ):
        raise BatchError(
            "the attestation is not this ESP's for this producer on this deployment",
            code="bad_attestation",
        )
    asked = sorted(str(it["content_hash"]).lower() for it in request["items"])
    given = sorted("0x" + it.content_hash.hex() for it in signed.layout.items)
    if asked != given:
        raise BatchError("the attestation is not over the requested images", code="bad_attestation")
    return signed


def check_refusal(state: str) -> None:
    """Raises RequestNotPending unless the request may still be refused."""
    _pending(state)
