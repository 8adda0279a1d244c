"""GET /v1/batches/{id}, its manifest and item proofs. The batch enters the database as the
indexer's projection writes it (a BatchRegistered row), so these run without the contract; the
end-to-end test on the embedded chain is tests/e2e/test_batch_registration.py."""

from __future__ import annotations

import hashlib

import pytest
from eth_utils import keccak
from sqlalchemy.orm import Session

from ledger import merkle
from services.batch import BatchItem, BatchLayout
from services.batch.manifest import BatchManifest

PRODUCER = "0x" + "11" * 20
ESP = "0x" + "22" * 20


def _h(tag: str, i: int) -> bytes:
    return hashlib.sha256(f"{tag}{i}".encode()).digest()


def _layout(n: int) -> tuple[BatchLayout, tuple[bytes, ...]]:
    details = {_h("c", i): bytes([i + 1]) * 40 for i in range(n)}
    items = [BatchItem(_h("c", i), _h("fp", i), keccak(details[_h("c", i)]), i) for i in range(n)]
    layout = BatchLayout.of(items)
    return layout, tuple(details[it.content_hash] for it in layout.items)


@pytest.fixture
def batch(api):
    layout, details = _layout(5)
    row = {
        "block_number": 7,
        "block_hash": "0x" + "07" * 32,
        "tx_hash": "0x" + "77" * 32,
        "log_index": 0,
        "contract": "BatchRegistry",
        "event": "BatchRegistered",
        "args": {
            "batchId": 3,
            "producer": PRODUCER,
            "esp": ESP,
            "startId": merkle.token_id(3, 0),
            "count": layout.count,
            "fpRoot": "0x" + layout.fp_root.hex(),
            "itemsRoot": "0x" + layout.items_root.hex(),
            "taskId": "0x" + "cc" * 32,
            "priorityBlock": 2,
            "commitBlock": 6,
            "modelId": "0x" + "dd" * 32,
            "metadataURI": "",
            "fingerprints": ["0x" + fp.hex() for fp in layout.fingerprints],
        },
    }
    market = api.client.app.state.market
    with Session(market.indexer.engine) as s, s.begin():
        market.batches(s, [row])
    return BatchManifest(3, layout, details)


def _publish(api, body, headers):
    return api.client.post("/v1/batches/3/manifest", json=body, headers=headers)


def test_a_batch_lists_every_item_with_its_fingerprint(api, batch):
    r = api.client.get("/v1/batches/3")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["count"] == 5 and out["manifest_published"] is False
    assert [it["token_id"] for it in out["items"]] == [str(merkle.token_id(3, i)) for i in range(5)]
    assert [it["fingerprint"] for it in out["items"]] == [
        "0x" + fp.hex() for fp in batch.layout.fingerprints
    ]
    # every item is a product too (gallery, token page)
    token = out["items"][2]["token_id"]
    product = api.client.get(f"/v1/products/{token}")
    assert product.status_code == 200, product.text
    assert api.client.get("/v1/batches/4").json()["error"]["code"] == "unknown_batch"


def test_a_fingerprint_proof_needs_no_manifest(api, batch):
    proof = api.client.get("/v1/batches/3/items/4/proof").json()
    leaf = merkle.fingerprint_leaf(4, batch.layout.items[4].fingerprint)
    steps = [bytes.fromhex(p[2:]) for p in proof["fingerprint_proof"]]
    assert merkle.verify(steps, batch.layout.fp_root, leaf)
    assert proof["item_proof"] is None
    assert api.client.get("/v1/batches/3/items/5/proof").status_code == 404


def test_the_true_manifest_is_accepted_and_serves_item_proofs(api, batch):
    headers = api.sign_in(api.world.buyer)  # anyone may publish the one true manifest
    r = _publish(api, batch.to_json(), headers)
    assert r.status_code == 200, r.text
    assert r.json()["manifest_published"] is True
    assert r.json()["items"][1]["content_hash"] == "0x" + batch.layout.items[1].content_hash.hex()
    proof = api.client.get("/v1/batches/3/items/1/proof").json()
    it = batch.layout.items[1]
    leaf = merkle.item_leaf(1, it.content_hash, it.detail_hash, it.seed)
    steps = [bytes.fromhex(p[2:]) for p in proof["item_proof"]]
    assert merkle.verify(steps, batch.layout.items_root, leaf)
    assert proof["detail"] == "0x" + batch.details[1].hex()


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda m: m["items"][0].update(seed="999"), "manifest_mismatch"),
        (lambda m: m["items"][0].update(detail="0x" + "ee" * 40), "manifest_mismatch"),
        (lambda m: m["items"][0].update(content_hash="0x" + "ab" * 32), "manifest_mismatch"),
        (lambda m: m["items"][0].update(fingerprint="0x" + "ab" * 32), "manifest_mismatch"),
        (lambda m: m["items"].reverse(), "manifest_mismatch"),
        (lambda m: m["items"].pop(), "bad_manifest"),
        (lambda m: m["items"].__setitem__(1, dict(m["items"][0])), "manifest_mismatch"),
    ],
)
def test_a_false_manifest_is_refused(api, batch, tamper, code):
    headers = api.sign_in(api.world.buyer)
    body = batch.to_json()
    tamper(body)
    r = _publish(api, body, headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert api.client.get("/v1/batches/3").json()["manifest_published"] is False


def test_publishing_needs_sign_in_and_bounded_input(api, batch):
    assert _publish(api, batch.to_json(), {}).status_code == 401
    headers = api.sign_in(api.world.buyer)
    body = batch.to_json()
    body["items"][0]["detail"] = "0x" + "ab" * 5000  # over the size bound
    assert _publish(api, body, headers).status_code == 422
    body = batch.to_json()
    body["items"][0]["seed"] = "-1"
    assert _publish(api, body, headers).status_code == 422
