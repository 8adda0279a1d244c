"""Batches (issue 16): a registered batch and its items, the owner's manifest, item proofs.

The chain holds a batch's two roots and publishes its fingerprints; the manifest (content hashes,
detail descriptors, seeds) is accepted only when it gives those very roots
(:func:`services.batch.check_manifest`), so anyone may publish it and nobody can publish a false
one. A fingerprint proof needs no manifest (the fingerprints are public from the event): a
challenger can always prove a batched copy's fingerprint.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from ledger import merkle
from marketplace_api.deps import CurrentAccount, SessionDep
from marketplace_api.errors import NotFound, declare
from marketplace_api.models import BatchRecord, Product
from marketplace_api.types import token_hex
from services.batch.manifest import check_manifest

router = APIRouter(prefix="/v1/batches", tags=["batches"])

BatchId = Annotated[int, Path(ge=1, lt=2**63, description="the batch id (from 1)")]
Index = Annotated[int, Path(ge=0, lt=2**32, description="the item's index in its batch")]
Hex = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]*$", max_length=2 + 2 * 4096)]


class BatchItemOut(BaseModel):
    index: int
    token_id: str = Field(description="(batchId << 32) | index, decimal string")
    fingerprint: str
    owner: str
    status: str
    content_hash: str | None = None  # from the manifest
    detail_hash: str | None = None
    seed: str | None = None


class BatchOut(BaseModel):
    batch_id: int
    producer: str
    esp: str
    count: int
    start_id: str
    fp_root: str
    items_root: str
    task_id: str
    model_id: str
    priority_block: int
    commit_block: int
    reveal_block: int
    tx_hash: str
    metadata_uri: str
    manifest_published: bool
    items: list[BatchItemOut]


class ItemProofOut(BaseModel):
    """What a challenge (``fingerprint_proof``) and a resolve (``item_proof``, the manifest's
    fields) pass for this item."""

    batch_id: int
    index: int
    token_id: str
    fingerprint: str
    fingerprint_proof: list[str]
    fp_root: str
    items_root: str
    content_hash: str | None = None
    detail_hash: str | None = None
    detail: str | None = None
    seed: str | None = None
    item_proof: list[str] | None = None


class ManifestItemIn(BaseModel):
    content_hash: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    fingerprint: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    detail: Hex
    seed: Annotated[str, Field(pattern=r"^[0-9]{1,78}$")]


class ManifestIn(BaseModel):
    """The items in token order, as ``aigc register --batch`` writes them (extra keys ignored)."""

    items: Annotated[list[ManifestItemIn], Field(min_length=1, max_length=4096)]


def _batch(session: SessionDep, batch_id: int) -> BatchRecord:
    batch = session.get(BatchRecord, batch_id)
    if batch is None:
        raise NotFound(f"no registered batch {batch_id}", code="unknown_batch")
    return batch


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


@router.get("/{batch_id}", response_model=BatchOut, responses=declare(404))
def get_batch(batch_id: BatchId, session: SessionDep) -> BatchOut:
    """A registered batch and every item (content hashes once the manifest is published)."""
    batch = _batch(session, batch_id)
    tokens = [token_hex(merkle.token_id(batch_id, i)) for i in range(batch.count)]
    products = {
        p.token_id: p for p in session.scalars(select(Product).where(Product.token_id.in_(tokens)))
    }
    published = (batch.manifest or {}).get("items", [])
    items = []
    for i, token in enumerate(tokens):
        p = products.get(token)
        extra: dict[str, Any] = {}
        if i < len(published):
            m = published[i]
            extra = {k: m[k] for k in ("content_hash", "detail_hash", "seed")}
        items.append(
            BatchItemOut(
                index=i,
                token_id=str(int(token, 16)),
                fingerprint=batch.fingerprints[i],
                owner=p.owner if p is not None else batch.producer,
                status=p.status if p is not None else "active",
                **extra,
            )
        )
    return BatchOut(
        **{k: getattr(batch, k) for k in BatchOut.model_fields if hasattr(BatchRecord, k)},
        manifest_published=batch.manifest is not None,
        items=items,
    )


@router.post("/{batch_id}/manifest", response_model=BatchOut, responses=declare(401, 404, 422))
def publish_manifest(
    batch_id: BatchId,
    body: ManifestIn,
    account: CurrentAccount,
    session: SessionDep,
    request: Request,
) -> BatchOut:
    """Publish a batch's manifest; refused (422 ``manifest_mismatch`` / ``bad_manifest``) unless
    it gives the batch's on-chain roots. Anyone signed in may publish the one true manifest."""
    del account
    batch = _batch(session, batch_id)
    manifest = check_manifest(
        {"items": [item.model_dump() for item in body.items]},
        batch_id=batch_id,
        items_root=_b(batch.items_root),
        fp_root=_b(batch.fp_root),
        fingerprints=[_b(fp) for fp in batch.fingerprints],
    )
    stored = manifest.to_json()
    batch.manifest = stored
    by_token = {token_hex(int(it["token_id"])): it for it in stored["items"]}
    for product in session.scalars(select(Product).where(Product.token_id.in_(list(by_token)))):
        it = by_token[product.token_id]
        product.seed, product.detail_hash, product.detail = (
            it["seed"],
            it["detail_hash"],
            it["detail"],
        )
    session.commit()
    request.app.state.market.read_cache.clear()
    return get_batch(batch_id, session)


@router.get("/{batch_id}/items/{index}/proof", response_model=ItemProofOut, responses=declare(404))
def item_proof(batch_id: BatchId, index: Index, session: SessionDep) -> ItemProofOut:
    """An item's fingerprint proof (always) and its item proof with content hash, detail and seed
    (once the manifest is published)."""
    batch = _batch(session, batch_id)
    if index >= batch.count:
        raise NotFound(f"batch {batch_id} has {batch.count} items", code="unknown_item")
    leaves = [merkle.fingerprint_leaf(i, _b(fp)) for i, fp in enumerate(batch.fingerprints)]
    out = ItemProofOut(
        batch_id=batch_id,
        index=index,
        token_id=str(merkle.token_id(batch_id, index)),
        fingerprint=batch.fingerprints[index],
        fingerprint_proof=["0x" + p.hex() for p in merkle.merkle_proof(leaves, index)],
        fp_root=batch.fp_root,
        items_root=batch.items_root,
    )
    if batch.manifest is not None:
        m = batch.manifest["items"][index]
        out = out.model_copy(
            update={
                k: m[k] for k in ("content_hash", "detail_hash", "detail", "seed", "item_proof")
            }
        )
    return out
