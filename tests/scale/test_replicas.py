"""Two API replicas with separate blob folders and one database serve the same products,
sign-ins, images and rate limits (issue 17): nothing a request needs lives in one process."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from marketplace_api.config import ApiSettings
from marketplace_api.errors import RateLimited
from marketplace_api.indexing import ChainFollower
from marketplace_api.main import create_app
from marketplace_api.ratelimit import RateLimiter
from services.storage import BlobNotFound, DbBlobStore, InvalidBlobId
from tests.api.conftest import Api, sign, siwe_text
from tests.api.test_products import _picture, _png, _register_picture
from tests.contracts.helpers import register_esp


@pytest.fixture
def replicas(embedded_world, tmp_path, database_url):
    """Replicas "a" and "b": one database, each its own blob folder, no background threads
    (the test steps each replica's follower itself)."""
    apps, clients = [], []
    for name in ("a", "b"):
        settings = ApiSettings(
            database_url=database_url,
            blob_dir=tmp_path / f"blobs-{name}",
            blob_store="db",
            indexer_interval_s=0,
            follow_interval_s=0,
            rate_nonce_per_minute=1000,
            rate_upload_per_minute=3,
        )
        app = create_app(settings, embedded_world.deployment)
        apps.append(app)
        clients.append(TestClient(app).__enter__())
    yield [Api(c, embedded_world) for c in clients]
    for client, app in zip(clients, apps, strict=True):
        client.__exit__(None, None, None)
        app.state.engine.dispose()


def test_sign_in_on_one_replica_works_on_the_other(replicas):
    a, b = replicas
    world = a.world
    nonce = a.nonce()  # issued by a ...
    text = siwe_text(world.producer, nonce=nonce, chain_id=a.chain_id)
    r = b.client.post(  # ... consumed by b
        "/v1/auth/verify", json={"message": text, "signature": sign(world.producer, text)}
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    for replica in (a, b):  # one token secret: b's token is good on a
        me = replica.client.get("/v1/auth/me", headers=headers)
        assert me.status_code == 200 and me.json()["address"] == world.producer.address
    replay = a.client.post(  # the nonce is spent for every replica
        "/v1/auth/verify", json={"message": text, "signature": sign(world.producer, text)}
    )
    assert replay.status_code == 401


def test_products_images_and_search_across_replicas(replicas, tmp_path):
    a, b = replicas
    world = a.world
    register_esp(world)
    img = _picture()
    token = _register_picture(world, world.producer, img)
    follower_b = ChainFollower(b.client.app.state.market, index=False)
    assert a.index() > 0  # replica a indexes ...
    got = b.client.get(f"/v1/products/{token}")  # ... replica b serves the product
    assert got.status_code == 200 and got.json()["has_image"] is False
    search = {"image": ("q.png", _png(img), "image/png")}
    assert b.client.post("/v1/search/similar", files=search).json()["matches"] == []
    assert follower_b.step().reloaded  # b re-reads the near-duplicate index
    matches = b.client.post("/v1/search/similar", files=search).json()["matches"]
    assert [m["token_id"] for m in matches] == [str(int(token, 16))]

    headers = a.sign_in(world.producer)
    r = a.client.put(
        f"/v1/products/{token}/image",
        files={"image": ("x.png", _png(img), "image/png")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    image = b.client.get(f"/v1/products/{token}/image")  # uploaded to a, served by b
    assert (
        image.status_code == 200
        and image.content == a.client.get(f"/v1/products/{token}/image").content
    )
    assert Image.open(__import__("io").BytesIO(image.content)).size == img.size
    assert not any(
        (tmp_path / d).rglob("*") for d in ("blobs-a", "blobs-b") if (tmp_path / d).exists()
    )
    follower_b.step()  # a's upload invalidated b's rendered product
    assert b.client.get(f"/v1/products/{token}").json()["has_image"] is True


def test_rate_limit_is_one_bucket_across_replicas(replicas):
    a, b = replicas
    img = {"image": ("q.png", _png(_picture(7)), "image/png")}
    codes = [c.client.post("/v1/search/similar", files=img).status_code for c in (a, b, a, b)]
    assert codes == [200, 200, 200, 429]


def test_concurrent_hits_never_exceed_the_limit(replicas):
    """Eight threads on two replicas' limiters race for 5 slots: exactly 5 succeed."""
    limiters = [r.client.app.state.limiter for r in replicas]
    allowed, refused = [], []

    def worker(limiter: RateLimiter) -> None:
        for _ in range(4):
            try:
                limiter.hit("race", "client-1", limit=5, window_s=3600)
                allowed.append(1)
            except RateLimited:
                refused.append(1)

    threads = [threading.Thread(target=worker, args=(limiters[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 5 and len(refused) == 27


def test_gcra_refills_one_slot_per_interval(replicas):
    engine = replicas[0].client.app.state.engine
    now = [1000.0]
    limiter = RateLimiter(engine, clock=lambda: now[0])
    for _ in range(3):
        limiter.hit("g", "k", limit=3, window_s=60)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("g", "k", limit=3, window_s=60)
    assert refused.value.headers["Retry-After"] == "20"  # one slot per 60/3 s
    now[0] += 19
    with pytest.raises(RateLimited):
        limiter.hit("g", "k", limit=3, window_s=60)
    now[0] += 1
    limiter.hit("g", "k", limit=3, window_s=60)  # the slot freed on time
    with pytest.raises(RateLimited):
        limiter.hit("g", "k", limit=3, window_s=60)


def test_token_secret_is_created_once_and_survives_restarts(replicas, embedded_world, tmp_path):
    a, b = replicas
    secret = a.client.app.state.settings.token_secret.get_secret_value()
    assert secret == b.client.app.state.settings.token_secret.get_secret_value()
    url = a.client.app.state.settings.database_url
    again = create_app(
        ApiSettings(database_url=url, blob_dir=tmp_path / "c", follow_interval_s=0),
        embedded_world.deployment,
    )
    assert again.state.settings.token_secret.get_secret_value() == secret
    configured = create_app(
        ApiSettings(database_url=url, blob_dir=tmp_path / "c", token_secret="x" * 32),
        embedded_world.deployment,
    )
    assert configured.state.settings.token_secret.get_secret_value() == "x" * 32
    again.state.engine.dispose()
    configured.state.engine.dispose()


def test_database_blob_store(replicas):
    store = DbBlobStore(replicas[0].client.app.state.engine)
    blob = store.put(b"sealed bytes")
    assert store.put(b"sealed bytes") == blob  # content-addressed, written once
    assert store.get(blob) == b"sealed bytes" and blob in store
    assert DbBlobStore(replicas[1].client.app.state.engine).get(blob) == b"sealed bytes"
    with pytest.raises(BlobNotFound):
        store.get("0" * 64)
    with pytest.raises(InvalidBlobId):
        store.get("../../etc/passwd")
    assert "../x" not in store and 5 not in store and "0" * 64 not in store
