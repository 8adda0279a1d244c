"""Red team 3: batch attestation requests cannot be used to fill the store or busy an ESP.

``POST /v1/batch-requests`` asks an ESP to attest images it delivered to the caller. It took
any signed-in account (addresses are free) and up to 4,096 items a request, with no rate
limit: only 16 could be *pending* per producer, and the ESP's worker answers (refuses) them
within a round, so the same account could post 16 more each round, each stored for good
(measured: an account with no task stored 48 requests of 4,096 items, 1.06 MB of JSON each,
in three rounds of its ESP's worker, which spent about 2 s a round reading and refusing them). Now a
request names at most as many images as the caller's tasks the ESP delivered through this API
(409 ``not_delivered``; the worker can attest nothing else: its records are those tasks), and
each signed-in address posts at most ``rate_batch_requests_per_minute`` (10) a minute (429).
"""

from __future__ import annotations

import secrets

from services.market_client import MarketClient
from tests.api.test_generation_flow import _claimed, _worker
from tests.api.test_redteam3_reclaim_hold import _session
from tests.contracts.helpers import register_esp


def _items(n: int) -> list[dict[str, str]]:
    return [
        {
            "content_hash": "0x" + secrets.token_hex(32),
            "fingerprint": "0x" + secrets.token_hex(32),
            "detail_hash": "0x" + secrets.token_hex(32),
        }
        for _ in range(n)
    ]


def test_an_account_the_esp_delivered_nothing_to_stores_no_request(api, tmp_path):
    world = api.world
    register_esp(world)
    client = MarketClient(api.client, world.esp)
    client.sign_in()
    worker = _worker(world, client, world.esp, tmp_path / "esp-state.json")
    worker.batches = True
    eve = api.sign_in(world.attacker)
    body = {"esp": world.esp.address, "items": _items(4096)}
    r = api.client.post("/v1/batch-requests", json=body, headers=eve)
    assert r.status_code == 409, r.text  # failed before: 200, stored (then refused by the ESP)
    assert r.json()["error"]["code"] == "not_delivered"
    esp = api.sign_in(world.esp)
    assert api.client.get("/v1/batch-requests?role=esp", headers=esp).json()["items"] == []
    assert worker.step() == []


def test_a_producer_asks_for_as_many_images_as_were_delivered_to_it_and_at_a_bounded_rate(
    api, tmp_path
):
    world = api.world
    register_esp(world)
    client = MarketClient(api.client, world.esp)
    client.sign_in()
    worker = _worker(world, client, world.esp, tmp_path / "esp-state.json")
    producer = _session(api, world.producer)
    _claimed(api, worker, producer, "one delivered image", seed=1)
    bob = api.sign_in(world.producer)
    two = {"esp": world.esp.address, "items": _items(2)}
    r = api.client.post("/v1/batch-requests", json=two, headers=bob)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_delivered"
    one = {"esp": world.esp.address, "items": _items(1)}
    codes = [
        api.client.post("/v1/batch-requests", json=one, headers=bob).status_code for _ in range(10)
    ]
    # the first request above counts too: 10 a minute (failed before: 11 stored, no 429)
    assert codes == [200] * 9 + [429]
