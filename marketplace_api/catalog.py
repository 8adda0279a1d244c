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

from eth_utils import keccak
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledger.clients.registry import DisputeState
from marketplace_api.duplicates import note_twin
from marketplace_api.models import (
    GenerationOpeningRow,
    GenerationRefusalRow,
    Notification,
    Product,
    ProductEvent,
)
from services.provenance import Fingerprint, NearDuplicateIndex, PlagiarismHit, find_plagiarism
from services.provenance.watch import admissible_in_time, is_equivocation

ZERO = "0x0000000000000000000000000000000000000000"


def token_hex(token_id: int | str) -> str:
    """``0x`` + 64 hex digits for a token id given as int, decimal string or hex string."""
    value = (
        int(token_id, 16)
        if isinstance(token_id, str) and token_id.startswith("0x")
        else int(token_id)
    )
    return "0x" + format(value, "064x")


def chain_text(value: str) -> str:
    """Text from an event (a metadata URI: whatever its registrant passed), storable: PostgreSQL
    refuses a NUL in text, and one such registration stopped the indexer at its block for good.
    A NUL is stored as U+FFFD; the rest is kept as is."""
    return value.replace("\x00", "\ufffd")


def _detail_bytes(value: str | None) -> bytes | None:
    """A published DETAIL descriptor (``0x`` + hex) as bytes; None when absent or malformed."""
    if not value:
        return None
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        return None


def _prepared(action: str, body: dict[str, str]) -> dict[str, Any]:
    """A ready-to-sign request: ``POST /v1/tx/registry/<action>`` with the pair."""
    return {"action": action, "endpoint": f"/v1/tx/registry/{action}", "body": dict(body)}


def equivocation_payload(esp: str, body: dict[str, str]) -> dict[str, Any]:
    """What the original's owner is told when one ESP attested both tokens.

    The Registry decides nothing by priority then (docs/contracts.md, "One ESP, two payers"):
    uncontested, ``finalize`` ends the dispute ``Void``; contested (the challenger may contest
    its own equivocal challenge) and matched by the detail rule, ``resolve`` ends it
    ``Equivocated``: nothing revoked, both deposits back, the ESP slashed and charged a lost
    challenge (where the slash goes is the contract's rule; anything owed to an owner is
    withdrawn with ``EspRegistry.claimCompensation``). So the prepared steps are challenge,
    contest, resolve (the only path that decides anything), and the copy is never offered as
    revocable.
    """
    return {
        "esp": esp,
        "revokes": False,
        "prepared_steps": [_prepared(a, body) for a in ("challenge", "contest", "resolve")],
    }


MISATTESTED_ADVICE = (
    "The duplicate's image nearly copies yours (fingerprint and detail rule recomputed from its "
    "bytes), but its ESP attested another image's values, so an on-chain challenge compares "
    "those and is not admissible (RegistryNotAdmissible): do not send one. The market neither "
    "lists nor sells the duplicate. Report the ESP (its attestation is its signature over "
    "values that are not the image's, verifiable by anyone from the content-addressed image) "
    "and keep this note as evidence."
)

# Notes only a token's holder can act on, and which side of the pair that token is.
_FOLLOW_THE_TOKEN = {
    "plagiarism_suspected": "original",
    "equivocation": "original",
    "challenge_opened": "duplicate",
}


