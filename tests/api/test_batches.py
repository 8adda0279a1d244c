"""GET /v1/batches/{id}, its manifest, item proofs and the /v1/tx/batch endpoints.

The first tests put a batch in the database as the indexer's projection writes it (a
BatchRegistered row); the last runs the whole flow on the embedded chain: real ESP workers
deliver paid generations, one attests a batch, the producer registers it, the indexer and the
API see every item, and a batched copy of a single registration is revoked alone."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, replace

import numpy as np
import pytest
from eth_utils import keccak
from PIL import Image
from sqlalchemy.orm import Session

from ledger import EspRegistryClient, HtlcClient, LockTerms, RegistryClient, merkle
from ledger.clients.batch_registry import BatchRegistryClient
from services.batch import BatchItem, BatchLayout, BatchRequest, SignedBatch, batch_domain
from services.batch.errors import BatchError
from services.batch.manifest import BatchManifest
from services.batch.register import (
    LedgerBatchChain,
    PreparedBatch,
    prepare_batch,
    register_batch,
)
from services.content import canonical_hash
from services.esp_worker import EspWorker
from services.market_client import MarketClient
from services.producer import ProducerSession
from services.provenance import detail_descriptor, fingerprint
from tests.api.test_tx import _sign_and_relay
from tests.contracts.helpers import register_esp

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
    assert proof["count"] == batch.layout.count
    assert merkle.ordered_verify(steps, batch.layout.items_root, leaf, 1, proof["count"])
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


# -- end to end on the embedded chain -----------------------------------------------------------

PRICE = 10**15


def _paint(prompt: str, seed: int):
    """A deterministic stand-in generator: two ESPs asked for one prompt make one image.

    The picture follows the prompt alone: each ESP worker keys the requested seed with its own
    secret (``EspWorker.generation_seed``), so two ESPs never pass one seed to their model."""
    del seed
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8]))
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC)
    return image, {"model_id": "test-painter"}


def _paint_touched(prompt: str, seed: int):
    """ESP A's generator: the same pictures with one pixel touched, so its copy of Alice's image
    is a near duplicate (other bytes: an exact copy of a registered image the ESP refuses)."""
    image, meta = _paint(prompt, seed)
    r, g, b = image.getpixel((0, 0))
    image.putpixel((0, 0), ((r + 7) % 256, g, b))
    return image, meta


def _fp_bytes(image) -> bytes:
    return fingerprint(image).to_bytes32()


def _party(api, account, tmp_path, *, esp: bool, paint=_paint):
    client = MarketClient(api.client, account)
    client.sign_in()
    world = api.world
    if esp:
        return EspWorker(
            client,
            HtlcClient(world.deployment, world.tx(account)),
            make_image=paint,
            fingerprint=_fp_bytes,
            state_path=tmp_path / f"esp-{account.address}.json",
            price=PRICE,
        )
    return ProducerSession(
        client,
        HtlcClient(world.deployment, world.tx(account)),
        RegistryClient(world.deployment, world.tx(account)),
        EspRegistryClient(world.deployment, world.tx(account)),
        fingerprint=_fp_bytes,
    )


def _generate(api, worker, producer, prompt, seed):
    """A paid generation through the API: post, quote, lock, deliver, claim, open."""
    task = producer.post(prompt, seed=seed, max_price=PRICE, esp=worker.client.address)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    worker.step()
    worker.step()
    api.index()
    claimed = producer.task(task["id"])
    image, attestation = producer.collect(claimed)
    return claimed, image, attestation


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Scene:
    """Alice's single registration and Bob's registered batch holding a near copy of it."""

    batch_id: int
    tokens: list[int]
    original: int
    copy: int
    manifest: BatchManifest
    batch_client: BatchRegistryClient
    pngs: dict[int, bytes]  # token id -> the image's PNG bytes
    prepared: PreparedBatch | None = None  # what registered it (salt and attestation)
    bob: ProducerSession | None = None  # the batch's producer
    made_by_token: dict | None = None  # token id -> Bob's (claimed task, image, attestation)


@pytest.fixture
def scene(api, tmp_path) -> Scene:
    world = api.world
    register_esp(world)  # ESP A: world.esp
    register_esp(world, world.attacker)  # ESP B
    esp_a = _party(api, world.esp, tmp_path, esp=True, paint=_paint_touched)
    esp_b = _party(api, world.attacker, tmp_path, esp=True)
    alice = _party(api, world.buyer, tmp_path, esp=False)  # the original's owner
    bob = _party(api, world.producer, tmp_path, esp=False)  # registers a batch
    # Alice's image, generated by ESP B and registered alone first
    claimed, image, att = _generate(api, esp_b, alice, "a shared prompt", 5)
    original = alice.register(claimed, image, att)
    # Bob's three images from ESP A, one of them the same prompt and seed (a near copy)
    made = [
        _generate(api, esp_a, bob, p, s) for p, s in [("a shared prompt", 5), ("x", 1), ("y", 2)]
    ]
    batch_client = BatchRegistryClient(world.deployment, world.tx(world.producer))
    max_batch = batch_client.params().max_batch
    items = tuple(
        BatchItem(
            content_hash=canonical_hash(img),
            fingerprint=_fp_bytes(img),
            detail_hash=keccak(detail_descriptor(img)),
            seed=int(task["seed"]),
        )
        for task, img, _ in made
    )
    request = BatchRequest(world.producer.address, None, items)
    signed = esp_a.attest_batch(request, contract=batch_client.address, max_batch=max_batch)
    domain = batch_domain(chain_id=world.chain.chain_id, contract=batch_client.address)
    assert signed.signer() == world.esp.address and domain["name"] == "AIGC BatchRegistry"
    assert signed.task_id == LockTerms.from_json(made[-1][0]["lock"]).id  # the latest lock
    # Bob registers the batch from the attestation file and the image files
    prepared = prepare_batch(
        [(f"{i}.png", _png(img)) for i, (_, img, _) in enumerate(made)],
        SignedBatch.from_json(json.loads(json.dumps(signed.to_json()))),
        producer=world.producer.address,
        fingerprint=_fp_bytes,
    )
    manifest = register_batch(prepared, LedgerBatchChain(batch_client))
    tokens = [merkle.token_id(manifest.batch_id, i) for i in range(3)]
    copy_image = made[0][1]
    assert canonical_hash(copy_image) != canonical_hash(image)
    copy = tokens[manifest.layout.index_of(canonical_hash(copy_image))]
    api.index()
    pngs = {tokens[manifest.layout.index_of(canonical_hash(img))]: _png(img) for _, img, _ in made}
    by_token = {tokens[manifest.layout.index_of(canonical_hash(m[1]))]: m for m in made}
    return Scene(
        manifest.batch_id,
        tokens,
        original,
        copy,
        manifest,
        batch_client,
        pngs,
        prepared,
        bob,
        by_token,
    )


def _publish_manifest_of(api, scene: Scene) -> None:
    """Bob publishes the batch manifest (anyone may: the API checks it against the roots)."""
    r = api.client.post(
        f"/v1/batches/{scene.batch_id}/manifest",
        json=scene.manifest.to_json(),
        headers=api.sign_in(api.world.producer),
    )
    assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize("flaw", ["lock_used", "wrong_deployment"])
def test_a_batch_the_reveal_would_refuse_commits_no_bond(api, scene, flaw):
    """A failed reveal burns the whole batch's bond (bondPerItem x count): the producer's side
    checks first what the chain would refuse, and commits nothing."""
    world = api.world
    assert scene.prepared is not None
    again = replace(scene.prepared, salt=b"\x01" * 32)  # the same lock, a second batch
    if flaw == "wrong_deployment":
        again = replace(again, signed=replace(again.signed, contract=world.attacker.address))
    chain = LedgerBatchChain(scene.batch_client)
    before = world.chain.w3.eth.get_balance(world.producer.address)
    with pytest.raises(BatchError) as exc:
        register_batch(again, chain)
    assert exc.value.code == flaw
    assert not chain.has_commit(again.commitment)
    assert world.chain.w3.eth.get_balance(world.producer.address) == before


def _statuses(api, batch_id: int) -> dict[str, str]:
    items = api.client.get(f"/v1/batches/{batch_id}").json()["items"]
    return {it["token_id"]: it["status"] for it in items}


def test_a_batch_registers_is_indexed_and_its_copy_alone_is_revoked(api, scene):
    world, batch_client = api.world, scene.batch_client
    batch_id, tokens, original, copy = scene.batch_id, scene.tokens, scene.original, scene.copy
    assert [batch_client.owner_of(t) for t in tokens] == [world.producer.address] * 3
    assert batch_client.royalty_info(tokens[0], 10_000)[0] == world.producer.address
    out = api.client.get(f"/v1/batches/{batch_id}").json()
    assert [it["token_id"] for it in out["items"]] == [str(t) for t in tokens]
    for t in tokens:
        product = api.client.get(f"/v1/products/{t}").json()
        assert product["status"] == "active" and product["collection"] == "batch"
    assert api.client.get(f"/v1/products/{original}").json()["collection"] == "registry"
    bob_headers = api.sign_in(world.producer)

    def put_image(token):
        files = {"image": ("i.png", scene.pngs[token], "image/png")}
        return api.client.put(f"/v1/products/{token}/image", files=files, headers=bob_headers)

    # an image is attached once the manifest names its content hash
    assert put_image(tokens[1]).json()["error"]["code"] == "hash_mismatch"
    r = api.client.post(
        f"/v1/batches/{batch_id}/manifest", json=scene.manifest.to_json(), headers=bob_headers
    )
    assert r.status_code == 200, r.text
    # tokenURI resolves to the API's metadata, with the manifest's content hash
    assert batch_client.token_uri(tokens[1]).endswith(f"/v1/tokens/{tokens[1]}")
    meta = api.client.get(f"/v1/tokens/{tokens[1]}").json()
    attributes = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    item = scene.manifest.layout.items[tokens[1] & 0xFFFFFFFF]
    assert attributes["Content hash"] == "0x" + item.content_hash.hex()
    assert put_image(tokens[1]).status_code == 200
    assert api.client.get(f"/v1/products/{tokens[1]}").json()["has_image"] is True
    wrong = api.client.put(
        f"/v1/products/{tokens[2]}/image",
        files={"image": ("i.png", scene.pngs[tokens[1]], "image/png")},
        headers=bob_headers,
    )
    assert wrong.json()["error"]["code"] == "hash_mismatch"  # another item's image
    # Alice challenges the batched copy of her image with her single registration
    alice_headers = api.sign_in(world.buyer)
    body = {"original": str(original), "duplicate": str(copy)}
    wallet_tx = api.client.post("/v1/tx/batch/challenge", json=body, headers=alice_headers)
    assert wallet_tx.status_code == 200, wallet_tx.text
    assert wallet_tx.json()["to"] == batch_client.address
    # the watch told Alice, with the batch challenge prepared
    notes = api.client.get("/v1/notifications", headers=alice_headers).json()["items"]
    (note,) = [n for n in notes if n["kind"] == "plagiarism_suspected"]
    assert note["prepared_challenge"]["endpoint"] == "/v1/tx/batch/challenge"
    assert note["prepared_challenge"]["body"] == body
    alice_batch = BatchRegistryClient(world.deployment, world.tx(world.buyer))
    proof = api.client.get(f"/v1/batches/{batch_id}/items/{copy & 0xFFFFFFFF}/proof").json()
    alice_batch.challenge_with_single(
        original,
        world.registry(world.buyer).registered(original).proof,
        copy,
        bytes.fromhex(proof["fingerprint"][2:]),
        [bytes.fromhex(p[2:]) for p in proof["fingerprint_proof"]],
    )
    # finalizing early is the contract's refusal, answered 409 with its error name
    early = api.client.post("/v1/tx/batch/finalize", json=body, headers=alice_headers)
    assert early.status_code == 409 and early.json()["error"]["code"] == "BatchDisputeWindow"
    api.index()  # Bob is told he may contest, at the batch endpoint
    notes = api.client.get("/v1/notifications", headers=bob_headers).json()["items"]
    (opened,) = [n for n in notes if n["kind"] == "challenge_opened"]
    assert opened["prepared_contest"]["endpoint"] == "/v1/tx/batch/contest"
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert alice_batch.finalize(original, copy) is True
    api.index()
    assert _statuses(api, batch_id) == {
        str(t): ("revoked" if t == copy else "active") for t in tokens
    }
    assert api.client.get(f"/v1/products/{copy}").json()["status"] == "revoked"
    assert api.client.get(f"/v1/products/{original}").json()["status"] == "active"


def test_a_contested_batch_challenge_is_decided_by_the_detail_rule_through_the_api(api, scene):
    """Every step a wallet signs: challenge, contest, resolve built by the API and relayed; the
    resolve opens the batched item against its items root from the published manifest."""
    world = api.world
    alice, bob = api.sign_in(world.buyer), api.sign_in(world.producer)
    body = {"original": str(scene.original), "duplicate": str(scene.copy)}

    def send(path, account, headers):
        r = api.client.post(f"/v1/tx/batch/{path}", json=body, headers=headers)
        assert r.status_code == 200, r.text
        mined = _sign_and_relay(api, account, r.json(), headers)
        assert mined["status"] == 1, mined

    send("challenge", world.buyer, alice)
    # resolve needs the contester's opening: none before a contest
    r = api.client.post("/v1/tx/batch/resolve", json=body, headers=alice)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_contested"
    # a contest opens the duplicate: with no published manifest, from the body (all of it,
    # proving the item against its root), else refused before any wallet pays for a revert
    item = scene.manifest.item(scene.copy & 0xFFFFFFFF)
    opening = {k: item[k] for k in ("detail", "content_hash", "seed", "item_proof")}
    other = scene.manifest.item(next(t for t in scene.tokens if t != scene.copy) & 0xFFFFFFFF)
    swapped = opening["item_proof"][::-1]  # the steps out of order
    assert swapped != opening["item_proof"]
    for extra, code in [
        ({}, "opening_required"),
        ({**opening, "item_proof": None}, "opening_required"),
        ({**opening, "detail": other["detail"]}, "bad_opening"),
        ({**opening, "seed": str(2**256)}, "bad_opening"),
        # the items tree is ordered: a step too many, or steps out of order, are refused
        (
            {**opening, "item_proof": [*opening["item_proof"], opening["item_proof"][0]]},
            "bad_opening",
        ),
        ({**opening, "item_proof": swapped}, "bad_opening"),
        ({**opening, "detail": "0xabc"}, "validation_error"),  # odd hex: 422, never a 500
    ]:
        r = api.client.post("/v1/tx/batch/contest", json={**body, **extra}, headers=bob)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (extra, r.text)
    body_with_opening = {**body, **opening}
    r = api.client.post("/v1/tx/batch/contest", json=body_with_opening, headers=bob)
    assert r.status_code == 200, r.text
    assert _sign_and_relay(api, world.producer, r.json(), bob)["status"] == 1
    # the challenger resolves with the opening the contest published (no manifest needed)
    send("resolve", world.buyer, alice)
    api.index()
    assert _statuses(api, scene.batch_id) == {
        str(t): ("revoked" if t == scene.copy else "active") for t in scene.tokens
    }
    history = api.client.get(f"/v1/products/{scene.copy}").json()["history"]
    assert [h["kind"] for h in history][-4:] == ["challenged", "contested", "decided", "revoked"]


def test_a_contest_opens_the_item_from_the_published_manifest(api, scene):
    """With the manifest published, the pair alone contests (the API opens the item from it);
    left unresolved, the challenge ends rejected and the copy stays active."""
    world = api.world
    alice, bob = api.sign_in(world.buyer), api.sign_in(world.producer)
    body = {"original": str(scene.original), "duplicate": str(scene.copy)}
    published = api.client.post(
        f"/v1/batches/{scene.batch_id}/manifest", json=scene.manifest.to_json(), headers=bob
    )
    assert published.status_code == 200, published.text
    for path, account, headers in [
        ("challenge", world.buyer, alice),
        ("contest", world.producer, bob),
    ]:
        r = api.client.post(f"/v1/tx/batch/{path}", json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert _sign_and_relay(api, account, r.json(), headers)["status"] == 1
    opened = scene.batch_client.opened_item(scene.original, scene.copy)
    item = scene.manifest.item(scene.copy & 0xFFFFFFFF)
    assert opened is not None and "0x" + bytes(opened["detail"]).hex() == item["detail"]
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert scene.batch_client.finalize(scene.original, scene.copy) is False
    api.index()
    assert api.client.get(f"/v1/products/{scene.copy}").json()["status"] == "active"


def test_tx_endpoints_refuse_bad_pairs_and_bodies(api):
    headers = api.sign_in(api.world.buyer)
    # a duplicate that is no batch token, an unknown batch, a malformed body
    for body, status, code in [
        ({"original": "1", "duplicate": str(2**200)}, 404, "unknown_product"),
        ({"original": "1", "duplicate": str(merkle.token_id(9, 0))}, 404, "unknown_product"),
        ({"original": "x", "duplicate": "1"}, 422, None),
    ]:
        r = api.client.post("/v1/tx/batch/challenge", json=body, headers=headers)
        assert r.status_code == status, r.text
        if code:
            assert r.json()["error"]["code"] == code
    r = api.client.post(
        "/v1/tx/batch/commit", json={"commitment": "0x" + "00" * 32, "count": 0}, headers=headers
    )
    assert r.status_code == 422
    assert (
        api.client.post(
            "/v1/tx/batch/finalize", json={"original": "1", "duplicate": "2"}
        ).status_code
        == 401
    )


# -- attestation requests through the marketplace -----------------------------------------------


def _request_body(esp: str, images) -> dict:
    return {
        "esp": esp,
        "items": [
            {
                "content_hash": "0x" + canonical_hash(img).hex(),
                "fingerprint": "0x" + _fp_bytes(img).hex(),
                "detail_hash": "0x" + keccak(detail_descriptor(img)).hex(),
            }
            for img in images
        ],
    }


@pytest.fixture
def delivered(api, tmp_path):
    """ESP A (answering batch requests) delivered two images to Bob."""
    world = api.world
    register_esp(world)
    esp = _party(api, world.esp, tmp_path, esp=True)
    esp.batches = True
    bob = _party(api, world.producer, tmp_path, esp=False)
    made = [_generate(api, esp, bob, p, s) for p, s in [("x", 1), ("y", 2)]]
    return esp, [img for _, img, _ in made]


def test_aigc_register_asks_the_esp_through_the_api_and_registers(
    api, delivered, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from aigc_cli.main import app

    world = api.world
    esp, images = delivered
    folder = tmp_path / "shots"
    folder.mkdir()
    for i, img in enumerate(images):
        img.save(folder / f"{i}.png")

    def market(_url, account):
        client = MarketClient(api.client, account)
        client.sign_in()
        return client

    def wait():  # meanwhile the ESP's worker and the indexer run their rounds
        esp.step()
        api.index()

    monkeypatch.setattr("aigc_cli.batch_cmds._market", market)
    monkeypatch.setattr("aigc_cli.batch_cmds._wait", wait)
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: world.deployment)
    args = ["register", "--batch", str(folder), "--dev-account", "1", "--api", "http://api"]
    result = CliRunner().invoke(app, [*args, "--esp", world.esp.address])
    assert result.exit_code == 0, result.output
    assert (
        "the ESP attested the batch" in result.output and "published the manifest" in result.output
    )
    manifest = json.loads((folder / "batch-manifest.json").read_text())
    out = api.client.get(f"/v1/batches/{manifest['batch_id']}").json()
    assert out["manifest_published"] is True and out["count"] == 2


def test_a_refused_request_names_the_rule(api, delivered):
    world = api.world
    esp, images = delivered
    bob = api.sign_in(world.producer)
    body = _request_body(world.esp.address, [images[0], _paint("never made", 9)[0]])
    r = api.client.post("/v1/batch-requests", json=body, headers=bob)
    assert r.status_code == 200, r.text
    assert esp.step() == [f"batch-refused {r.json()['id'][:10]}"]
    answer = api.client.get(f"/v1/batch-requests/{r.json()['id']}", headers=bob).json()
    assert answer["status"] == "refused" and answer["refusal"]["code"] == "not_generated"
    assert esp.step() == []  # answered once


def test_only_the_esp_answers_and_only_with_its_signature_over_the_requested_images(
    api, delivered, tmp_path
):
    world = api.world
    esp, images = delivered
    bob, eve = api.sign_in(world.producer), api.sign_in(world.buyer)
    esp_headers = api.sign_in(world.esp)
    # an ESP cannot be asked by itself
    body = _request_body(world.producer.address, images)
    own = api.client.post("/v1/batch-requests", json=body, headers=bob)
    assert own.status_code == 422 and own.json()["error"]["code"] == "self_request"
    body = _request_body(world.esp.address, images)
    rid = api.client.post("/v1/batch-requests", json=body, headers=bob).json()["id"]
    url = f"/v1/batch-requests/{rid}"
    # others do not see it
    assert api.client.get(url, headers=eve).status_code == 404
    registry = BatchRegistryClient(world.deployment)

    def attestation(items):
        """The ESP's signature over ``items``, from a copy of its records (its own untouched)."""
        copy = tmp_path / "esp-copy.json"
        copy.write_bytes(esp.state.path.read_bytes())
        other = EspWorker(
            esp.client, esp.htlc, make_image=_paint, fingerprint=_fp_bytes, state_path=copy,
            price=PRICE,
        )  # fmt: skip
        request = BatchRequest.from_json(
            {"producer": world.producer.address, **_request_body(world.esp.address, items)}
        )
        return other.attest_batch(request, contract=registry.address, max_batch=16).to_json()

    full, partial = attestation(images), attestation(images[:1])
    # the producer cannot answer its own request, nor Eve
    assert api.client.post(f"{url}/attestation", json=full, headers=bob).status_code == 403
    assert api.client.post(f"{url}/attestation", json=full, headers=eve).status_code == 404
    # the ESP's signature over other images than the requested ones; a forged signature
    forged = dict(full, signature="0x" + "11" * 65)
    for wrong in (partial, forged):
        r = api.client.post(f"{url}/attestation", json=wrong, headers=esp_headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_attestation"
        assert api.client.get(url, headers=bob).json()["status"] == "pending"
    ok = api.client.post(f"{url}/attestation", json=full, headers=esp_headers)
    assert ok.status_code == 200 and ok.json()["status"] == "attested"
    assert ok.json()["attestation"] == full
    # answered once
    again = api.client.post(f"{url}/attestation", json=full, headers=esp_headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "request_not_pending"
    refusal = {"code": "x", "message": "late"}
    r = api.client.post(f"{url}/refusal", json=refusal, headers=esp_headers)
    assert r.status_code == 409
    assert esp.step() == []


def test_a_revert_the_embedded_node_cannot_word_is_a_4xx_not_a_500(api):
    """py-evm's web3 provider reads any revert as Error(string): custom error data whose first
    word looks like a small offset (token id 40 here) overflowed it into a 500 (found by
    fuzzing the batch routes; contest now looks the duplicate up first, finalize does not)."""
    headers = api.sign_in(api.world.buyer)
    r = api.client.post(
        "/v1/tx/batch/finalize", json={"original": "40", "duplicate": "1"}, headers=headers
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"].startswith("Batch")  # the contract's own error, decoded
