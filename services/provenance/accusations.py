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

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_utils import keccak

from ledger import merkle
from ledger.clients.batch_registry import BatchRegistryClient, ItemOpening
from ledger.clients.registry import RegistryClient
from ledger.errors import LedgerError
from ledger.logs import LOG_CHUNK, chunked, latest_log
from services.market_client import MarketClient, MarketError
from services.provenance.errors import ProvenanceError

__all__ = [
    "BATCH",
    "BATCH_CONTEST",
    "COURT",
    "COURT_CONTEST",
    "REGISTRY",
    "REGISTRY_CONTEST",
    "Accusation",
    "AccusationSource",
    "ApiAccusations",
    "ApiItemDetails",
    "ChainAccusations",
    "ManifestFileError",
    "ManifestItems",
    "accused_of",
    "escrowed_by",
    "first_found",
    "verified_item",
]


class ManifestFileError(ProvenanceError):
    """Raised when a batch manifest file given to the defender cannot be read."""


REGISTRY_CONTEST = "/v1/tx/registry/contest"  # the API's prepared contests, by contract
COURT_CONTEST = "/v1/tx/batch/court/contest"
BATCH_CONTEST = "/v1/tx/batch/contest"


def same_address(a: str, b: str) -> bool:
    return a.lower() == b.lower()


REGISTRY, COURT, BATCH = "registry", "court", "batch"  # where a challenge is judged


@dataclass(frozen=True)
class Accusation:
    """A challenge of one of the account's tokens: ``challenge(original, duplicate)`` at the
    Registry (single tokens), the BatchCourt (a batch item against a single token) or the
    BatchRegistry (against a batch item): ``forum``."""

    original: int
    duplicate: int
    deadline: int
    forum: str = REGISTRY

    def __post_init__(self) -> None:
        for name, bound in (("original", 2**256), ("duplicate", 2**256), ("deadline", 2**64)):
            if not 0 <= getattr(self, name) < bound:
                raise ValueError(f"{name} out of range: {getattr(self, name)}")
        if self.forum not in (REGISTRY, COURT, BATCH):
            raise ValueError(f"forum must be registry, court or batch, got {self.forum!r}")

    @property
    def key(self) -> str:
        """One key per challenge: a pair challenged again after a Void has a new deadline."""
        prefix = "" if self.forum == REGISTRY else self.forum + ":"
        return f"{prefix}{self.original}:{self.duplicate}:{self.deadline}"


class AccusationSource(Protocol):
    """Where the defender hears of challenges; ``cursor`` is the source's own position."""

    name: str

    def poll(self, cursor: int) -> tuple[list[Accusation], int, list[str]]:
        """(new accusations since ``cursor``, the next cursor, notes on what it cannot defend)."""
        ...


def accused_of(
    registry: RegistryClient, token_id: int, *, batched: bool = False, forum: str = REGISTRY
) -> str:
    """Who may contest a challenge of ``token_id`` at ``forum`` (the contracts' ``_accusedOf``):
    its owner, or while the token sits in the hash-time-lock escrow whoever put it there (its
    seller: for a resold token, not its producer), at every forum (the BatchCourt asks the
    Registry's ``escrowerOf``); "" for no such token.
    ``batched`` (or ``forum`` BATCH): a BatchRegistry item."""
    escrow = registry.deployment.manifest.address("HashTimeLock")
    forum = BATCH if batched else forum
    try:
        if forum == BATCH:
            owner = BatchRegistryClient(registry.deployment).owner_of(token_id)
            contract = registry.deployment.batch_registry
        else:
            owner = registry.owner_of(token_id)
            contract = registry.contract
        if not same_address(owner, escrow):
            return owner
        return escrowed_by(contract, registry.deployment.manifest.block, escrow, token_id)
    except (LedgerError, ValueError):
        return ""


def escrowed_by(contract: Any, start: int, escrow: str, token_id: int) -> str:
    """Who put ``token_id`` of ``contract`` in the escrow last: the ``from`` of its latest
    ``Transfer`` to it (the BatchRegistry records it privately, ``_escrowers``; the Registry's
    ``escrowerOf`` reads the same for its tokens)."""
    log = latest_log(
        contract, "Transfer", start, argument_filters={"to": escrow, "tokenId": token_id}
    )
    return "" if log is None else str(log["args"]["from"])


