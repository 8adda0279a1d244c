"""The market's prediction of the BatchCourt's one-image-twice ruling, one producer, every way it
may hold the two twins (``contracts/BatchCourt.sol`` ``revokeDuplicateImage`` since red team 3:
only a twin its producer holds outright is revoked; both held: the later published; neither:
refused). The market holds back the token the ruling would revoke and prepares that ruling, so a
wrong prediction refuses an honest sale or prepares a ruling that reverts ``CourtNotOwner``."""

from __future__ import annotations

import pytest

from marketplace_api.duplicates import _item_revoked_first
from marketplace_api.models import BatchRecord, Product

PRODUCER = "0x" + "aa" * 20
SYBIL = "0x" + "bb" * 20
HTLC = "0x" + "cc" * 20  # a listing: the escrow holds the token


def _rows(item_owner: str, single_owner: str, *, batch_first: bool):
    batch = BatchRecord(producer=PRODUCER, reveal_block=10 if batch_first else 30, priority_block=5)
    item = Product(producer=PRODUCER, owner=item_owner, registered_block=batch.reveal_block)
    single = Product(producer=PRODUCER, owner=single_owner, registered_block=20, priority_block=6)
    return batch, item, single


@pytest.mark.parametrize(
    ("item_owner", "single_owner", "batch_first", "item_revoked"),
    [
        (PRODUCER, PRODUCER, True, False),  # both held: the later published (the single)
        (PRODUCER, PRODUCER, False, True),  # both held: the later published (the item)
        (PRODUCER, SYBIL, True, True),  # only the item held: it goes, the buyer's single stays
        (PRODUCER, HTLC, True, True),  # the single in the escrow (a sale pending): the same
        (SYBIL, PRODUCER, False, False),  # only the single held: it goes
        (SYBIL, SYBIL, True, None),  # neither held: the court refuses, nothing is held back
        (HTLC, SYBIL, False, None),
    ],
)
def test_the_prediction_follows_the_courts_holding_rule(
    item_owner, single_owner, batch_first, item_revoked
):
    batch, item, single = _rows(item_owner, single_owner, batch_first=batch_first)
    assert _item_revoked_first(batch, item, single) is item_revoked
