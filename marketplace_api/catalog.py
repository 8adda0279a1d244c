"""The product catalog, kept by the indexer: products, their history, and the plagiarism watch.

:class:`Catalog` is an indexer projection: it runs inside the indexer's transaction for every
batch of events, so products move with the events and the checkpoint. On ``Registered`` it also
asks the near-duplicate index which earlier products the new one copies, and leaves each earlier
owner a notification with a ready-to-sign challenge.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketplace_api.models import Notification, Product, ProductEvent
from services.provenance import Fingerprint, NearDuplicateIndex, find_plagiarism

ZERO = "0x0000000000000000000000000000000000000000"


def token_hex(token_id: int | str) -> str:
    """``0x`` + 64 hex digits for a token id given as int, decimal string or hex string."""
    value = (
        int(token_id, 16)
        if isinstance(token_id, str) and token_id.startswith("0x")
        else int(token_id)
    )
    return "0x" + format(value, "064x")


class Catalog:
    """Projection of Registry events into products, plus the in-memory near-duplicate index."""

    def __init__(self, *, threshold: int):
        self.threshold = threshold
        self.index = NearDuplicateIndex(threshold=threshold)
        self._lock = threading.Lock()

    def load(self, session: Session) -> None:
        """Rebuilds the index from the active products in the database."""
        with self._lock:
            self.index = NearDuplicateIndex(threshold=self.threshold)
            for pid, fp in session.execute(
                select(Product.id, Product.fingerprint).where(Product.status == "active")
            ):
                self.index.add(pid, Fingerprint.from_hex(fp))

    def similar(self, fp: Fingerprint) -> list[tuple[int, int]]:
        with self._lock:
            return self.index.query(fp)

    # -- indexer projection ---------------------------------------------------------------------
    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["contract"] != "Registry":
                continue
            handler = getattr(self, f"_on_{row['event']}", None)
            if handler is not None:
                handler(session, row, row["args"])

    def rewind(self, session: Session, ancestor: int) -> None:
        """Undoes everything above block ``ancestor`` (the indexer calls this on a reorg)."""
        session.execute(delete(Product).where(Product.registered_block > ancestor))
        session.execute(delete(ProductEvent).where(ProductEvent.block_number > ancestor))
        session.execute(delete(Notification).where(Notification.block_number > ancestor))
        session.flush()
        self.load(session)

    def _history(
        self, session: Session, token: str, kind: str, row: dict[str, Any], data: dict[str, Any]
    ) -> None:
        session.add(
            ProductEvent(
                token_id=token,
                kind=kind,
                block_number=row["block_number"],
                tx_hash=row["tx_hash"],
                data=data,
            )
        )

    def _on_Registered(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        token = token_hex(a["tokenId"])
        product = Product(
            token_id=token,
            fingerprint=a["fingerprint"],
            producer=a["producer"],
            owner=a["producer"],
            esp=a["esp"],
            task_id=a["taskId"],
            model_id=a["modelId"],
            seed=str(a["seed"]),
            registered_block=row["block_number"],
            status="active",
            metadata_uri=a["metadataURI"],
        )
        session.add(product)
        session.flush()  # assigns the registration-order id
        self._history(
            session, token, "registered", row, {"producer": a["producer"], "esp": a["esp"]}
        )
        fp = Fingerprint.from_hex(a["fingerprint"])
        with self._lock:
            hits = find_plagiarism(fp, self.index, new_id=product.id, threshold=self.threshold)
            self.index.add(product.id, fp)
        for hit in hits:
            earlier = session.get(Product, hit.earlier_id)
            if earlier is None or earlier.status != "active":
                continue
            session.add(
                Notification(
                    recipient=earlier.owner,
                    kind="plagiarism_suspected",
                    block_number=row["block_number"],
                    payload={
                        "original": earlier.token_id,
                        "duplicate": token,
                        "distance": hit.distance,
                        "prepared_challenge": {
                            "endpoint": "/v1/tx/registry/challenge",
                            "body": {"original": earlier.token_id, "duplicate": token},
                        },
                    },
                )
            )

    def _on_Transfer(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        if a["from"] == ZERO:
            return  # the mint: Registered (emitted next) creates the product
        token = token_hex(a["tokenId"])
        product = session.scalar(select(Product).where(Product.token_id == token))
        if product is not None:
            product.owner = a["to"]
            self._history(session, token, "transferred", row, {"from": a["from"], "to": a["to"]})

    def _on_Challenged(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        data = {
            "original": token_hex(a["original"]),
            "duplicate": token_hex(a["duplicate"]),
            "challenger": a["challenger"],
            "upheld": a["upheld"],
            "distance": a["distance"],
        }
        self._history(session, data["original"], "challenged", row, data)
        self._history(session, data["duplicate"], "challenged", row, data)

    def _on_Revoked(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        token = token_hex(a["tokenId"])
        product = session.scalar(select(Product).where(Product.token_id == token))
        if product is not None:
            product.status = "revoked"
            with self._lock:
                self.index.remove(product.id)
            self._history(session, token, "revoked", row, {"original": token_hex(a["original"])})
