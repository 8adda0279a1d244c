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
from marketplace_api.models import BatchRecord, Notification, Product, ProductEvent
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


def _real_image():
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(3)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC)


def _single(token: int, *, esp: str, producer: str, priority: int, commit: int, fp, detail, block):
    return {
        **_row(
            "Registered",
            {
                "tokenId": token,
                "fingerprint": fp,
                "producer": producer,
                "esp": esp,
                "taskId": "0x" + "ee" * 32,
                "modelId": "0x" + "dd" * 32,
                "seed": 1,
                "priorityBlock": priority,
                "commitBlock": commit,
                "detail": detail,
                "metadataURI": "",
            },
            block=block,
        ),
        "contract": "Registry",
    }


def test_the_watch_offers_only_challenges_the_batch_contracts_take(tmp_path):
    """A single registration with an earlier priority than a batched near copy is offered the
    batch challenge; against a later single copy, the batched item's owner is offered the
    BatchCourt's; neither is offered a Registry challenge, and a single copy attested by the
    batch's own ESP (an equivocation, refused by the court) is offered nothing."""
    from services.provenance import detail_descriptor, fingerprint

    engine, catalog, batches = _world(tmp_path)
    image = _real_image()
    fp = "0x" + fingerprint(image).to_bytes32().hex()
    detail = "0x" + detail_descriptor(image).hex()
    with Session(engine) as s, s.begin():
        batches(s, [_registered(1, [fp], block=60)])  # priority 55, commit 59, by ESP
        item = s.scalar(select(Product).where(Product.collection == "batch"))
        item.detail = detail  # as the published manifest sets it
    early, late = "0x" + "44" * 20, "0x" + "55" * 20
    other_esp = "0x" + "66" * 20
    with Session(engine) as s, s.begin():
        batch_owner = s.scalar(select(Product).where(Product.collection == "batch")).owner
        catalog(
            s,
            [
                _single(7, esp=other_esp, producer=early, priority=40, commit=30, fp=fp,
                        detail=detail, block=61),
                _single(8, esp=other_esp, producer=late, priority=70, commit=62, fp=fp,
                        detail=detail, block=71),
                _single(9, esp=ESP, producer=late, priority=72, commit=64, fp=fp,
                        detail=detail, block=73),
            ],
        )  # fmt: skip
    batched = token_hex(merkle.token_id(1, 0))
    with Session(engine) as s:
        notes = [
            n
            for n in s.scalars(select(Notification))
            if batched in (n.payload["original"], n.payload["duplicate"])
        ]
        assert [(n.recipient, n.kind) for n in notes] == [
            (early, "plagiarism_suspected"),
            (batch_owner, "plagiarism_suspected"),
        ]
        prepared = notes[0].payload["prepared_challenge"]
        assert prepared["endpoint"] == "/v1/tx/batch/challenge"
        assert prepared["body"]["duplicate"] == batched
        court = notes[1].payload["prepared_challenge"]
        assert court["endpoint"] == "/v1/tx/batch/court/challenge"
        assert court["body"]["original"] == batched
        assert court["body"]["duplicate"] != batched  # token 8, not the same-ESP token 9


