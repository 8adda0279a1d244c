"""The ESP's batch attestation: one EIP-712 signature over a batch's two Merkle roots.

The rule an ESP applies before it signs (:func:`attest_batch`) is the whole of what it vouches
for, so it lives here once (the worker, the CLI and the tests call it). The ESP signs only when
every item is

* an image it generated itself (its own delivery record names the content hash),
* delivered to this very producer (not to another payer, not unknown bytes),
* paid for: the item's generation lock is withdrawn (the fee reached the ESP),
* described truly: the fingerprint, detail hash and seed are the ones it computed from its own
  image when it delivered it,

and the named lock is one of the items' own locks and the *latest* of them (by the block it was
made in): a token's priority is that lock's block, so no item can be backdated before its own
generation. The named lock must still be able to register a batch (:class:`RevealView`): its
registration window open at the next block, when the producer's commit can land at the earliest,
and no batch registered under it yet; else the producer would commit ``bondPerItem x count`` to a
reveal the BatchRegistry refuses (``BatchRegistrationTooLate``, ``BatchTaskUsed``).

The batch holds 1..``max_batch`` items, all from one model, no image twice, no fingerprint
twice (see :mod:`services.batch.layout`).

What the ESP does *not* vouch for: that no one registered a near-duplicate earlier. That is what
challenges are for (docs/batches.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger import LockStatus, LockTerms, eip712
from ledger.clients.batch_registry import (
    BATCH_ATTESTATION_TYPES,
    BatchRegistryClient,
    sign_batch_attestation,
)
from ledger.logs import log_chunks
from services.batch.errors import BatchError, BatchRefused
from services.batch.layout import BatchItem, BatchLayout

__all__ = [
    "BatchRequest",
    "Delivery",
    "RequestItem",
    "RevealView",
    "SignedBatch",
    "attest_batch",
    "batch_domain",
    "reveal_view",
]

LockInfo = Callable[[bytes], tuple[LockStatus, int]]  # lock id -> (status, block made in)


@dataclass(frozen=True)
class RevealView:
    """What the BatchRegistry's reveal checks about a lock that the ESP can read before it
    signs: the chain's current block, the registration window (blocks after the lock's block
    within which the batch must be committed), and whether a lock already registered a batch
    (the contract keeps one batch per lock): ``lock_used(lock id, block the lock was made in)``.
    """

    block: int
    registration_window: int
    lock_used: Callable[[bytes, int], bool]

    def refusal(self, task_id: bytes, locked_at: int) -> BatchRefused | None:
        """Why a batch under lock ``task_id`` (made at block ``locked_at``) could not register
        if signed now; None when it still can. The window is checked first: it is arithmetic,
        while ``lock_used`` may read the chain's logs."""
        last = locked_at + self.registration_window
        if self.block + 1 > last:  # the commit lands at the next block at the earliest
            return BatchRefused(
                f"the named lock's registration window closed at block {last} (the chain is at"
                f" block {self.block}): a batch committed now would be refused at reveal",
                code="registration_window_closed",
            )
        if self.lock_used(task_id, locked_at):
            return BatchRefused(
                "the named lock already registered a batch (one batch per lock)",
                code="lock_used",
            )
        return None


def reveal_view(client: BatchRegistryClient, producer: str) -> RevealView:
    """The chain's :class:`RevealView` for ``producer``'s locks, read through ``client`` (the
    deployment's BatchRegistry): a lock is used when a ``BatchRegistered`` event of this
    producer names it (only a lock's sender can reveal with it), searched from the lock's own
    block on (no batch can name a lock before it exists; on the embedded chain a log search
    costs in proportion to the blocks it spans)."""
    deployment = client.deployment

    def lock_used(task_id: bytes, locked_at: int) -> bool:
        # in chunks up to the head (a node limits the blocks one log query may span), oldest
        # first: the lock's batch, if any, is found in the chunk that holds it
        chunks = log_chunks(
            client.contract,
            "BatchRegistered",
            max(locked_at, deployment.manifest.block),
            argument_filters={"producer": to_checksum_address(producer)},
        )
        return any(bytes(log["args"]["taskId"]) == task_id for logs in chunks for log in logs)

    return RevealView(
        block=int(deployment.chain.w3.eth.block_number),
        registration_window=client.params().registration_window,
        lock_used=lock_used,
    )


def batch_domain(*, chain_id: int, contract: str) -> dict[str, Any]:
    """The EIP-712 domain of a BatchRegistry deployment."""
    return eip712.contract_domain("BatchRegistry", chain_id=chain_id, address=contract)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _bytes(value: Any, name: str) -> bytes:
    try:
        return bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        raise BatchError(f"{name} is not hex", code="bad_hex") from None


@dataclass(frozen=True)
class Delivery:
    """What the ESP recorded when it delivered one image (computed from its own image)."""

    content_hash: bytes
    producer: str
    lock: LockTerms
    fingerprint: bytes
    detail_hash: bytes
    seed: int
    model_id: bytes


