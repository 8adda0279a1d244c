"""One image held twice, as a batch item and as a single token, under one ESP's attestations.

The BatchCourt's ``revokeDuplicateImage`` revokes the second of the two on anyone's request
(docs/batches.md, "One image, two collections"): when one producer registered both, the one it
still holds (both held: the later *published*; neither held, sold or listed: the court refuses,
so no buyer loses a token it paid for), the one with the later *lock* when two payers did.
Until someone asks, both are active on chain; the marketplace must not sell the one that ruling
would revoke, and tells both holders. This module applies the contract's rule to the indexed
rows (the batch item's content hash comes from its published manifest: an item whose manifest
is unpublished has no known content to compare).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import merkle
from marketplace_api.models import BatchRecord, Notification, Product
from marketplace_api.types import token_hex
from services.exchange.trade import same_address

ROUTE = "/v1/tx/batch/court/duplicate-image"


@dataclass(frozen=True)
class Twin:
    """A batch item and a single token holding the same bytes under one ESP."""

    item: Product
    single: Product
    item_revoked: bool  # what the court would revoke: the item (True) or the single (False)

    @property
    def revoked(self) -> Product:
        return self.item if self.item_revoked else self.single

    @property
    def kept(self) -> Product:
        return self.single if self.item_revoked else self.item


def _item_revoked_first(batch: BatchRecord, item: Product, single: Product) -> bool | None:
    """True when the court would revoke the batch item, False the single; None when it would
    refuse (a tie of two payers' locks; one producer holding neither twin)."""
    if same_address(batch.producer, single.producer):
        # Only a twin the producer holds outright (an escrowed one is the HTLC's); both held:
        # the later published, the single winning a tie (the court's strict `<` on reveal blocks).
        item_held = same_address(item.owner, batch.producer)
        single_held = same_address(single.owner, batch.producer)
        if not item_held and not single_held:
            return None
        if item_held != single_held:
            return item_held
        return not batch.reveal_block < single.registered_block
    if batch.priority_block == single.priority_block:
        return None
    return not batch.priority_block < single.priority_block


def _pair(session: Session, item: Product, single: Product) -> Twin | None:
    """The twin, when ``item`` (a batch product) holds ``single``'s bytes under its ESP."""
    active = item.status == single.status == "active"
    if not active or not same_address(item.esp, single.esp):
        return None
    batch_id, index = merkle.split_token_id(int(item.token_id, 16))
    batch = session.get(BatchRecord, batch_id)
    if batch is None or batch.manifest is None:
        return None
    if int(batch.manifest["items"][index]["content_hash"], 16) != int(single.token_id, 16):
        return None
    revoked = _item_revoked_first(batch, item, single)
    return None if revoked is None else Twin(item, single, revoked)


def twin_of(session: Session, token: int) -> Twin | None:
    """The other registration of ``token``'s image under the same ESP, if the indexed rows
    show one (first found: an honest ESP attests an image to one producer, once per collection)."""
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token)))
    if product is None or product.status != "active":
        return None
    if product.collection == "registry":
        candidates = session.scalars(
            select(Product).where(
                Product.collection == "batch",
                Product.fingerprint == product.fingerprint,  # the same bytes, the same fingerprint
                Product.status == "active",
            )
        )
        for item in candidates:
            twin = _pair(session, item, product)
            if twin is not None:
                return twin
        return None
    batch_id, index = merkle.split_token_id(token)
    batch = session.get(BatchRecord, batch_id)
    if batch is None or batch.manifest is None:
        return None
    content = batch.manifest["items"][index]["content_hash"]
    single = session.scalar(
        select(Product).where(
            Product.token_id == token_hex(int(content, 16)), Product.collection == "registry"
        )
    )
    return None if single is None else _pair(session, product, single)


def kept_registration(session: Session, token: int) -> int | None:
    """The token that holds the same image as ``token`` and would survive the court's ruling,
    when ``token`` is the one that ruling would revoke; else None."""
    twin = twin_of(session, token)
    if twin is None or int(twin.revoked.token_id, 16) != token:
        return None
    return int(twin.kept.token_id, 16)


def unproven_twin(session: Session, token: int) -> int | None:
    """The batch item or single that may hold ``token``'s image under the same ESP while the
    batch's manifest is unpublished, when the court's rule would then revoke ``token``; else
    None. The item's content is unknown until its manifest is out, but its fingerprint is public
    from the reveal and the same bytes give the same fingerprint; whoever holds the manifest can
    have the court revoke ``token`` at any time (and is paid for asking), so it is not sold."""
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token)))
    if product is None or product.status != "active":
        return None
    single_side = product.collection == "registry"
    for other in session.scalars(
        select(Product).where(
            Product.collection == ("batch" if single_side else "registry"),
            Product.fingerprint == product.fingerprint,
            Product.status == "active",
        )
    ):
        item, single = (other, product) if single_side else (product, other)
        if not same_address(item.esp, single.esp):
            continue
        batch = session.get(BatchRecord, merkle.split_token_id(int(item.token_id, 16))[0])
        if batch is None or batch.manifest is not None:
            continue  # published: twin_of compares the content itself
        item_revoked = _item_revoked_first(batch, item, single)
        if item_revoked is not None and item_revoked is not single_side:
            return int(other.token_id, 16)
    return None


def note_twin(session: Session, token: int) -> Twin | None:
    """Tells both holders of a newly visible twin (a single registered after its batch item's
    manifest, or a manifest published after the single): the kept token's owner that its image
    is registered a second time, the other that its token is that second registration; both
    with the ruling prepared (anyone may send it and gets ``challengeReward``). The notes carry
    the later registration's block (a reorg below it removes them with it)."""
    twin = twin_of(session, token)
    if twin is None:
        return None
    block_number = max(twin.item.registered_block, twin.single.registered_block)
    body = {"item": str(int(twin.item.token_id, 16)), "single": str(int(twin.single.token_id, 16))}
    for recipient, role in ((twin.kept.owner, "kept"), (twin.revoked.owner, "revoked")):
        session.add(
            Notification(
                recipient=recipient,
                kind="duplicate_registration",
                block_number=block_number,
                payload={
                    "item": twin.item.token_id,
                    "single": twin.single.token_id,
                    "revoked_token": twin.revoked.token_id,
                    "yours": role,
                    "two_payers": not same_address(twin.item.producer, twin.single.producer),
                    "prepared_ruling": {
                        "action": "revoke_duplicate_image",
                        "endpoint": ROUTE,
                        "body": body,
                    },
                },
            )
        )
    return twin
