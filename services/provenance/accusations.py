"""Where the owner's defender (services/provenance/defender.py) hears of the challenges of its
tokens, and where it finds a batched challenger's detail descriptor.

Two places say that a challenge was opened: the chain (the ``ChallengeOpened`` logs of the
Registry, and of the BatchCourt where a batch item challenges a single Registry token) and the
marketplace API (its ``challenge_opened`` notifications, with the prepared contest's endpoint
naming the contract). Neither is trusted for more than a pointer: the defender reads every
dispute, owner and descriptor back from the chain, so a forged or garbled notification costs it
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eth_utils import keccak

from ledger import merkle
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import RegistryClient
from ledger.errors import LedgerError
from services.market_client import MarketClient, MarketError

__all__ = [
    "COURT_CONTEST",
    "REGISTRY_CONTEST",
    "Accusation",
    "AccusationSource",
    "ApiAccusations",
    "ApiItemDetails",
    "ChainAccusations",
    "accused_of",
]

REGISTRY_CONTEST = "/v1/tx/registry/contest"  # the API's prepared contests, by contract
COURT_CONTEST = "/v1/tx/batch/court/contest"


def same_address(a: str, b: str) -> bool:
    return a.lower() == b.lower()


@dataclass(frozen=True)
class Accusation:
    """A challenge of one of the account's single tokens: ``challenge(original, duplicate)`` at
    the Registry, or at the BatchCourt (``court``: the original is a batch item)."""

    original: int
    duplicate: int
    deadline: int
    court: bool = False

    def __post_init__(self) -> None:
        for name, bound in (("original", 2**256), ("duplicate", 2**256), ("deadline", 2**64)):
            if not 0 <= getattr(self, name) < bound:
                raise ValueError(f"{name} out of range: {getattr(self, name)}")

    @property
    def key(self) -> str:
        """One key per challenge: a pair challenged again after a Void has a new deadline."""
        return (
            "court:" if self.court else ""
        ) + f"{self.original}:{self.duplicate}:{self.deadline}"


class AccusationSource(Protocol):
    """Where the defender hears of challenges; ``cursor`` is the source's own position."""

    name: str

    def poll(self, cursor: int) -> tuple[list[Accusation], int, list[str]]:
        """(new accusations since ``cursor``, the next cursor, notes on what it cannot defend)."""
        ...


def accused_of(registry: RegistryClient, token_id: int) -> str:
    """Who may contest a challenge of ``token_id`` (the contracts' ``_accusedOf``): its owner,
    or its producer while the token sits in the hash-time-lock escrow; "" for no such token."""
    try:
        owner = registry.owner_of(token_id)
        if same_address(owner, registry.deployment.manifest.address("HashTimeLock")):
            return registry.record(token_id).producer
    except LedgerError:
        return ""
    return owner


class ChainAccusations:
    """The ``ChallengeOpened`` logs of the Registry and the BatchCourt since a block, kept where
    ``me`` is the accused: needs nothing but the chain (the cursor is the next block to read)."""

    name = "chain"

    def __init__(self, registry: RegistryClient, me: str, *, chunk: int = 5_000):
        self.registry = registry
        self.me = me
        self.chunk = chunk
        deployment = registry.deployment
        self.contracts = [(registry.contract, False)]
        if "BatchCourt" in deployment.manifest.contracts:
            self.contracts.append((deployment.batch_court, True))

    def poll(self, cursor: int) -> tuple[list[Accusation], int, list[str]]:
        head = int(self.registry.deployment.chain.w3.eth.block_number)
        start = max(cursor, self.registry.deployment.manifest.block)
        found: list[Accusation] = []
        while start <= head:  # in chunks: a node limits the blocks one log query may span
            stop = min(head, start + self.chunk - 1)
            for contract, court in self.contracts:
                for log in contract.events.ChallengeOpened().get_logs(
                    from_block=start, to_block=stop
                ):
                    a = log["args"]
                    if same_address(accused_of(self.registry, int(a["duplicate"])), self.me):
                        found.append(
                            Accusation(
                                int(a["original"]), int(a["duplicate"]), int(a["deadline"]), court
                            )
                        )
            start = stop + 1
        return found, max(cursor, head + 1), []


class ApiAccusations:
    """The API's ``challenge_opened`` notifications to the signed-in account (the cursor is the
    last notification id read). A challenge of a batched item (at the BatchRegistry) is
    reported, not defended."""

    name = "api"

    def __init__(self, market: MarketClient):
        self.market = market

    def poll(self, cursor: int) -> tuple[list[Accusation], int, list[str]]:
        items = self.market.get("/v1/notifications")["items"]
        found: list[Accusation] = []
        notes: list[str] = []
        last = cursor
        for n in items:
            try:  # whatever the API says, the chain decides; an unreadable note is skipped
                nid = int(n["id"])
            except (KeyError, TypeError, ValueError):
                continue  # without an id it cannot be told apart from the next pass's
            if nid <= cursor or n.get("kind") != "challenge_opened":
                continue
            last = max(last, nid)
            try:
                endpoint = (n.get("prepared_contest") or {}).get("endpoint", REGISTRY_CONTEST)
                acc = Accusation(
                    int(n["original"]),
                    int(n["duplicate"]),
                    int(n["deadline"]),
                    endpoint == COURT_CONTEST,
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                notes.append(f"unreadable notification skipped: {str(n)[:120]}")
                continue
            if endpoint not in (REGISTRY_CONTEST, COURT_CONTEST):
                notes.append(
                    f"challenge of {acc.duplicate} by {acc.original} is not defended here: "
                    f"contest it yourself at {endpoint} before block {acc.deadline}"
                )
                continue
            found.append(acc)
        return found, last, notes


class ApiItemDetails:
    """A batch item's detail descriptor from its published manifest (``GET /v1/batches/{id}/
    items/{index}/proof``), kept only when its item proof leads to the batch's items root on
    chain: an API that lies about it is not believed. None while the manifest is unpublished."""

    def __init__(self, market: MarketClient, batches: BatchRegistryClient):
        self.market = market
        self.batches = batches

    def __call__(self, token_id: int) -> bytes | None:
        try:
            batch_id, index = merkle.split_token_id(token_id)
            out = self.market.get(f"/v1/batches/{batch_id}/items/{index}/proof")
            if out.get("detail") is None:
                return None
            detail = bytes.fromhex(str(out["detail"]).removeprefix("0x"))
            leaf = merkle.item_leaf(
                index,
                bytes.fromhex(str(out["content_hash"]).removeprefix("0x")),
                keccak(detail),
                int(out["seed"]),
            )
            proof = [bytes.fromhex(str(p).removeprefix("0x")) for p in out["item_proof"]]
            batch = self.batches.batch(batch_id)
        except (MarketError, LedgerError, KeyError, TypeError, ValueError):
            return None
        if not merkle.ordered_verify(proof, batch.items_root, leaf, index, batch.count):
            return None
        return detail