class Catalog:
    """Projection of Registry events into products, plus the in-memory near-duplicate index."""

    def __init__(self, *, threshold: int, escrow: str | None = None):
        self.threshold = threshold
        # The swap escrow (the HashTimeLock): while it holds a token, the contracts let whoever
        # put it there (its seller) answer a challenge of it, and nobody can read the escrow's mail.
        self.escrow = escrow.lower() if escrow else None
        self.index = NearDuplicateIndex(threshold=threshold)
        self._lock = threading.Lock()

    def accused_of(self, session: Session, product: Product) -> str:
        """Who may contest a challenge of ``product`` (the contracts' ``_accusedOf``): its owner,
        or while the swap escrow holds it whoever put it there (its seller, from the last
        indexed transfer: for a resold token, not its producer), at every forum (the BatchCourt
        asks the Registry's ``escrowerOf`` since 0c0cd6f)."""
        seller = self._escrowed_by(session, product)
        return product.owner if seller is None else seller

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
        """Undoes everything above block ``ancestor`` (the indexer calls this on a reorg).

        A token's generation opening and remembered refusals go with its registration: a batch
        item's token id names a position, not an image, and after a reorg another batch's item
        may hold it (its true opening would be refused ``opening_exists``, or ``not_reproduced``
        from the memo of the old image's refusals)."""
        gone = select(Product.token_id).where(Product.registered_block > ancestor)
        for table in (GenerationOpeningRow, GenerationRefusalRow):
            session.execute(delete(table).where(table.token_id.in_(gone)))
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
        taken = session.scalar(select(Product).where(Product.token_id == token))
        if taken is not None:  # a reclaim: the earlier payer's registration replaces the taker's
            # The notes its Transfer forwarded described the taker's record (ESP, priority,
            # commitment): the watch below writes what holds for the new one.
            forwarded = select(Notification).where(
                Notification.block_number == row["block_number"],
                Notification.kind.in_(tuple(_FOLLOW_THE_TOKEN)),
            )
            for note in session.scalars(forwarded):
                if token in (note.payload.get("original"), note.payload.get("duplicate")):
                    session.delete(note)
            session.delete(taken)
            session.flush()
            self.load(session)  # index ids are never reused: rebuild from the active products
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
            priority_block=int(a["priorityBlock"]),
            commit_block=int(a["commitBlock"]),
            detail_hash="0x" + keccak(hexstr=a["detail"]).hex(),
            detail=a["detail"],
            status="active",
            metadata_uri=chain_text(a["metadataURI"]),
        )
        session.add(product)
        session.flush()  # assigns the registration-order id
        self._history(
            session,
            token,
            "registered",
            row,
            {"producer": a["producer"], "esp": a["esp"], "priority_block": product.priority_block},
        )
        self._watch(session, row, product)
        note_twin(session, int(a["tokenId"]))  # its bytes already batched under the same ESP

    def _plagiarism(
        self,
        session: Session,
        product: Product,
        fp: Fingerprint,
        detail: bytes | None,
        *,
        index: bool = False,
    ) -> list[PlagiarismHit]:
        """The index's near copies of ``product`` (as ``fp`` and ``detail``) in the contract's
        order (strictly smaller paid-lock block challenges), both ways, and only those the
        detail rule upholds; ``index``: then add the product to the index, under the same lock."""

        def priority_of(pid: int) -> int | None:
            other = session.get(Product, pid)
            return None if other is None else other.priority_block

        def detail_of(pid: int) -> bytes | None:
            other = session.get(Product, pid)
            return None if other is None else _detail_bytes(other.detail)

        with self._lock:
            hits = find_plagiarism(
                fp, self.index, new_id=product.id, threshold=self.threshold,
                order=priority_of, new_priority=product.priority_block,
                details=detail_of, new_detail=detail,
            )  # fmt: skip
            if index:
                self.index.add(product.id, fp)
        return hits

    def _watch(
        self, session: Session, row: dict[str, Any], product: Product, *, again: bool = False
    ) -> None:
        """Tells the owner who can win a challenge against (or with) the new product; ``again``
        for a product back in the index (reinstated): the pairs it was told of already are not
        told twice."""
        fp = Fingerprint.from_hex(product.fingerprint)
        hits = self._plagiarism(
            session, product, fp, _detail_bytes(product.detail), index=not again
        )
        for hit in hits:
            other = session.get(Product, hit.other_id)
            if other is None or other.status != "active":
                continue
            original, duplicate = (product, other) if hit.new_is_original else (other, product)
            if not admissible_in_time(
                original_esp=original.esp,
                duplicate_esp=duplicate.esp,
                original_commit_block=original.commit_block,
                duplicate_commit_block=duplicate.commit_block,
                duplicate_priority_block=duplicate.priority_block,
            ):
                continue  # the contract refuses it: the "original" may be a back-dated copy
            body = {"original": original.token_id, "duplicate": duplicate.token_id}
            payload: dict[str, Any] = {**body, "distance": hit.distance}
            if "batch" in (original.collection, duplicate.collection):
                # A batched duplicate is challenged at the BatchRegistry, a single copy of a
                # batched original at the BatchCourt; never by its own ESP's other token
                # (docs/batches.md).
                if is_equivocation(original_esp=original.esp, duplicate_esp=duplicate.esp):
                    continue
                kind = "plagiarism_suspected"
                payload["prepared_challenge"] = {
                    "action": "challenge",
                    "endpoint": "/v1/tx/batch/challenge"
                    if duplicate.collection == "batch"
                    else "/v1/tx/batch/court/challenge",
                    "body": dict(body),
                }
            elif is_equivocation(original_esp=original.esp, duplicate_esp=duplicate.esp):
                kind = "equivocation"
                payload |= equivocation_payload(original.esp, body)
            else:
                kind = "plagiarism_suspected"
                payload["prepared_challenge"] = _prepared("challenge", body)
            if again and self._told(session, original.owner, kind, body):
                continue
            session.add(
                Notification(
                    recipient=original.owner,
                    kind=kind,
                    block_number=row["block_number"],
                    payload=payload,
                )
            )

    def misattested(
        self, session: Session, product: Product, fp: Fingerprint, detail: bytes, *, block: int
    ) -> int:
        """The watch on what ``product``'s image really is (its bytes held, its attested values
        not theirs): tells each earlier owner whose image it nearly copies by the RECOMPUTED
        fingerprint and descriptor, in the contract's order, although the attested fingerprint
        says otherwise. No challenge is prepared: on chain it compares the attested values and
        would revert ``RegistryNotAdmissible``; the note says what the owner can do instead.
        Returns how many owners were told (each pair once)."""
        hits = self._plagiarism(session, product, fp, detail)
        told = 0
        for hit in hits:
            other = session.get(Product, hit.other_id)
            if hit.new_is_original or other is None or other.status != "active":
                continue  # only the earlier owner of the copied image is told
            if not admissible_in_time(
                original_esp=other.esp,
                duplicate_esp=product.esp,
                original_commit_block=other.commit_block,
                duplicate_commit_block=product.commit_block,
                duplicate_priority_block=product.priority_block,
            ):
                continue  # the "original" may be the back-dated copy
            body = {"original": other.token_id, "duplicate": product.token_id}
            if self._told(session, other.owner, "misattested_copy", body):
                continue
            session.add(
                Notification(
                    recipient=other.owner,
                    kind="misattested_copy",
                    block_number=block,
                    payload={
                        **body,
                        "distance": hit.distance,
                        "esp": product.esp,
                        "attested_fingerprint": product.fingerprint,
                        "image_fingerprint": fp.hex(),
                        "challenge_admissible": False,
                        "advice": MISATTESTED_ADVICE,
                    },
                )
            )
            told += 1
        return told

    def _on_Reclaimed(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        token = token_hex(a["tokenId"])
        self._history(session, token, "reclaimed", row, {"from": a["from"], "to": a["to"]})

    def _on_Transfer(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        if a["from"] == ZERO:
            return  # the mint: Registered (emitted next) creates the product
        token = token_hex(a["tokenId"])
        product = session.scalar(select(Product).where(Product.token_id == token))
        if product is not None:
            self._forward_notes(session, row, token, a["from"], a["to"], product.producer)
            product.owner = a["to"]
            self._history(session, token, "transferred", row, {"from": a["from"], "to": a["to"]})

    def _forward_notes(
        self,
        session: Session,
        row: dict[str, Any],
        token: str,
        previous: str,
        to: str,
        producer: str,
    ) -> None:
        """The notes that only the token's holder can act on (a prepared challenge with it, a
        prepared contest of a challenge of it) follow the token to its new holder: the watch
        addressed them to the holder of the time, perhaps the swap escrow that nobody reads and
        that can neither challenge nor contest, and the right goes with the token. Each is copied
        at the transfer's block (a rewind past it removes the copy), unless it is stale: a
        duplicate no longer active, a contest window over."""
        if self.escrow is not None and to.lower() == self.escrow:
            return  # the seller keeps them until the escrow releases the token
        holders = {previous}
        if self.escrow is not None and previous.lower() == self.escrow:
            seller = self._last_sender(session, token)
            if seller is not None:
                holders.add(seller)
            holders.add(producer)  # told of such a challenge by an index from before 018fac0
        kinds = select(Notification).where(Notification.kind.in_(tuple(_FOLLOW_THE_TOKEN)))
        have = {
            (n.kind, n.payload.get("original"), n.payload.get("duplicate"))
            for n in session.scalars(kinds.where(Notification.recipient == to))
        }
        for note in list(session.scalars(kinds.where(Notification.recipient.in_(holders)))):
            if note.payload.get(_FOLLOW_THE_TOKEN[note.kind]) != token:
                continue
            key = (note.kind, note.payload.get("original"), note.payload.get("duplicate"))
            if key in have or self._stale(session, row, note):
                continue
            have.add(key)
            session.add(
                Notification(
                    recipient=to,
                    kind=note.kind,
                    block_number=row["block_number"],
                    payload=dict(note.payload),
                )
            )

    def _escrowed_by(self, session: Session, product: Product) -> str | None:
        """The seller who put ``product`` in the swap escrow, while it is there; else None."""
        if self.escrow is None or product.owner.lower() != self.escrow:
            return None
        return self._last_sender(session, product.token_id)

    @staticmethod
    def _last_sender(session: Session, token: str) -> str | None:
        """Who sent ``token`` in its last indexed transfer (the seller, for the escrow)."""
        last = session.scalar(
            select(ProductEvent)
            .where(ProductEvent.token_id == token, ProductEvent.kind == "transferred")
            .order_by(ProductEvent.id.desc())
            .limit(1)
        )
        return None if last is None else str(last.data["from"])

    @staticmethod
    def _stale(session: Session, row: dict[str, Any], note: Notification) -> bool:
        if note.kind == "challenge_opened":
            return int(note.payload.get("deadline", 0)) < int(row["block_number"])
        duplicate = session.scalar(
            select(Product).where(Product.token_id == note.payload.get("duplicate"))
        )
        return duplicate is None or duplicate.status != "active"

    def _on_ChallengeOpened(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        data = {
            "original": token_hex(a["original"]),
            "duplicate": token_hex(a["duplicate"]),
            "challenger": a["challenger"],
            "distance": a["distance"],
            "deadline": a["deadline"],
        }
        original = session.scalar(select(Product).where(Product.token_id == data["original"]))
        accused = session.scalar(select(Product).where(Product.token_id == data["duplicate"]))
        if original is not None and accused is not None:
            # The contract's own test (`a.esp == b.esp`): such a dispute can revoke nothing.
            data["equivocal"] = is_equivocation(
                original_esp=original.esp, duplicate_esp=accused.esp
            )
        self._history(session, data["original"], "challenged", row, data)
        self._history(session, data["duplicate"], "challenged", row, data)
        if accused is not None:  # the accused's owner is told it may contest
            body = {"original": data["original"], "duplicate": data["duplicate"]}
            session.add(
                Notification(
                    recipient=self.accused_of(session, accused),
                    kind="challenge_opened",
                    block_number=row["block_number"],
                    payload={
                        **data,
                        "revokes": not data.get("equivocal", False),
                        "prepared_contest": _prepared("contest", body),
                    },
                )
            )

    def _on_ChallengeContested(
        self, session: Session, row: dict[str, Any], a: dict[str, Any]
    ) -> None:
        data = {
            "original": token_hex(a["original"]),
            "duplicate": token_hex(a["duplicate"]),
            "contester": a["contester"],
        }
        self._history(session, data["original"], "contested", row, data)
        self._history(session, data["duplicate"], "contested", row, data)

    def _on_ChallengeDecided(
        self, session: Session, row: dict[str, Any], a: dict[str, Any]
    ) -> None:
        data = {
            "original": token_hex(a["original"]),
            "duplicate": token_hex(a["duplicate"]),
            "verdict": DisputeState(int(a["state"])).name.lower(),
            "contested": a["contested"],
        }
        self._history(session, data["original"], "decided", row, data)
        self._history(session, data["duplicate"], "decided", row, data)

    def _on_Reinstated(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        token = token_hex(a["tokenId"])
        product = session.scalar(select(Product).where(Product.token_id == token))
        if product is not None:
            product.status = "active"
            session.flush()
            self.load(session)  # index ids are never reused: rebuild from the active products
            self._history(session, token, "reinstated", row, {"original": token_hex(a["original"])})
            # Copies registered while it was revoked were not paired with it: pair them now
            # (a batched item whose manifest is not published yet has no descriptor to check).
            if product.detail:
                self._watch(session, row, product, again=True)

    @staticmethod
    def _told(session: Session, recipient: str, kind: str, body: dict[str, str]) -> bool:
        """Whether ``recipient`` already has a ``kind`` note about the pair in ``body``."""
        notes = session.scalars(
            select(Notification).where(
                Notification.recipient == recipient, Notification.kind == kind
            )
        )
        return any(
            n.payload.get("original") == body["original"]
            and n.payload.get("duplicate") == body["duplicate"]
            for n in notes
        )

    def _on_Revoked(self, session: Session, row: dict[str, Any], a: dict[str, Any]) -> None:
        token = token_hex(a["tokenId"])
        product = session.scalar(select(Product).where(Product.token_id == token))
        if product is not None:
            product.status = "revoked"
            with self._lock:
                self.index.remove(product.id)
            self._history(session, token, "revoked", row, {"original": token_hex(a["original"])})
