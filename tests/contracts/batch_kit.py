"""Builders the BatchRegistry tests share: a batch's items and trees, and its registration."""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger import LockTerms
from ledger.clients.batch_registry import BatchRegistryClient, ItemOpening, attestation_message
from ledger.merkle import (
    batch_commitment,
    fingerprint_leaf,
    fingerprints_hash,
    item_leaf,
    merkle_proof,
    merkle_root,
    ordered_proof,
    ordered_root,
    token_id,
)
from tests.conftest import World
from tests.contracts.helpers import default_esp, details, paid_lock

MODEL_ID = hashlib.sha256(b"bundled").digest()
_WORD = (1 << 64) - 1


def _degenerate(fp: bytes) -> bool:
    u = int.from_bytes(fp, "big")
    return any(((u >> (64 * i)) & _WORD) in (0, _WORD) for i in range(4))


def random_fingerprints(n: int, seed: int = 0) -> list[bytes]:
    """``n`` distinct, sorted, non-degenerate fingerprints, mutually far apart (random words)."""
    rng = random.Random(seed)
    out: set[bytes] = set()
    while len(out) < n:
        fp = rng.getrandbits(256).to_bytes(32, "big")
        if not _degenerate(fp):
            out.add(fp)
    return sorted(out)


@dataclass(frozen=True)
class Item:
    content_hash: bytes
    fingerprint: bytes
    detail: bytes
    seed: int


@dataclass(frozen=True)
class BatchPlan:
    """A batch laid out in fingerprint order (item i is token index i)."""

    items: tuple[Item, ...]
    owner: str
    esp: str
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    metadata_uri: str = ""

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def fingerprints(self) -> list[bytes]:
        return [it.fingerprint for it in self.items]

    @property
    def fp_leaves(self) -> list[bytes]:
        return [fingerprint_leaf(i, it.fingerprint) for i, it in enumerate(self.items)]

    @property
    def item_leaves(self) -> list[bytes]:
        return [
            item_leaf(i, it.content_hash, keccak(it.detail), it.seed)
            for i, it in enumerate(self.items)
        ]

    @property
    def fp_root(self) -> bytes:
        return merkle_root(self.fp_leaves)

    @property
    def items_root(self) -> bytes:
        return ordered_root(self.item_leaves)

    def commitment(self) -> bytes:
        return batch_commitment(
            items_root=self.items_root,
            fingerprints_hash=fingerprints_hash(self.fingerprints),
            count=self.count,
            owner=self.owner,
            salt=self.salt,
        )

    def fp_proof(self, index: int) -> list[bytes]:
        return merkle_proof(self.fp_leaves, index)

    def opening(self, index: int) -> ItemOpening:
        it = self.items[index]
        return ItemOpening(it.content_hash, it.seed, tuple(ordered_proof(self.item_leaves, index)))

    def message(self, lock: LockTerms) -> dict:
        return attestation_message(
            task_id=lock.id,
            producer=self.owner,
            items_root=self.items_root,
            fp_root=self.fp_root,
            count=self.count,
            model_id=MODEL_ID,
        )


def plan(
    owner: str,
    esp: str,
    fingerprints: Sequence[bytes],
    item_details: Sequence[bytes] | None = None,
) -> BatchPlan:
    """A batch of ``fingerprints`` (sorted here, details kept beside their fingerprint)."""
    dets = (
        list(item_details) if item_details is not None else [details()["far"]] * len(fingerprints)
    )
    pairs = sorted(zip(fingerprints, dets, strict=True))
    items = tuple(
        Item(hashlib.sha256(secrets.token_bytes(32)).digest(), fp, det, 1000 + i)
        for i, (fp, det) in enumerate(pairs)
    )
    return BatchPlan(items, owner, esp)


def client(world: World, account: LocalAccount) -> BatchRegistryClient:
    return BatchRegistryClient(world.deployment, world.tx(account))


def reveal(
    world: World, owner: LocalAccount, p: BatchPlan, lock: LockTerms, esp: LocalAccount, **over
) -> int:
    """Reveals committed ``p`` signed by ``esp`` (``over`` replaces reveal_call arguments)."""
    c = client(world, owner)
    args = {
        "items_root": p.items_root,
        "salt": p.salt,
        "model_id": MODEL_ID,
        "metadata_uri": p.metadata_uri,
        "fingerprints": p.fingerprints,
        "lock": lock,
        "signature": c.sign_attestation(esp, p.message(lock)),
    }
    args.update(over)
    return c.reveal(**args)


def register_batch(
    world: World,
    owner: LocalAccount,
    *,
    n: int | None = None,
    fingerprints: Sequence[bytes] | None = None,
    item_details: Sequence[bytes] | None = None,
    esp: LocalAccount | None = None,
    lock: LockTerms | None = None,
    seed: int = 0,
) -> tuple[int, BatchPlan]:
    """Pays a generation, commits, mines, reveals; returns (batch id, plan)."""
    esp = esp or default_esp(world, owner.address)
    fps = list(fingerprints) if fingerprints is not None else random_fingerprints(n or 3, seed)
    p = plan(owner.address, esp.address, fps, item_details)
    lock = lock or paid_lock(world, owner, esp)
    client(world, owner).commit(p.commitment(), p.count)
    world.chain.mine(1)
    return reveal(world, owner, p, lock, esp), p


def tid(batch_id: int, index: int) -> int:
    return token_id(batch_id, index)
