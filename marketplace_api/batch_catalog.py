"""The BatchRegistry's events in the catalog: each batch, and each of its items as a product.

An indexer projection beside :class:`~marketplace_api.catalog.Catalog` (same transaction as the
events and the checkpoint). ``BatchRegistered`` creates the batch row and one product per item
(collection "batch", token id ``(batchId << 32) | index``, below 2**96, so it never collides with
a single registration's content-hash id), fingerprints from the event, so the gallery, token pages
and similarity search see every item at once. ``ConsecutiveTransfer`` (ERC-2309) is the same mint
and adds nothing. ``Transfer``, ``Revoked`` and the challenge events mean what the Registry's do
and go through the catalog's own handlers, keyed by token id. A re-delivered event changes
nothing (the batch id is the key).

Content hashes, detail descriptors and seeds are not on chain: they arrive with the owner's
manifest (:func:`marketplace_api.routers.batches`), checked against the items root first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledger import merkle
from marketplace_api.catalog import Catalog, token_hex
from marketplace_api.models import BatchRecord, Product
from services.provenance import Fingerprint

CONTRACT = "BatchRegistry"
_SHARED = ("Transfer", "Revoked", "ChallengeOpened", "ChallengeContested", "ChallengeDecided")


class BatchCatalog:
    """Projection of BatchRegistry events into batches and products."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["contract"] != CONTRACT:
                continue
            if row["event"] == "BatchRegistered":
                self._registered(session, row, row["args"])
            elif row["event"] in _SHARED:
                getattr(self.catalog, f"_on_{row['event']}")(session, row, row["args"])

    def rewind(self, session: Session, ancestor: int) -> None:
        """Undoes the batches above ``ancestor`` (their products go with the catalog's rewind)."""
        session.execute(delete(BatchRecord).where(BatchRecord.reveal_block > ancestor))

    def _registered(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        batch_id = int(a["batchId"])
        if session.get(BatchRecord, batch_id) is not None:
            return  # delivered twice
        fingerprints = [str(fp) for fp in a["fingerprints"]]
        session.add(
            BatchRecord(
                batch_id=batch_id,
                producer=a["producer"],
                esp=a["esp"],
                start_id=token_hex(a["startId"]),
                count=int(a["count"]),
                fp_root=a["fpRoot"],
                items_root=a["itemsRoot"],
                task_id=a["taskId"],
                model_id=a["modelId"],
                priority_block=int(a["priorityBlock"]),
                commit_block=int(a["commitBlock"]),
                reveal_block=row["block_number"],
                tx_hash=row["tx_hash"],
                metadata_uri=a["metadataURI"],
                fingerprints=fingerprints,
            )
        )
        tokens = [token_hex(merkle.token_id(batch_id, i)) for i in range(len(fingerprints))]
        existing = set(
            session.scalars(select(Product.token_id).where(Product.token_id.in_(tokens)))
        )
        products = [
            Product(
                token_id=token,
                fingerprint=fp,
                producer=a["producer"],
                owner=a["producer"],
                esp=a["esp"],
                task_id=a["taskId"],
                model_id=a["modelId"],
                seed="0",  # not on chain: the manifest sets it (detail_hash None until then)
                registered_block=row["block_number"],
                priority_block=int(a["priorityBlock"]),
                commit_block=int(a["commitBlock"]),
                status="active",
                metadata_uri=a["metadataURI"],
                collection="batch",
            )
            for token, fp in zip(tokens, fingerprints, strict=True)
            if token not in existing
        ]
        session.add_all(products)
        session.flush()  # assigns the registration-order ids
        with self.catalog._lock:
            for product in products:
                self.catalog.index.add(product.id, Fingerprint.from_hex(product.fingerprint))
        for product in products:
            self.catalog._history(
                session,
                product.token_id,
                "registered",
                row,
                {
                    "producer": a["producer"],
                    "esp": a["esp"],
                    "priority_block": product.priority_block,
                    "batch_id": batch_id,
                },
            )