class ChainAccusations:
    """The ``ChallengeOpened`` logs of the Registry and the BatchCourt since a block, kept where
    ``me`` is the accused: needs nothing but the chain (the cursor is the next block to read)."""

    name = "chain"

    def __init__(self, registry: RegistryClient, me: str, *, chunk: int = LOG_CHUNK):
        self.registry = registry
        self.me = me
        self.chunk = chunk
        deployment = registry.deployment
        self.contracts = [(registry.contract, REGISTRY)]
        if "BatchCourt" in deployment.manifest.contracts:
            self.contracts.append((deployment.batch_court, COURT))
        if "BatchRegistry" in deployment.manifest.contracts:
            self.contracts.append((deployment.batch_registry, BATCH))

    def poll(self, cursor: int) -> tuple[list[Accusation], int, list[str]]:
        head = int(self.registry.deployment.chain.w3.eth.block_number)
        start = max(cursor, self.registry.deployment.manifest.block)

        def fetch(frm: int, to: int) -> list[tuple[str, Any]]:
            return [
                (forum, log)
                for contract, forum in self.contracts
                for log in contract.events.ChallengeOpened().get_logs(from_block=frm, to_block=to)
            ]

        found: list[Accusation] = []
        # in chunks: a node limits the blocks one log query may span (a refused chunk is halved,
        # ledger.logs); each chunk's logs forum by forum, as the chunks come
        for logs in chunked(fetch, start, head, chunk=self.chunk):
            for forum, log in logs:
                a = log["args"]
                dup = int(a["duplicate"])
                accused = accused_of(self.registry, dup, forum=forum)
                if same_address(accused, self.me):
                    found.append(Accusation(int(a["original"]), dup, int(a["deadline"]), forum))
        return found, max(cursor, head + 1), []


_FORUMS = {REGISTRY_CONTEST: REGISTRY, COURT_CONTEST: COURT, BATCH_CONTEST: BATCH}


