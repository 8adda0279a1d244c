"""Who the catalog tells of a challenge of a resold single token its holder listed in the swap
escrow, per forum (the contracts' ``_accusedOf``): at the Registry the seller who listed it
(018fac0), not its producer; at the BatchCourt too since it asks the Registry (0c0cd6f)."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ledger import merkle
from marketplace_api.batch_catalog import BatchCatalog
from marketplace_api.catalog import Catalog
from marketplace_api.db import Base
from marketplace_api.models import Notification
from services.provenance import detail_descriptor
from tests.api.test_batch_catalog import _fp, _real_image, _registered, _row, _single

ESCROW, LATE, SELLER = "0x" + "77" * 20, "0x" + "55" * 20, "0x" + "33" * 20
ZERO = "0x" + "00" * 20


def _told(tmp_path, contract: str, original: int) -> list[tuple[str, str]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    Base.metadata.create_all(engine)
    catalog = Catalog(threshold=10, escrow=ESCROW)
    batches = BatchCatalog(catalog)
    detail = "0x" + detail_descriptor(_real_image()).hex()

    def registry(event: str, args: dict, block: int) -> dict:
        return {**_row(event, args, block=block), "contract": "Registry"}

    with Session(engine) as s, s.begin():
        batches(s, [_registered(1, [_fp(1)], block=60)])
        for row in (
            registry("Transfer", {"from": ZERO, "to": LATE, "tokenId": 7}, 61),
            _single(7, esp="0x" + "22" * 20, producer=LATE, priority=55, commit=58, fp=_fp(2),
                    detail=detail, block=61),
            registry("Transfer", {"from": ZERO, "to": LATE, "tokenId": 8}, 71),
            _single(8, esp="0x" + "66" * 20, producer=LATE, priority=70, commit=62, fp=_fp(1),
                    detail=detail, block=71),
            registry("Transfer", {"from": LATE, "to": SELLER, "tokenId": 8}, 72),  # sold once
            registry("Transfer", {"from": SELLER, "to": ESCROW, "tokenId": 8}, 73),  # listed
        ):  # fmt: skip
            catalog(s, [row])
    args = {"original": original, "duplicate": 8, "challenger": "0x" + "11" * 20, "distance": 0}
    opened = {**_row("ChallengeOpened", {**args, "deadline": 90}, block=80), "contract": contract}
    with Session(engine) as s, s.begin():
        batches(s, [opened])
        catalog(s, [opened])
    with Session(engine) as s:
        notes = s.scalars(select(Notification).where(Notification.kind == "challenge_opened"))
        return [(n.recipient, n.payload["prepared_contest"]["endpoint"]) for n in notes]


def test_at_the_registry_the_seller_of_an_escrowed_resold_token_is_told(tmp_path):
    """Before, the producer was told first (its prepared contest reverts RegistryNotOwner)."""
    assert _told(tmp_path, "Registry", 7) == [(SELLER, "/v1/tx/registry/contest")]


def test_at_the_court_the_seller_of_an_escrowed_single_is_told(tmp_path):
    """Since 0c0cd6f the BatchCourt asks the Registry who put the token in escrow: before, the
    producer was told first (its prepared contest now reverts CourtNotOwner)."""
    court = "/v1/tx/batch/court/contest"
    assert _told(tmp_path, "BatchCourt", merkle.token_id(1, 0)) == [(SELLER, court)]
