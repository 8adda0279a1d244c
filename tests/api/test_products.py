"""Products, history, images, similar-image search and the plagiarism watch, over REST."""

from __future__ import annotations

import contextlib
import io
import struct
import threading
import zlib
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image, ImageOps

from ledger import Registration
from services.content import canonical_hash
from services.provenance import fingerprint
from services.provenance.detail import detail_descriptor
from tests.contracts.helpers import (
    BASE_FP,
    NEAR_FP,
    challenge_and_finalize,
    details,
    paid_lock,
    past_reclaim,
    register_esp,
    register_image,
)


def _picture(seed: int = 3, size: int = 128) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)


def _png(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _register_picture(world, owner, img: Image.Image) -> str:
    """Registers ``img`` for ``owner`` with a paid generation lock to the ESP."""
    lock = paid_lock(world, owner, world.esp)
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(img).to_bytes32(),
        detail=detail_descriptor(img),
        owner=owner.address,
        esp=world.esp.address,
        task_id=lock.id,
        model_id=b"\x02" * 32,
        seed=1,
    )
    client = world.registry(owner)
    client.commit(reg)
    client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    return "0x" + reg.content_hash.hex()


def test_registered_products_appear_with_history_and_the_watch_notifies(api):
    world = api.world
    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    api.index()
    listing = api.client.get("/v1/products").json()["items"]
    assert {p["token_id"] for p in listing} == {str(original), str(copy)}  # decimal strings
    headers = api.sign_in(world.producer)
    notes = api.client.get("/v1/notifications", headers=headers).json()["items"]
    assert len(notes) == 1 and notes[0]["kind"] == "plagiarism_suspected"
    prepared = notes[0]["prepared_challenge"]
    assert prepared["body"] == {"original": str(original), "duplicate": str(copy)}
    r = api.client.post(prepared["endpoint"], json=prepared["body"], headers=headers)
    assert r.status_code == 200, r.text  # the ready-to-sign challenge estimates fine
    assert challenge_and_finalize(world, world.producer, original, copy)  # uncontested
    api.index()
    accused = api.client.get("/v1/notifications", headers=api.sign_in(world.attacker)).json()
    assert "challenge_opened" in [n["kind"] for n in accused["items"]]  # it could have contested
    detail = api.client.get(f"/v1/products/0x{copy:064x}").json()  # 0x-hex accepted on input
    assert detail == api.client.get(f"/v1/products/{copy}").json()  # and decimal, the same
    assert detail["token_id"] == str(copy) and detail["status"] == "revoked"
    assert detail["history"][1]["original"] == str(original)
    assert [h["kind"] for h in detail["history"]] == [
        "registered",
        "challenged",
        "decided",
        "revoked",
    ]
    challenges = api.client.get("/v1/challenges").json()["items"]
    assert len(challenges) == 1 and challenges[0]["duplicate"] == str(copy)
    assert challenges[0]["challenger"] == world.producer.address
    assert api.client.get("/v1/products", params={"status": "revoked"}).json()["items"][0][
        "token_id"
    ] == str(copy)


def test_transfers_move_the_owner(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)  # a fresh token does not move (RegistryTokenReclaimable)
    api.index()
    before = api.client.get(f"/v1/products/0x{token:064x}").json()  # now in the read cache
    assert before["owner"] == world.producer.address
    world.registry(world.producer).transfer(world.buyer.address, token)
    api.index()  # new events clear the cache
    detail = api.client.get(f"/v1/products/0x{token:064x}").json()
    assert detail["owner"] == world.buyer.address and detail["producer"] == world.producer.address
    assert detail["history"][-1]["kind"] == "transferred"


def test_image_upload_checked_against_the_chain_and_similar_search(api):
    world = api.world
    register_esp(world)
    img = _picture()
    token = _register_picture(world, world.producer, img)
    api.index()
    headers = api.sign_in(world.producer)
    files = {"image": ("x.png", _png(img), "image/png")}
    r = api.client.put(f"/v1/products/{token}/image", files=files, headers=headers)
    assert r.status_code == 200, r.text
    got = api.client.get(f"/v1/products/{token}/image")
    assert got.headers["content-type"] == "image/png"
    assert canonical_hash(Image.open(io.BytesIO(got.content))) == bytes.fromhex(token[2:])
    edited = ImageOps.mirror(img)
    r = api.client.post(
        "/v1/search/similar", files={"image": ("e.jpg", _png(edited, "JPEG"), "image/jpeg")}
    )
    assert r.status_code == 200, r.text
    assert [m["token_id"] for m in r.json()["matches"]] == [str(int(token, 16))]
    other = api.client.post(
        "/v1/search/similar", files={"image": ("o.png", _png(_picture(99)), "image/png")}
    )
    assert other.json()["matches"] == []


def test_image_upload_guards(api):
    world = api.world
    register_esp(world)
    img = _picture()
    token = _register_picture(world, world.producer, img)
    api.index()
    owner = api.sign_in(world.producer)
    stranger = api.sign_in(world.buyer)
    url = f"/v1/products/{token}/image"

    def put(data, ctype="image/png", headers=owner):
        return api.client.put(url, files={"image": ("f", data, ctype)}, headers=headers)

    # anyone signed in may attach a token's own bytes (they hash to it), nobody other bytes
    stranger_other = put(_png(_picture(5)), headers=stranger)
    assert stranger_other.status_code == 422
    assert stranger_other.json()["error"]["code"] == "hash_mismatch"
    assert put(_png(_picture(5))).json()["error"]["code"] == "hash_mismatch"
    junk = put(b"not an image at all")
    assert junk.status_code == 415
    assert "BytesIO" not in junk.json()["error"]["message"]  # no server internals in the message
    assert put(_png(img), ctype="image/jpeg").status_code == 415  # spoofed type
    assert put(_bomb_png()).status_code == 413
    assert api.client.put(url, files={"image": ("f", _png(img), "image/png")}).status_code == 401
    assert put(_png(img), headers=stranger).status_code == 200  # the token's own bytes
    assert api.client.get("/v1/products/0x" + "ab" * 32).status_code == 404
    assert api.client.get("/v1/products/..%2F..%2Fetc%2Fpasswd").status_code in (404, 422)
    assert api.client.get("/v1/products/0xZZ").status_code in (404, 422)