@dataclass(frozen=True)
class RequestItem:
    """One image a producer asks to batch; ``seed`` None lets the ESP fill in the seed it used
    (a producer holding only the image files need not know it)."""

    content_hash: bytes
    fingerprint: bytes
    detail_hash: bytes
    seed: int | None = None


@dataclass(frozen=True)
class BatchRequest:
    """A producer's request: attest ``items`` as one batch whose priority is lock ``task_id``
    (None: the ESP names the latest of the items' own locks itself)."""

    producer: str
    task_id: bytes | None
    items: tuple[RequestItem | BatchItem, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "producer": to_checksum_address(self.producer),
            "task_id": None if self.task_id is None else _hex(self.task_id),
            "items": [
                {
                    "content_hash": _hex(it.content_hash),
                    "fingerprint": _hex(it.fingerprint),
                    "detail_hash": _hex(it.detail_hash),
                    "seed": None if it.seed is None else str(it.seed),
                }
                for it in self.items
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchRequest:
        """Parses a request file; raises BatchError (``bad_request``) when it is malformed."""
        try:
            task_id = data.get("task_id")
            return cls(
                producer=to_checksum_address(data["producer"]),
                task_id=None if task_id is None else _bytes(task_id, "task_id"),
                items=tuple(
                    RequestItem(
                        content_hash=_bytes(it["content_hash"], "content_hash"),
                        fingerprint=_bytes(it["fingerprint"], "fingerprint"),
                        detail_hash=_bytes(it["detail_hash"], "detail_hash"),
                        seed=None if it.get("seed") is None else int(it["seed"]),
                    )
                    for it in data["items"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BatchError(f"malformed batch request: {exc}", code="bad_request") from None


@dataclass(frozen=True)
class SignedBatch:
    """The attestation file: the ESP's signature, the lock it names, the items in token order."""

    esp: str
    producer: str
    lock: LockTerms
    model_id: bytes
    layout: BatchLayout
    chain_id: int
    contract: str
    signature: bytes = field(repr=False)

    @property
    def task_id(self) -> bytes:
        return self.lock.id

    def message(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "producer": to_checksum_address(self.producer),
            "itemsRoot": self.layout.items_root,
            "fpRoot": self.layout.fp_root,
            "count": self.layout.count,
            "modelId": self.model_id,
        }

    def signer(self) -> str:
        """The address whose signature this is ("" for bytes that are no signature)."""
        domain = batch_domain(chain_id=self.chain_id, contract=self.contract)
        return eip712.recover(self.signature, domain, BATCH_ATTESTATION_TYPES, self.message())

    def check(self) -> None:
        """Raises BatchError unless the ESP named here signed exactly these items and this lock
        (an EOA signature; a contract ESP's ERC-1271 signature is checked by the chain only)."""
        if self.signer() != to_checksum_address(self.esp):
            raise BatchError("the attestation is not signed by its ESP", code="bad_attestation")
        if to_checksum_address(self.lock.sender) != to_checksum_address(self.producer) or (
            to_checksum_address(self.lock.receiver) != to_checksum_address(self.esp)
        ):
            raise BatchError(
                "the attested lock is not from the producer to the ESP", code="bad_attestation"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "chain_id": self.chain_id,
            "batch_registry": to_checksum_address(self.contract),
            "esp": to_checksum_address(self.esp),
            "producer": to_checksum_address(self.producer),
            "task_id": _hex(self.task_id),
            "lock": self.lock.to_json(),
            "model_id": _hex(self.model_id),
            "count": self.layout.count,
            "items_root": _hex(self.layout.items_root),
            "fp_root": _hex(self.layout.fp_root),
            "items": [
                {
                    "index": i,
                    "content_hash": _hex(it.content_hash),
                    "fingerprint": _hex(it.fingerprint),
                    "detail_hash": _hex(it.detail_hash),
                    "seed": str(it.seed),
                }
                for i, it in enumerate(self.layout.items)
            ],
            "signature": _hex(self.signature),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignedBatch:
        """Parses an attestation file; raises BatchError when it is malformed or its roots do
        not follow from its items (it does not check the signature: :meth:`check` does)."""
        try:
            if int(data["version"]) != 1:
                raise BatchError("unknown attestation version", code="bad_attestation")
            items = [
                BatchItem(
                    content_hash=_bytes(it["content_hash"], "content_hash"),
                    fingerprint=_bytes(it["fingerprint"], "fingerprint"),
                    detail_hash=_bytes(it["detail_hash"], "detail_hash"),
                    seed=int(it["seed"]),
                )
                for it in data["items"]
            ]
            signed = cls(
                esp=to_checksum_address(data["esp"]),
                producer=to_checksum_address(data["producer"]),
                lock=LockTerms.from_json(data["lock"]),
                model_id=_bytes(data["model_id"], "model_id"),
                layout=BatchLayout.of(items),
                chain_id=int(data["chain_id"]),
                contract=to_checksum_address(data["batch_registry"]),
                signature=_bytes(data["signature"], "signature"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BatchError(f"malformed attestation: {exc}", code="bad_attestation") from None
        if [it.content_hash for it in signed.layout.items] != [it.content_hash for it in items]:
            raise BatchError("the items are not in token order", code="bad_attestation")
        expected = (_hex(signed.layout.items_root), _hex(signed.layout.fp_root), signed.task_id)
        if (str(data["items_root"]).lower(), str(data["fp_root"]).lower()) != expected[:2] or (
            _bytes(data["task_id"], "task_id") != expected[2]
        ):
            raise BatchError(
                "the roots or task id do not follow from the items", code="bad_attestation"
            )
        return signed


def attest_batch(
    request: BatchRequest,
    deliveries: Mapping[bytes, Delivery],
    lock_info: LockInfo,
    *,
    esp: LocalAccount,
    chain_id: int,
    contract: str,
    max_batch: int,
    reveal: RevealView,
    registered: Callable[[bytes], bool] = lambda _content_hash: False,
) -> SignedBatch:
    """Signs ``request`` as ``esp`` if it passes every rule of this module; else raises
    BatchRefused naming the rule (``code``) and the item (``index``, request order).
    ``reveal`` is the chain as the reveal will see it (:func:`reveal_view`): a lock whose window
    has closed or that already registered a batch is refused. ``registered(content_hash)`` tells
    an image the single Registry already holds: batching it again would make a same-ESP
    duplicate that no batch challenge can revoke."""
    producer = to_checksum_address(request.producer)
    asked = [
        BatchItem(it.content_hash, it.fingerprint, it.detail_hash, it.seed or 0)
        for it in request.items
    ]
    BatchLayout.of(asked, max_batch=max_batch)  # size, no image or fingerprint twice
    own: list[BatchItem] = []
    blocks: dict[bytes, int] = {}
    locks: dict[bytes, LockTerms] = {}
    models: set[bytes] = set()
    for i, item in enumerate(request.items):
        d = deliveries.get(item.content_hash)
        if d is None:
            raise BatchRefused(
                f"item {i}: not an image this ESP generated", code="not_generated", index=i
            )
        if to_checksum_address(d.producer) != producer:
            raise BatchRefused(
                f"item {i}: delivered to another producer",
                code="not_delivered_to_producer",
                index=i,
            )
        for name in ("fingerprint", "detail_hash", "seed"):
            if name == "seed" and item.seed is None:
                continue  # the ESP fills in its own
            if getattr(item, name) != getattr(d, name):
                raise BatchRefused(
                    f"item {i}: the {name} is not the one this ESP computed for its image",
                    code=f"wrong_{name}",
                    index=i,
                )
        if registered(d.content_hash):
            raise BatchRefused(
                f"item {i}: already registered on its own", code="already_registered", index=i
            )
        if to_checksum_address(d.lock.sender) != producer or (
            to_checksum_address(d.lock.receiver) != esp.address
        ):  # a record the marketplace misreported: the chain would refuse it at reveal
            raise BatchRefused(
                f"item {i}: its lock is not from the producer to this ESP",
                code="foreign_lock",
                index=i,
            )
        lock_id = d.lock.id
        if lock_id not in blocks:
            status, block = lock_info(lock_id)
            if status is not LockStatus.WITHDRAWN:
                raise BatchRefused(
                    f"item {i}: its generation lock is {status.name.lower()}, not paid",
                    code="unpaid_lock",
                    index=i,
                )
            blocks[lock_id], locks[lock_id] = block, d.lock
        models.add(d.model_id)
        own.append(BatchItem(d.content_hash, d.fingerprint, d.detail_hash, d.seed))
    layout = BatchLayout.of(own)  # the ESP's own values, in token order
    if len(models) != 1:
        raise BatchRefused("the images come from more than one model", code="mixed_models")
    latest = max(blocks.values())
    task_id = request.task_id
    if task_id is None:  # the ESP names the latest lock itself
        task_id = next(lock_id for lock_id, block in blocks.items() if block == latest)
    if task_id not in blocks:
        raise BatchRefused("the named lock is not one of the items' own locks", code="foreign_lock")
    if blocks[task_id] < latest:
        raise BatchRefused(
            f"the named lock was made at block {blocks[task_id]}, before another item's"
            f" lock (block {latest}): name the latest one",
            code="stale_lock",
        )
    refused = reveal.refusal(task_id, blocks[task_id])
    if refused is not None:
        raise refused
    unsigned = SignedBatch(
        esp=esp.address,
        producer=producer,
        lock=locks[task_id],
        model_id=models.pop(),
        layout=layout,
        chain_id=chain_id,
        contract=to_checksum_address(contract),
        signature=b"",
    )
    signature = sign_batch_attestation(
        esp, unsigned.message(), chain_id=chain_id, contract=contract
    )
    return SignedBatch(**{**unsigned.__dict__, "signature": signature})
