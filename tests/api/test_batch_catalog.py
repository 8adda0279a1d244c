"""The BatchRegistry's events in the catalog (marketplace_api.batch_catalog): one product per
item with its fingerprint, transfers and revocations per token, re-delivered events change
nothing, a reorg takes the batch back. Rows are shaped as the indexer stores them."""

from __future__ import annotations

import hashlib

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ledger import merkle
from marketplace_api.batch_catalog import BatchCatalog
from marketplace_api.catalog import Catalog, token_hex
from marketplace_api.db import Base
from marketplace_api.models import BatchRecord, Product, ProductEvent
from services.provenance import Fingerprint

PRODUCER = "0x" + "11" * 20
ESP = "0x" + "22" * 20
BUYER = "0x" + "33" * 20
ZERO = "0x" + "00" * 20


def _fp(i: int) -> str:
    return "0x" + hashlib.sha256(f"fp{i}".encode()).hexdigest()


def _row(event: str, args: dict, *, block: int = 10, log: int = 0) -> dict:
    return {
        "block_number": block,
        "block_hash": "0x" + format(block, "064x"),
        "tx_hash": "0x" + format(block * 1000 + log, "064x"),
        "log_index": log,
        "contract": "BatchRegistry",
        "event": event,
        "args": args,
    }


def _registered(batch_id: int, fps: list[str], *, block: int = 10) -> dict:
    return _row(
        "BatchRegistered",
        {
            "batchId": batch_id,
            "producer": PRODUCER,
            "esp": ESP,
            "startId": merkle.token_id(batch_id, 0),
            "count": len(fps),
            "fpRoot": "0x" + "aa" * 32,
            "itemsRoot": "0x" + "bb" * 32,
            "taskId": "0x" + "cc" * 32,
            "priorityBlock": block - 5,
            "commitBlock": block - 1,
            "modelId": "0x" + "dd" * 32,
            "metadataURI": "ipfs://batch",
            "fingerprints": fps,
        },
        block=block,
        log=1,
    )


def _world(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    Base.metadata.create_all(engine)
    catalog = Catalog(threshold=10)
    return engine, catalog, BatchCatalog(catalog)


def test_every_item_becomes_a_product_once(tmp_path):
    engine, catalog, batches = _world(tmp_path)
    fps = sorted(_fp(i) for i in range(5))
    rows = [_row("ConsecutiveTransfer", {}, log=0), _registered(1, fps)]
    with Session(engine) as s, s.begin():
        batches(s, rows)
        batches(s, rows)  # delivered twice
    with Session(engine) as s:
        products = s.scalars(select(Product).order_by(Product.id)).all()
        assert [p.token_id for p in products] == [
            token_hex(merkle.token_id(1, i)) for i in range(5)
        ]
        assert [p.fingerprint for p in products] == fps
        assert {p.collection for p in products} == {"batch"}
        assert {p.owner for p in products} == {PRODUCER}
        assert s.get(BatchRecord, 1).count == 5
    # the similarity index sees every item
    hits = catalog.similar(Fingerprint.from_hex(fps[3]))
    assert any(d == 0 for _, d in hits)


def test_a_transfer_and_a_revocation_touch_one_item_only(tmp_path):
    engine, _catalog, batches = _world(tmp_path)
    fps = sorted(_fp(i) for i in range(3))
    one, two = merkle.token_id(1, 1), merkle.token_id(1, 2)
    with Session(engine) as s, s.begin():
        batches(s, [_registered(1, fps)])
        batches(
            s,
            [
                _row("Transfer", {"from": PRODUCER, "to": BUYER, "tokenId": one}, block=11),
                _row("Revoked", {"tokenId": two, "original": 123}, block=12),
            ],
        )
    with Session(engine) as s:
        by_token = {p.token_id: p for p in s.scalars(select(Product))}
        assert by_token[token_hex(one)].owner == BUYER
        assert by_token[token_hex(two)].status == "revoked"
        others = [p for t, p in by_token.items() if t not in (token_hex(one), token_hex(two))]
        assert [(p.owner, p.status) for p in others] == [(PRODUCER, "active")]
        kinds = s.scalars(
            select(ProductEvent.kind).where(ProductEvent.token_id == token_hex(two))
        ).all()
        assert kinds == ["registered", "revoked"]


def test_other_contracts_events_are_not_batch_events(tmp_path):
    engine, _catalog, batches = _world(tmp_path)
    row = _registered(1, [_fp(0)])
    row["contract"] = "Registry"
    with Session(engine) as s, s.begin():
        batches(s, [row])
    with Session(engine) as s:
        assert s.scalars(select(Product)).all() == []


def test_a_reorg_takes_the_batch_back(tmp_path):
    engine, catalog, batches = _world(tmp_path)
    with Session(engine) as s, s.begin():
        batches(s, [_registered(1, [_fp(0)], block=10), _registered(2, [_fp(1)], block=20)])
    with Session(engine) as s, s.begin():
        batches.rewind(s, 15)
        catalog.rewind(s, 15)
    with Session(engine) as s:
        assert [b.batch_id for b in s.scalars(select(BatchRecord))] == [1]
        assert len(s.scalars(select(Product)).all()) == 1