def test_oversized_upload_is_refused_before_buffering(api):
    limit = api.client.app.state.settings.max_upload_bytes
    r = api.client.post(
        "/v1/search/similar", files={"image": ("big.png", b"\0" * (limit + 1), "image/png")}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_degenerate_search_image_is_a_clear_422(api):
    flat = Image.new("RGB", (128, 128), (10, 20, 30))
    r = api.client.post("/v1/search/similar", files={"image": ("f.png", _png(flat), "image/png")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "degenerate_image"


def _bomb_png(side: int = 100_000) -> bytes:
    """A tiny PNG whose header claims side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("path", ["/v1/products", "/v1/notifications"])
def test_listing_endpoints_answer_json(api, path):
    headers = api.sign_in(api.world.producer)
    assert api.client.get(path, headers=headers).status_code == 200


def test_chunked_upload_without_length_is_cut_off_at_the_limit(api):
    limit = api.client.app.state.settings.max_upload_bytes

    def body():  # a well-formed multipart start, then more file bytes than the limit
        yield (
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            b"Content-Type: image/png\r\n\r\n"
        )
        chunk = b"\1" * 65536
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    r = api.client.post(
        "/v1/search/similar",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_products_filter_by_producer_and_esp(api):
    """Producer and ESP filters, alone, combined with each other and with the owner, in any
    address case; a malformed address is a 422, not an empty page."""
    world = api.world
    register_esp(world)
    register_esp(world, world.buyer)  # a second ESP
    mine = register_image(world, world.producer)
    mine_b = register_image(world, world.producer, esp=world.buyer)
    theirs = register_image(world, world.attacker, esp=world.buyer)
    api.index()

    def ids(**params):
        r = api.client.get("/v1/products", params=params)
        assert r.status_code == 200, r.text
        return [int(p["token_id"]) for p in r.json()["items"]]

    assert ids(producer=world.producer.address) == [mine_b, mine]  # newest first
    assert ids(producer=world.producer.address.lower()) == [mine_b, mine]
    assert ids(esp=world.buyer.address) == [theirs, mine_b]
    assert ids(esp=world.esp.address.upper().replace("0X", "0x")) == [mine]
    assert ids(producer=world.producer.address, esp=world.buyer.address) == [mine_b]
    assert ids(producer=world.attacker.address, owner=world.producer.address) == []
    assert ids(esp=world.producer.address) == []
    for bad in ("0x123", "producer", "0x" + "g" * 40, "' OR 1=1 --"):
        r = api.client.get("/v1/products", params={"producer": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
        assert api.client.get("/v1/products", params={"esp": bad}).status_code == 422


def insert_products(engine, count: int, *, producers: list[str], esps: list[str]) -> None:
    """``count`` products straight into the table (token ids 1..count, the newest last), product
    i by producer ``i % len(producers)`` and ESP ``i % len(esps)``, every tenth revoked."""
    from sqlalchemy import insert

    from marketplace_api.models import Product

    rows = [
        {
            "token_id": f"0x{i + 1:064x}",
            "fingerprint": f"0x{i * 7919 + 1:064x}",
            "producer": producers[i % len(producers)],
            "owner": producers[i % len(producers)],
            "esp": esps[i % len(esps)],
            "task_id": f"0x{i:064x}",
            "model_id": "0x" + "02" * 32,
            "seed": "1",
            "registered_block": i + 1,
            "priority_block": i + 1,
            "commit_block": i,
            "status": "active" if i % 10 else "revoked",
            "metadata_uri": "",
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Product), rows)


@contextlib.contextmanager
def selects_of_requests(engine) -> Iterator[list[str]]:
    """The SELECT statements run on ``engine`` inside the block, by requests only: the app's
    background chain follower (thread "indexer") polls every second and may land in the window."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if threading.current_thread().name != "indexer" and statement.lstrip().upper().startswith(
            "SELECT"
        ):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_filtered_first_page_over_ten_thousand_products_is_one_select(api):
    """Every filter is a WHERE on an indexed column of the page's single SELECT: no query per
    product and no COUNT, however many products there are."""
    producers = ["0x" + f"{k:02x}" * 20 for k in (0x11, 0x12, 0x13)]
    esps = ["0x" + f"{k:02x}" * 20 for k in (0x31, 0x32)]
    engine = api.client.app.state.engine
    insert_products(engine, 10_000, producers=producers, esps=esps)
    with selects_of_requests(engine) as selects:
        r = api.client.get(
            "/v1/products",
            params={"producer": producers[1], "esp": esps[0], "status": "active", "limit": 24},
        )
    items = r.json()["items"]
    assert len(items) == 24
    # i % 3 == 1 and i % 2 == 0 and i % 10 != 0: the newest is i = 9994, token 9995.
    assert items[0]["token_id"] == "9995"
    assert {(p["producer"], p["esp"], p["status"]) for p in items} == {
        (producers[1], esps[0], "active")
    }
    assert len(selects) == 1, selects
