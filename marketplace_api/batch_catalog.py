"""The BatchRegistry's events in the catalog: each batch, and each of its items as a product.

An indexer projection beside :class:`~marketplace_api.catalog.Catalog` (same transaction as the
events and the checkpoint). ``BatchRegistered`` creates the batch row and one product per item
(collection "batch", token id ``(batchId << 32) | index``, below 2**96, so it never collides with
a single registration's content-hash id), fingerprints from the event, so the gallery, token pages
and similarity search see every item at once. ``ConsecutiveTransfer`` (ERC-2309) is the same mint
and adds nothing. ``Transfer``, ``Revoked``, ``Reinstated`` and the challenge events mean what the
Registry's do and go through the catalog's own handlers, keyed by token id: a ``Reinstated`` item
(the challenge that revoked it ``Reversed`` by ``settle``, its challenger's own token revoked
within the reward hold) is active again in the products, gallery, search and token page, and its
history says so; a ``ChallengeDecided`` of the BatchRegistry or the BatchCourt records its
verdict (``upheld``, then ``settled`` or ``reversed``) in both tokens' histories. A re-delivered
event changes nothing (the batch id is the key). Each new item is checked against the
similarity index: the owner of an earlier near-duplicate the BatchRegistry would let challenge
it (another ESP's, earlier priority and commit) gets a ``plagiarism_suspected`` notification
with the batch challenge prepared; notifications about batch disputes point at
``/v1/tx/batch/*``.

Content hashes, detail descriptors and seeds are not on chain: they arrive with the owner's
manifest (:func:`marketplace_api.routers.batches`), checked against the items root first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledger import merkle
from marketplace_api.catalog import Catalog, chain_text, token_hex
from marketplace_api.models import BatchRecord, Notification, Product
from services.provenance import Fingerprint, InvalidDetailError, detail_matches
from services.provenance.watch import admissible_in_time, is_equivocation

CONTRACT = "BatchRegistry"
COURT = "BatchCourt"
_SHARED = (
    "Transfer",
    "Revoked",
    "Reinstated",
    "ChallengeOpened",
    "ChallengeContested",
    "ChallengeDecided",
)
_DISPUTE = ("ChallengeOpened", "ChallengeContested", "ChallengeDecided")


class BatchCatalog:
    """Projection of BatchRegistry events into batches and products."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def __call__(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["contract"] == COURT and row["event"] in _DISPUTE:
                # A batched original against a single copy: the same history entries, and the
                # copy's owner told it may contest, its steps pointed at the court's routes
                # (unindexed, the accused was never told and lost its token by default).
                self._shared(session, row, "/v1/tx/batch/court/")
            elif row["contract"] != CONTRACT:
                continue
            elif row["event"] == "BatchRegistered":
                self._registered(session, row, row["args"])
            elif row["event"] in _SHARED:
                self._shared(session, row, "/v1/tx/batch/")

    def _shared(self, session: Session, row: dict[str, Any], prefix: str) -> None:
        """The Registry catalog's handler for an event of the same signature; the notifications
        it writes get their prepared steps pointed at ``prefix``."""
        before = set(session.new)
        getattr(self.catalog, f"_on_{row['event']}")(session, row, row["args"])
        for obj in set(session.new) - before:
            if isinstance(obj, Notification):
                obj.payload = _batch_endpoints(obj.payload, prefix)

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
                metadata_uri=chain_text(a["metadataURI"]),
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
                metadata_uri=chain_text(a["metadataURI"]),
                collection="batch",
            )
            for token, fp in zip(tokens, fingerprints, strict=True)
            if token not in existing
        ]
        session.add_all(products)
        session.flush()  # assigns the registration-order ids
        for product in products:
            self._watch(session, row, product)
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

    def _watch(self, session: Session, row: dict[str, Any], product: Product) -> None:
        """Tells the owner of each earlier near-duplicate (another ESP's, with earlier priority
        and commit: what the BatchRegistry admits) that this batched item may copy it, with the
        prepared batch challenge; then indexes the item. The detail rule is not consulted: the
        item's detail descriptor arrives with the manifest, later (``detail_checked`` false)."""
        fp = Fingerprint.from_hex(product.fingerprint)
        with self.catalog._lock:
            hits = self.catalog.index.query(fp)
            self.catalog.index.add(product.id, fp)
        for pid, distance in hits:
            other = session.get(Product, pid)
            if (
                other is None
                or other.status != "active"
                or other.priority_block >= product.priority_block
                or is_equivocation(original_esp=other.esp, duplicate_esp=product.esp)
                or not admissible_in_time(
                    original_esp=other.esp,
                    duplicate_esp=product.esp,
                    original_commit_block=other.commit_block,
                    duplicate_commit_block=product.commit_block,
                    duplicate_priority_block=product.priority_block,
                )
            ):
                continue
            body = {"original": other.token_id, "duplicate": product.token_id}
            session.add(
                Notification(
                    recipient=other.owner,
                    kind="plagiarism_suspected",
                    block_number=row["block_number"],
                    payload={
                        **body,
                        "distance": distance,
                        "detail_checked": False,
                        "prepared_challenge": {
                            "action": "challenge",
                            "endpoint": "/v1/tx/batch/challenge",
                            "body": dict(body),
                        },
                    },
                )
            )


