"""Collections: the token contracts whose tokens the marketplace lists and trades.

A listing and a trade name their collection, the ERC-721 contract that holds the token: the
deployment's Registry (single registrations; the default, so a client that names none keeps
working) or its BatchRegistry (batched items, token id ``(batchId << 32) | index``:
docs/batches.md). Nothing else is traded: another address is :class:`UnknownCollection`.

Every collection-dependent rule reads the token through :class:`CollectionReader`, so the trade
rules in :mod:`services.exchange.trade` are written once for both: the token's status (a revoked
item is frozen), the state of the challenges against it (a pending one blocks a sale), its owner,
and its ERC-2981 royalty (a batched item pays its producer).

The database keeps a collection by its :class:`CollectionKind` (the products table's own
``collection`` values), not by address, so a row does not depend on where a deployment lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eth_utils import to_checksum_address

from ledger import RegistryClient, TokenStatus
from ledger.clients._base import Call
from ledger.clients.batch_court import BatchCourtClient, Misattestation
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState
from ledger.deploy import Deployment
from ledger.logs import event_logs
from services.exchange.errors import UnknownCollection


class CollectionKind(StrEnum):
    """Which of the deployment's token contracts (``products.collection`` values)."""

    REGISTRY = "registry"
    BATCH = "batch"


_CONTRACTS = {CollectionKind.REGISTRY: "Registry", CollectionKind.BATCH: "BatchRegistry"}


@dataclass(frozen=True)
class Collection:
    """One tradable token contract of a deployment."""

    kind: CollectionKind
    address: str  # checksummed

    @property
    def contract(self) -> str:
        """The contract's name: its ABI and its EIP-712 domain (``ledger.eip712``) key."""
        return _CONTRACTS[self.kind]


def collections(deployment: Deployment) -> tuple[Collection, ...]:
    """The deployment's tradable collections, the Registry first (a deployment from before
    batch registration has no BatchRegistry)."""
    names = deployment.manifest.contracts
    return tuple(
        Collection(kind, to_checksum_address(deployment.manifest.address(name)))
        for kind, name in _CONTRACTS.items()
        if name in names
    )


def collection_at(deployment: Deployment, address: str | None) -> Collection:
    """The collection whose contract is at ``address`` (None: the Registry); any other address
    raises :class:`UnknownCollection`."""
    known = collections(deployment)
    if address is None:
        return known[0]
    for collection in known:
        if collection.address.lower() == address.lower():
            return collection
    raise UnknownCollection(address, tuple(c.address for c in known))


def collection_of(deployment: Deployment, kind: str | None) -> Collection:
    """The collection a database row names by kind (None, as in a row from before the column
    existed, is the Registry)."""
    wanted = CollectionKind(kind or CollectionKind.REGISTRY)
    for collection in collections(deployment):
        if collection.kind is wanted:
            return collection
    raise UnknownCollection(wanted.value, tuple(c.address for c in collections(deployment)))


def court_of(deployment: Deployment) -> BatchCourtClient | None:
    """The deployment's BatchCourt (where a batched original challenges a single Registry copy),
    or None for a deployment from before it."""
    if "BatchCourt" not in deployment.manifest.contracts:
        return None
    return BatchCourtClient(deployment)


def disputes_against(
    client: RegistryClient | BatchRegistryClient | BatchCourtClient, token_id: int
) -> tuple[DisputeState, ...]:
    """The states of every challenge opened against ``token_id`` (as the duplicate) at
    ``client``'s contract, for a caller with no index (the Python swap client): the accusers
    from the chain's ``ChallengeOpened`` logs (``duplicate`` is an indexed topic), each
    dispute's state from the contract. A Registry token is also judged by the BatchCourt (a
    batched original against a single copy): given the Registry's client, the court's
    challenges count too. A challenge of the other collection's same-id token does not."""
    logs = event_logs(  # in chunks from the deployment: a node caps one query's block range
        client.contract,
        "ChallengeOpened",
        client.deployment.manifest.block,
        argument_filters={"duplicate": token_id},
    )
    originals = sorted({int(log["args"]["original"]) for log in logs})
    states = tuple(client.dispute(original, token_id).state for original in originals)
    court = court_of(client.deployment) if isinstance(client, RegistryClient) else None
    return states + (() if court is None else disputes_against(court, token_id))


def misattestation_of(deployment: Deployment, token_id: int) -> Misattestation | None:
    """The latest mis-attestation claim against ``token_id`` (a single token or a batch item:
    the court keys claims by token id), read from the BatchCourt; None without a court."""
    court = court_of(deployment)
    return None if court is None else court.misattestation(token_id)


class CollectionReader:
    """The reads a trade needs from a collection's contract, the same for both."""

    def __init__(self, deployment: Deployment, collection: Collection):
        self.deployment = deployment
        self.collection = collection
        self._registry = RegistryClient(deployment)
        self._batch = (
            BatchRegistryClient(deployment) if collection.kind is CollectionKind.BATCH else None
        )
        self._court = court_of(deployment) if self._batch is None else None

    @property
    def address(self) -> str:
        return self.collection.address

    def status(self, token_id: int) -> TokenStatus:
        if self._batch is not None:
            return self._batch.status(token_id)
        return self._registry.record(token_id).status

    def disputes_against(self, token_id: int) -> tuple[DisputeState, ...]:
        """The states of every challenge opened against ``token_id`` in this collection."""
        return disputes_against(self._batch or self._registry, token_id)  # the court's too

    def misattestation(self, token_id: int) -> Misattestation | None:
        """The token's latest mis-attestation claim at the BatchCourt (None without a court)."""
        return misattestation_of(self.deployment, token_id)

    def approve_call(self, spender: str, token_id: int) -> Call:
        """ERC-721 ``approve(spender, tokenId)`` on this collection's contract (the seller lets
        the hash-time-lock escrow take the token before locking it)."""
        if self._batch is not None:
            return Call(self._batch.contract.functions.approve(spender, token_id))
        return self._registry.approve_call(spender, token_id)

    def dispute_state(self, original: int, duplicate: int) -> DisputeState:
        """The state of ``original``'s challenge against ``duplicate`` in this collection."""
        if self._batch is not None:
            return self._batch.dispute(original, duplicate).state
        return self._registry.dispute(original, duplicate).state

    def court_dispute_state(self, original: int, duplicate: int) -> DisputeState:
        """The state of batched ``original``'s BatchCourt challenge against Registry token
        ``duplicate`` (NONE where the collection is not the Registry or there is no court)."""
        if self._court is None:
            return DisputeState.NONE
        return self._court.dispute(original, duplicate).state

    def owner_of(self, token_id: int) -> str:
        if self._batch is not None:
            return self._batch.owner_of(token_id)
        return self._registry.owner_of(token_id)

    def royalty_info(self, token_id: int, price: int) -> tuple[str, int]:
        """ERC-2981 ``royaltyInfo`` of the collection (a batched item's receiver: its producer)."""
        if self._batch is not None:
            return self._batch.royalty_info(token_id, price)
        return self._registry.royalty_info(token_id, price)
