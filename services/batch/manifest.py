"""A batch's manifest: what the chain does not hold, published by the owner, checked by anyone.

The chain stores two roots per batch and publishes the fingerprints; each item's content hash,
detail descriptor and seed sit behind ``itemsRoot``. The owner publishes them (the API serves
them to anyone, with the Merkle proofs a challenge or a resolve needs). :func:`check_manifest`
is the one check: every item's fingerprint is the one the chain published at its index, its
detail descriptor hashes to its detail hash, and the recomputed roots equal the on-chain ones.
Proofs are recomputed, never taken from the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from ledger import merkle
from services.batch.errors import BatchError, ManifestMismatch
from services.batch.layout import BatchItem, BatchLayout

__all__ = ["MAX_DETAIL_BYTES", "BatchManifest", "check_manifest"]

MAX_DETAIL_BYTES = 4096  # far above a detail descriptor: a bound on what anyone can make us store


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _b32(value: Any, name: str, index: int) -> bytes:
    raw = _raw(value, name, index)
    if len(raw) != 32:
        raise ManifestMismatch(
            f"item {index}: {name} must be 32 bytes", code="bad_manifest", index=index
        )
    return raw


def _raw(value: Any, name: str, index: int) -> bytes:
    text = str(value)
    if not text.startswith("0x"):
        raise ManifestMismatch(
            f"item {index}: {name} must be 0x-hex", code="bad_manifest", index=index
        )
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise ManifestMismatch(
            f"item {index}: {name} is not hex", code="bad_manifest", index=index
        ) from None


@dataclass(frozen=True)
class BatchManifest:
    """A checked manifest: the layout (token order) and each item's detail descriptor."""

    batch_id: int
    layout: BatchLayout
    details: tuple[bytes, ...]

    def item(self, index: int) -> dict[str, Any]:
        """Item ``index`` with its token id and both proofs (what the API serves)."""
        it = self.layout.items[index]
        return {
            "index": index,
            "token_id": str(merkle.token_id(self.batch_id, index)),
            "content_hash": _hex(it.content_hash),
            "fingerprint": _hex(it.fingerprint),
            "detail_hash": _hex(it.detail_hash),
            "detail": _hex(self.details[index]),
            "seed": str(it.seed),
            "item_proof": [_hex(p) for p in self.layout.item_proof(index)],
            "fingerprint_proof": [_hex(p) for p in self.layout.fingerprint_proof(index)],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "batch_id": self.batch_id,
            "count": self.layout.count,
            "items_root": _hex(self.layout.items_root),
            "fp_root": _hex(self.layout.fp_root),
            "items": [self.item(i) for i in range(self.layout.count)],
        }


def check_manifest(
    data: Mapping[str, Any],
    *,
    batch_id: int,
    items_root: bytes,
    fp_root: bytes,
    fingerprints: Sequence[bytes],
) -> BatchManifest:
    """The manifest ``data`` for batch ``batch_id`` if it matches the chain's roots and
    fingerprints; raises ManifestMismatch (``code`` bad_manifest / manifest_mismatch) else."""
    items = data.get("items") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or len(items) != len(fingerprints):
        raise ManifestMismatch(
            f"the batch has {len(fingerprints)} items: the manifest must list each once, in order",
            code="bad_manifest",
        )
    parsed: list[BatchItem] = []
    details: list[bytes] = []
    for i, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            raise ManifestMismatch(f"item {i} is not an object", code="bad_manifest", index=i)
        detail = _raw(raw.get("detail", ""), "detail", i)
        if not detail or len(detail) > MAX_DETAIL_BYTES:
            raise ManifestMismatch(
                f"item {i}: detail size out of range", code="bad_manifest", index=i
            )
        try:
            seed = int(str(raw.get("seed", "")))
            item = BatchItem(
                content_hash=_b32(raw.get("content_hash", ""), "content_hash", i),
                fingerprint=_b32(raw.get("fingerprint", ""), "fingerprint", i),
                detail_hash=keccak(detail),
                seed=seed,
            )
        except ValueError as exc:
            raise ManifestMismatch(f"item {i}: {exc}", code="bad_manifest", index=i) from None
        if item.fingerprint != fingerprints[i]:
            raise ManifestMismatch(
                f"item {i}: its fingerprint is not the one the chain published at index {i}",
                index=i,
            )
        parsed.append(item)
        details.append(detail)
    try:
        layout = BatchLayout.of(parsed)
    except BatchError as exc:  # one image twice: it cannot give the committed root either
        raise ManifestMismatch(str(exc), code="bad_manifest") from None
    if list(layout.items) != parsed:
        raise ManifestMismatch("the items are not in token order", code="bad_manifest")
    if layout.fp_root != fp_root:
        raise ManifestMismatch("the fingerprints do not give the batch's fingerprint root")
    if layout.items_root != items_root:
        raise ManifestMismatch(
            "the content hashes, detail descriptors and seeds do not give the batch's items root"
        )
    return BatchManifest(batch_id, layout, tuple(details))