def test_a_note_written_before_the_manifest_is_checked_by_the_detail_rule_when_it_comes():
    """The watch runs when a batch is registered, before its items have descriptors: its note
    to an earlier single original says ``detail_checked`` false. When the manifest brings the
    item's descriptor, the note is checked: a matching copy keeps its prepared challenge, an item
    the detail rule tells apart loses it (contested, that challenge would lose its deposit)."""
    import tempfile
    from pathlib import Path

    from PIL import ImageOps

    from marketplace_api.batch_catalog import recheck_details
    from services.provenance import detail_descriptor, fingerprint

    image = _real_image()
    fp = "0x" + fingerprint(image).to_bytes32().hex()
    other_esp, early = "0x" + "66" * 20, "0x" + "44" * 20
    outcomes = {}
    for case, item_image in (("copy", image), ("other", ImageOps.invert(image))):
        engine, catalog, batches = _world(Path(tempfile.mkdtemp()))
        with Session(engine) as s, s.begin():
            catalog(
                s,
                [_single(7, esp=other_esp, producer=early, priority=40, commit=30, fp=fp,
                         detail="0x" + detail_descriptor(image).hex(), block=41)],
            )  # fmt: skip
            batches(s, [_registered(1, [fp], block=60)])  # a near copy by fingerprint
        batched = token_hex(merkle.token_id(1, 0))
        with Session(engine) as s, s.begin():
            (note,) = s.scalars(select(Notification))
            assert note.payload["duplicate"] == batched and not note.payload["detail_checked"]
            assert recheck_details(s, [batched], since_block=60) == 0  # no descriptor yet
            item = s.scalar(select(Product).where(Product.token_id == batched))
            item.detail = "0x" + detail_descriptor(item_image).hex()  # as the manifest sets it
            s.flush()
            assert recheck_details(s, [batched], since_block=60) == 1
        with Session(engine) as s:
            (note,) = s.scalars(select(Notification))
            outcomes[case] = note.payload
            assert recheck_details(s, [batched], since_block=60) == 0  # checked once
    assert outcomes["copy"]["detail_checked"] and outcomes["copy"]["detail_matches"]
    assert outcomes["copy"]["prepared_challenge"]["endpoint"] == "/v1/tx/batch/challenge"
    assert outcomes["other"]["detail_checked"] and not outcomes["other"]["detail_matches"]
    assert "prepared_challenge" not in outcomes["other"]


def test_a_court_challenge_tells_the_single_copys_owner_it_may_contest(tmp_path):
    """A batched original's BatchCourt challenge of a single registration: both histories show
    it, and the single token's owner is told it may contest, at the court's route (the court's
    events were not read: the accused never heard of the challenge and lost by default)."""
    from services.provenance import detail_descriptor

    engine, catalog, batches = _world(tmp_path)
    other_esp, late = "0x" + "66" * 20, "0x" + "55" * 20
    detail = "0x" + detail_descriptor(_real_image()).hex()
    with Session(engine) as s, s.begin():
        batches(s, [_registered(1, [_fp(1)], block=60)])
        catalog(s, [_single(8, esp=other_esp, producer=late, priority=70, commit=62, fp=_fp(1),
                            detail=detail, block=71)])  # fmt: skip
    batched, single = merkle.token_id(1, 0), 8
    args = {"original": batched, "duplicate": single, "challenger": PRODUCER, "distance": 0}
    opened = {
        **_row("ChallengeOpened", {**args, "deadline": 90}, block=80),
        "contract": "BatchCourt",
    }
    decided = {
        **_row("ChallengeDecided", {"original": batched, "duplicate": single, "state": 3,
                                    "contested": False}, block=91),
        "contract": "BatchCourt",
    }  # fmt: skip
    with Session(engine) as s, s.begin():
        batches(s, [opened, decided])
        catalog(s, [opened, decided])  # the Registry's catalog leaves the court's rows alone
    with Session(engine) as s:
        (note,) = [n for n in s.scalars(select(Notification)) if n.kind == "challenge_opened"]
        assert note.recipient == late
        assert note.payload["revokes"] is True
        contest = note.payload["prepared_contest"]
        assert contest["endpoint"] == "/v1/tx/batch/court/contest"
        assert contest["body"] == {"original": token_hex(batched), "duplicate": token_hex(single)}
        kinds = {}
        for token in (token_hex(batched), token_hex(single)):
            rows = s.scalars(select(ProductEvent).where(ProductEvent.token_id == token))
            kinds[token] = [e.kind for e in rows]
        assert all(k[-2:] == ["challenged", "decided"] for k in kinds.values()), kinds
