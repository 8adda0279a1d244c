"""A batch's layout: which item gets which token index, and the two Merkle roots over them.

One home for the ordering rule (the ESP signs the roots it computes here, the producer commits
and reveals what it computes here, the API checks a published manifest against it): the
BatchRegistry requires strictly increasing fingerprints, so the items are ordered by fingerprint
(as a big-endian uint256) and an item's token index is its position in that order. Two items
with one fingerprint cannot share a batch (the contract refuses ``BatchUnsorted``), nor two with
one content hash. The leaves and the tree are ``ledger.merkle``'s (the contract's encoding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from ledger import merkle
from services.batch.errors import BatchError

__all__ = ["BatchItem", "BatchLayout"]


@dataclass(frozen=True)
class BatchItem:
    """One image of a batch: what its item leaf commits to (``detail_hash`` = keccak(detail))."""

    content_hash: bytes
    fingerprint: bytes
    detail_hash: bytes
    seed: int

    def __post_init__(self) -> None:
        for name in ("content_hash", "fingerprint", "detail_hash"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != 32:
                raise ValueError(f"{name} must be 32 bytes")
        if not 0 <= self.seed < 2**256:
            raise ValueError("seed must be a uint256")


@dataclass(frozen=True)
class BatchLayout:
    """The items in token order, with their leaves, roots and proofs."""

    items: tuple[BatchItem, ...]

    @classmethod
    def of(cls, items: Sequence[BatchItem], *, max_batch: int | None = None) -> BatchLayout:
        """Orders ``items`` by fingerprint; raises BatchError (stable ``code``) for an empty or
        oversized batch, or two items sharing a content hash or a fingerprint."""
        if not items:
            raise BatchError("a batch needs at least one image", code="batch_empty")
        if max_batch is not None and len(items) > max_batch:
            raise BatchError(
                f"{len(items)} images: a batch holds at most {max_batch}", code="batch_too_large"
            )
        seen: dict[bytes, int] = {}
        for i, item in enumerate(items):
            if item.content_hash in seen:
                raise BatchError(
                    f"item {i} repeats item {seen[item.content_hash]}'s image",
                    code="batch_duplicate_item",
                    index=i,
                )
            seen[item.content_hash] = i
        ordered = sorted(items, key=lambda it: it.fingerprint)  # bytes order = uint256 order
        for i in range(1, len(ordered)):
            if ordered[i].fingerprint == ordered[i - 1].fingerprint:
                raise BatchError(
                    "two images share fingerprint 0x"
                    + ordered[i].fingerprint.hex()
                    + ": register them in separate batches",
                    code="batch_duplicate_fingerprint",
                )
        return cls(tuple(ordered))

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def fingerprints(self) -> list[bytes]:
        return [item.fingerprint for item in self.items]

    @cached_property
    def fingerprint_leaves(self) -> list[bytes]:
        return [merkle.fingerprint_leaf(i, it.fingerprint) for i, it in enumerate(self.items)]

    @cached_property
    def item_leaves(self) -> list[bytes]:
        return [
            merkle.item_leaf(i, it.content_hash, it.detail_hash, it.seed)
            for i, it in enumerate(self.items)
        ]

    @cached_property
    def fp_root(self) -> bytes:
        return merkle.merkle_root(self.fingerprint_leaves)

    @cached_property
    def items_root(self) -> bytes:
        return merkle.ordered_root(self.item_leaves)

    @cached_property
    def fingerprints_hash(self) -> bytes:
        return merkle.fingerprints_hash(self.fingerprints)

    def commitment(self, *, owner: str, salt: bytes) -> bytes:
        """What ``BatchRegistry.commit`` takes for this batch, owned by ``owner``."""
        return merkle.batch_commitment(
            items_root=self.items_root,
            fingerprints_hash=self.fingerprints_hash,
            count=self.count,
            owner=owner,
            salt=salt,
        )

    def index_of(self, content_hash: bytes) -> int:
        for i, item in enumerate(self.items):
            if item.content_hash == content_hash:
                return i
        raise BatchError("0x" + content_hash.hex() + " is not in this batch", code="not_in_batch")

    @cached_property
    def _fingerprint_proofs(self) -> list[list[bytes]]:
        return merkle.merkle_proofs(self.fingerprint_leaves)

    @cached_property
    def _item_proofs(self) -> list[list[bytes]]:
        return merkle.ordered_proofs(self.item_leaves)

    def fingerprint_proof(self, index: int) -> list[bytes]:
        return list(self._fingerprint_proofs[index])

    def item_proof(self, index: int) -> list[bytes]:
        return list(self._item_proofs[index])