def recheck_details(session: Session, tokens: Iterable[str], *, since_block: int) -> int:
    """Applies the detail rule to the plagiarism notes about ``tokens`` (token_hex ids) that
    were written before both descriptors were known (``detail_checked`` false): a batched item's
    descriptor arrives with its manifest, after the watch ran. Each such note, once both sides
    have a descriptor, gets ``detail_checked`` true and ``detail_matches``; a note the detail
    rule rejects loses its prepared challenge (a contested challenge would lose its deposit).
    Notes about an item are never older than its batch (``since_block``). Returns the count."""
    wanted = set(tokens)
    changed = 0
    notes = session.scalars(
        select(Notification).where(
            Notification.kind == "plagiarism_suspected", Notification.block_number >= since_block
        )
    )
    for note in notes:
        payload = dict(note.payload)
        pair = (payload.get("original"), payload.get("duplicate"))
        if payload.get("detail_checked") is not False or not wanted.intersection(pair):
            continue
        original, duplicate = (
            session.scalar(select(Product).where(Product.token_id == token)) for token in pair
        )
        if original is None or duplicate is None or not original.detail or not duplicate.detail:
            continue  # the other side's manifest is not published yet
        try:
            matches = detail_matches(
                bytes.fromhex(original.detail.removeprefix("0x")),
                bytes.fromhex(duplicate.detail.removeprefix("0x")),
            )
        except (InvalidDetailError, ValueError):
            matches = False
        payload.update(detail_checked=True, detail_matches=matches)
        if not matches:
            payload.pop("prepared_challenge", None)
        note.payload = payload  # a new dict: the JSON column sees the change
        changed += 1
    return changed


def _batch_endpoints(payload: dict[str, Any], prefix: str = "/v1/tx/batch/") -> dict[str, Any]:
    """A notification about a BatchRegistry (or BatchCourt) dispute, its prepared steps pointed
    at ``prefix`` (the catalog's handlers prepare ``/v1/tx/registry/*`` ones)."""
    text = json.dumps(payload).replace('"/v1/tx/registry/', f'"{prefix}')
    return dict(json.loads(text))


def registered_content_hash(session: Session, product: Product) -> str | None:
    """The content hash registered for ``product`` (0x + hex): its token id for a single
    registration, its manifest's entry for a batched item (None until the manifest is
    published: no image can be attached before)."""
    if product.collection != "batch":
        return product.token_id
    batch_id, index = merkle.split_token_id(int(product.token_id, 16))
    batch = session.get(BatchRecord, batch_id)
    if batch is None or batch.manifest is None:
        return None
    return str(batch.manifest["items"][index]["content_hash"])
