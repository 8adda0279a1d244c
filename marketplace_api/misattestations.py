"""Mis-attestation claims at the BatchCourt, as the market shows them to anyone (no wallet).

:class:`MisattestationBook` is an indexer projection: ``MisattestationClaimed`` opens a round
of a token's claim (the court numbers them per token: the n-th claim is round n),
``MisattestationDecided`` ends it (upheld: the court revoked the token; rejected; void), and
the CommitteeVerifier's ``ReviewDrawn`` / ``ReviewRearmed`` / ``ReviewCancelled`` of the claim's
review key say when anyone may finalize it (after the reveal deadline; at once once cancelled).
The product and batch item views show the token's latest round (:func:`latest_claim`).

The sale path does not trust this index (it may lag the chain by a poll): it reads the court's
``misattestationOf`` itself (``services.exchange.check_tradable``, 409
``misattestation_claim_open`` while a claim is open), as it reads an indexed challenge's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledger.clients.registry import DisputeState
from ledger.indexer import ChainEvent
from marketplace_api.catalog import token_hex
from marketplace_api.models import MisattestationClaimRow, Notification, Product, ProductEvent

_COURT_EVENTS = ("MisattestationClaimed", "MisattestationDecided")
_REVIEW_EVENTS = ("ReviewDrawn", "ReviewRearmed", "ReviewCancelled")


class MisattestationBook:
    """Projection of the court's mis-attestation claims (and their reviews' phases).

    Each round's holder is told (``misattestation_claimed``, with ``prepared_finalize``):
    anyone may claim any active token, and while the claim is open its sale is frozen (409
    ``misattestation_claim_open``) until someone finalizes it past the review's reveal deadline,
    which a claimant that loses (its deposit goes to the holder) never does."""

    def __init__(self, holder: Callable[[Session, Product], str] | None = None):
        # who holds the token for the court (the seller while the swap escrow holds it)
        self.holder = holder or (lambda _session, product: product.owner)

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if (row["contract"], row["event"]) in _WANTED:
                _WANTED[row["contract"], row["event"]](session, row, row["args"])
                if row["event"] == "MisattestationClaimed" and row.get("history", True):
                    self._tell_holder(session, row, row["args"])

    def _tell_holder(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        token = token_hex(a["tokenId"])
        product = session.scalar(select(Product).where(Product.token_id == token))
        claim = _open(session, token)
        if product is None or claim is None:
            return
        session.add(
            Notification(
                recipient=self.holder(session, product),
                kind="misattestation_claimed",
                block_number=row["block_number"],
                payload={
                    "token_id": token,
                    "round": claim.round,
                    "claimant": a["claimant"],
                    "esp": a["esp"],
                    "review_key": a["key"],
                    "prepared_finalize": {
                        "action": "finalize-misattested",
                        "endpoint": "/v1/tx/batch/court/finalize-misattested",
                        "body": {"token": str(int(a["tokenId"]))},
                    },
                },
            )
        )

    def rewind(self, session: Session, ancestor: int) -> None:
        """After a reorg past ``ancestor`` (the indexer has dropped the events above it): the
        claims are rebuilt from the events that remain (few: a claim costs a deposit)."""
        session.execute(delete(MisattestationClaimRow))
        session.flush()
        rows = session.execute(
            select(
                ChainEvent.contract,
                ChainEvent.event,
                ChainEvent.args,
                ChainEvent.block_number,
                ChainEvent.tx_hash,
            )
            .where(ChainEvent.event.in_(_COURT_EVENTS + _REVIEW_EVENTS))
            .where(ChainEvent.block_number <= ancestor)
            .order_by(ChainEvent.block_number, ChainEvent.log_index)
        )
        replay = [r._asdict() for r in rows]
        for r in replay:
            r["history"] = False  # the catalog keeps the history rows at or below the ancestor
        self(session, replay)


def _claimed(session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
    token = token_hex(a["tokenId"])
    last = session.scalar(
        select(func.max(MisattestationClaimRow.round)).where(
            MisattestationClaimRow.token_id == token
        )
    )
    session.add(
        MisattestationClaimRow(
            token_id=token,
            round=int(last or 0) + 1,
            claimant=a["claimant"],
            esp=a["esp"],
            review_key=a["key"],
            state="open",
            claimed_block=row["block_number"],
            claim_tx=row["tx_hash"],
            review="requested",
        )
    )
    session.flush()
    _history(session, token, "misattestation_claimed", row, {"claimant": a["claimant"]})


def _decided(session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
    token = token_hex(a["tokenId"])
    claim = _open(session, token)
    state = DisputeState(int(a["state"])).name.lower()
    if claim is not None:
        claim.state, claim.decided_block = state, row["block_number"]
    _history(
        session, token, "misattestation_decided", row, {"claimant": a["claimant"], "verdict": state}
    )


def _review(session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
    claim = session.scalar(
        select(MisattestationClaimRow).where(MisattestationClaimRow.review_key == a["key"])
    )
    if claim is None:
        return  # another review (a challenge's)
    if row["event"] == "ReviewDrawn":
        claim.review, claim.review_deadline = "drawn", int(a["revealDeadline"])
    elif row["event"] == "ReviewRearmed":
        claim.review, claim.review_deadline = "requested", None
    else:
        claim.review, claim.review_deadline = "cancelled", None


def _open(session: Session, token: str) -> MisattestationClaimRow | None:
    return session.scalar(
        select(MisattestationClaimRow)
        .where(MisattestationClaimRow.token_id == token, MisattestationClaimRow.state == "open")
        .order_by(MisattestationClaimRow.round.desc())
        .limit(1)
    )


def _history(
    session: Session, token: str, kind: str, row: dict[str, Any], data: dict[str, Any]
) -> None:
    if row.get("history", True):
        session.add(
            ProductEvent(
                token_id=token,
                kind=kind,
                block_number=row["block_number"],
                tx_hash=row["tx_hash"],
                data=data,
            )
        )


_WANTED = {
    ("BatchCourt", "MisattestationClaimed"): _claimed,
    ("BatchCourt", "MisattestationDecided"): _decided,
    **{("CommitteeVerifier", event): _review for event in _REVIEW_EVENTS},
}


def latest_claims(session: Session, tokens: Iterable[str]) -> dict[str, MisattestationClaimRow]:
    """Each of ``tokens``' (``token_hex``) latest claim round, where it has one."""
    wanted = list(tokens)
    if not wanted:
        return {}
    latest: dict[str, MisattestationClaimRow] = {}
    for claim in session.scalars(
        select(MisattestationClaimRow)
        .where(MisattestationClaimRow.token_id.in_(wanted))
        .order_by(MisattestationClaimRow.round)
    ):
        latest[claim.token_id] = claim
    return latest


def claim_json(claim: MisattestationClaimRow | None) -> dict[str, Any] | None:
    """A claim round as the product and batch item views carry it (``MisattestationOut``)."""
    if claim is None:
        return None
    return {
        "state": claim.state,
        "round": claim.round,
        "claimant": claim.claimant,
        "esp": claim.esp,
        "claimed_block": claim.claimed_block,
        "claim_tx": claim.claim_tx,
        "review": claim.review,
        "review_deadline": claim.review_deadline,
        "decided_block": claim.decided_block,
    }
