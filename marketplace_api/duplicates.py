"""One image held twice, as a batch item and as a single token, under one ESP's attestations.

The BatchCourt's ``revokeDuplicateImage`` revokes the second of the two on anyone's request
(docs/batches.md, "One image in both collections"): the later *published* one when one producer
registered both, the one with the later *lock* when two payers did. Until someone asks, both are
active on chain; the marketplace must not sell the one that ruling would revoke. This module
applies the contract's rule to the indexed rows (the batch item's content hash comes from its
published manifest: an item whose manifest is unpublished has no known content to compare).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import merkle
from marketplace_api.models import BatchRecord, Product
from marketplace_api.types import token_hex


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _item_revoked_first(item_batch: BatchRecord, single: Product) -> bool | None:
    """True when the court would revoke the batch item, False the single; None when it would
    refuse (a tie of two payers' locks)."""
    if _same(item_batch.producer, single.producer):
        # the later published; the single wins a tie (the court's strict `<` on reveal blocks)
        return not item_batch.reveal_block < single.registered_block
    if item_batch.priority_block == single.priority_block:
        return None
    return not item_batch.priority_block < single.priority_block


def kept_registration(session: Session, token: int) -> int | None:
    """The token that holds the same image as ``token`` and would survive the court's ruling,
    when ``token`` is the one that ruling would revoke; else None (no twin known, or ``token``
    is the one kept)."""
    hex_id = token_hex(token)
    product = session.scalar(select(Product).where(Product.token_id == hex_id))
    if product is None or product.status != "active":
        return None
    if product.collection == "registry":
        twins = session.scalars(
            select(Product).where(
                Product.collection == "batch",
                Product.fingerprint == product.fingerprint,
                Product.status == "active",
            )
        )
        for twin in twins:
            if not _same(twin.esp, product.esp):
                continue
            batch_id, index = merkle.split_token_id(int(twin.token_id, 16))
            batch = session.get(BatchRecord, batch_id)
            if batch is None or batch.manifest is None:
                continue
            if int(batch.manifest["items"][index]["content_hash"], 16) != token:
                continue
            if _item_revoked_first(batch, product) is False:
                return int(twin.token_id, 16)
        return None
    batch_id, index = merkle.split_token_id(token)
    batch = session.get(BatchRecord, batch_id)
    if batch is None or batch.manifest is None:
        return None
    content = int(batch.manifest["items"][index]["content_hash"], 16)
    single = session.scalar(
        select(Product).where(
            Product.token_id == token_hex(content),
            Product.collection == "registry",
            Product.status == "active",
        )
    )
    if single is None or not _same(single.esp, batch.esp):
        return None
    return content if _item_revoked_first(batch, single) else None