class ApiAccusations:
    """The API's ``challenge_opened`` notifications to the signed-in account (the cursor is the
    last notification id read); the prepared contest's endpoint names the contract."""

    name = "api"

    def __init__(self, market: MarketClient):
        self.market = market

    MAX_PAGES = 100  # of 200: a lying API's endless ``next`` ends here

    def _newer_than(self, cursor: int) -> list[Any]:
        """Every notification newer than ``cursor``, page by page (the list is paged: a flood
        of newer notes must not push a challenge off the first page)."""
        items: list[Any] = []
        params: dict[str, Any] = {"after": cursor, "limit": 200}
        for _ in range(self.MAX_PAGES):
            page = self.market.get("/v1/notifications", **params)
            items += page.get("items") or []
            nxt = page.get("next")
            if not isinstance(nxt, int) or nxt <= cursor or nxt >= params.get("before", 2**63):
                break  # the last page, or a cursor that does not move on
            params["before"] = nxt
        return items

    def poll(self, cursor: int) -> tuple[list[Accusation], int, list[str]]:
        items = self._newer_than(cursor)
        found: list[Accusation] = []
        notes: list[str] = []
        last = cursor
        for n in items:
            try:  # whatever the API says, the chain decides; an unreadable note is skipped
                nid = int(n["id"])
            except (KeyError, TypeError, ValueError):
                continue  # without an id it cannot be told apart from the next pass's
            if nid <= cursor:
                continue
            last = max(last, nid)  # read: other kinds are never read again either
            if n.get("kind") != "challenge_opened":
                continue
            try:
                endpoint = (n.get("prepared_contest") or {}).get("endpoint", REGISTRY_CONTEST)
                acc = Accusation(
                    int(n["original"]),
                    int(n["duplicate"]),
                    int(n["deadline"]),
                    _FORUMS.get(endpoint, REGISTRY),
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                notes.append(f"unreadable notification skipped: {str(n)[:120]}")
                continue
            if endpoint not in _FORUMS:
                notes.append(
                    f"challenge of {acc.duplicate} by {acc.original} is not defended here: "
                    f"contest it yourself at {endpoint} before block {acc.deadline}"
                )
                continue
            found.append(acc)
        return found, last, notes


class ApiItemDetails:
    """A batch item's detail descriptor and opening from its published manifest (``GET
    /v1/batches/{id}/items/{index}/proof``), kept only when its item proof leads to the batch's
    items root on chain: an API that lies about it is not believed. None while the manifest is
    unpublished. The owner's own item opens its contest (``opening``)."""

    def __init__(self, market: MarketClient, batches: BatchRegistryClient):
        self.market = market
        self.batches = batches

    def __call__(self, token_id: int) -> bytes | None:
        found = self.opening(token_id)
        return None if found is None else found[0]

    def opening(self, token_id: int) -> tuple[bytes, ItemOpening] | None:
        """(detail, opening) of batch item ``token_id``, verified against the chain."""
        try:
            batch_id, index = merkle.split_token_id(token_id)
            out = self.market.get(f"/v1/batches/{batch_id}/items/{index}/proof")
        except (MarketError, ValueError):
            return None
        return verified_item(self.batches, token_id, out)


class ManifestItems:
    """The owner's own batch items from its manifest files (what ``aigc register --batch``
    writes, ``DIR/batch-manifest.json``), each checked against its batch's items root on chain
    like :class:`ApiItemDetails`: the contest of a batch item opens it from here."""

    def __init__(self, items: dict[int, dict[str, object]], batches: BatchRegistryClient):
        self.items = items
        self.batches = batches

    @classmethod
    def load(cls, paths: list[Path], batches: BatchRegistryClient) -> ManifestItems:
        items: dict[int, dict[str, object]] = {}
        for path in paths:
            try:
                for item in json.loads(path.read_text())["items"]:
                    items[int(item["token_id"])] = dict(item)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ManifestFileError(f"{path}: not a batch manifest ({exc})") from None
        return cls(items, batches)

    def __call__(self, token_id: int) -> bytes | None:
        found = self.opening(token_id)
        return None if found is None else found[0]

    def opening(self, token_id: int) -> tuple[bytes, ItemOpening] | None:
        item = self.items.get(token_id)
        return None if item is None else verified_item(self.batches, token_id, item)


ItemFinder = Callable[[int], "tuple[bytes, ItemOpening] | None"]


def first_found(finders: Sequence[ItemFinder]) -> ItemFinder | None:
    """One finder asking each of ``finders`` in turn (the owner's manifest files, then the
    API's published manifests); None when there are none."""
    if not finders:
        return None

    def find(token_id: int) -> tuple[bytes, ItemOpening] | None:
        return next((f for finder in finders if (f := finder(token_id)) is not None), None)

    return find


def verified_item(
    batches: BatchRegistryClient, token_id: int, item: Mapping[str, object]
) -> tuple[bytes, ItemOpening] | None:
    """(detail, opening) of batch item ``token_id`` from a manifest's item (``detail``,
    ``content_hash``, ``seed``, ``item_proof``), or None unless its proof leads to the batch's
    items root on chain (or the item says nothing of its detail)."""
    try:
        batch_id, index = merkle.split_token_id(token_id)
        if item.get("detail") is None:
            return None
        detail = _hex_bytes(item["detail"])
        content_hash, seed = _hex_bytes(item["content_hash"]), int(str(item["seed"]))
        proof = tuple(_hex_bytes(p) for p in item["item_proof"])  # type: ignore[attr-defined]
        leaf = merkle.item_leaf(index, content_hash, keccak(detail), seed)
        batch = batches.batch(batch_id)
    except (LedgerError, KeyError, TypeError, ValueError):
        return None
    if not merkle.ordered_verify(proof, batch.items_root, leaf, index, batch.count):
        return None
    return detail, ItemOpening(content_hash, seed, proof)


def _hex_bytes(value: object) -> bytes:
    return bytes.fromhex(str(value).removeprefix("0x"))
