"""The dashboards' read routes: a signed-in account's trades, and an ESP's record (tasks,
revenue, refunds, challenges, reputation over time replayed from the chain's feedback)."""

from __future__ import annotations

from sqlalchemy import insert

from marketplace_api.models import Task
from services.market_client import MarketClient
from tests.api._trading import start_trade
from tests.api.test_esps import _pay
from tests.contracts.helpers import (
    BASE_FP,
    NEAR_FP,
    challenge_and_finalize,
    copier_esp,
    details,
    register_esp,
    register_image,
)


def test_my_trades_are_the_callers_own_as_seller_or_buyer(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    api.index()
    _, trade, _ = start_trade(api, world.producer, world.buyer, token)
    assert api.client.get("/v1/me/trades").status_code == 401
    for who, expected in ((world.producer, [trade["id"]]), (world.buyer, [trade["id"]])):
        items = MarketClient(api.client, who).get("/v1/me/trades")["items"]
        assert [t["id"] for t in items] == expected
        assert items[0]["status"] == "requested" and items[0]["token_id"] == str(token)
    assert MarketClient(api.client, world.attacker).get("/v1/me/trades")["items"] == []
    r = api.client.get("/v1/me/trades", params={"limit": 0}, headers=api.sign_in(world.buyer))
    assert r.status_code == 422


def _task(i: int, esp: str, producer: str, status: str, price: int | None) -> dict:
    return {
        "id": f"0x{i:064x}",
        "producer": producer,
        "esp": esp,
        "prompt": "secret prompt",
        "seed": 0,
        "max_price": "1000",
        "status": status,
        "price": None if price is None else str(price),
        "created_block": i,
    }


def test_esp_dashboard_counts_revenue_refunds_challenges_and_replays_reputation(api):
    world = api.world
    esp = register_esp(world)
    for deliver in (True, True, True, False):  # three settled and rated, then one refunded
        _pay(world, world.producer, esp, deliver=deliver)
    # The original comes from another ESP; this ESP attests the attacker's copy (one ESP attesting
    # both would be an equivocation, which revokes nothing).
    original = register_image(world, world.producer, esp=copier_esp(world), fingerprint=BASE_FP)
    copy = register_image(
        world, world.attacker, esp=esp, fingerprint=NEAR_FP, detail=details()["near"]
    )
    challenge_and_finalize(world, world.producer, original, copy)
    api.index()
    p, e = world.producer.address, esp.address
    rows = [
        _task(1, e, p, "claimed", 100),
        _task(2, e, p, "registered", 200),
        _task(3, e, p, "refunded", 50),
        _task(4, e, p, "posted", None),
        _task(5, world.buyer.address, p, "claimed", 10_000),  # another ESP's
    ]
    with api.client.app.state.engine.begin() as conn:
        conn.execute(insert(Task), rows)

    r = api.client.get(f"/v1/esps/{e.lower()}/dashboard")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["address"] == e and d["active"] is True
    assert d["tasks"] == {"claimed": 1, "registered": 1, "refunded": 1, "posted": 1}
    assert (d["revenue"], d["refunded"], d["refunded_value"]) == ("300", 1, "50")
    assert d["fraud_proven"] == 0
    assert "secret prompt" not in r.text  # prompts stay the producer's and the ESP's
    assert [t["id"] for t in d["recent_tasks"]] == [f"0x{i:064x}" for i in (4, 3, 2, 1)]
    assert (d["products"], d["revoked"]) == (1, 1)
    (challenge,) = d["challenges"]
    assert challenge["token_id"] == str(copy) and challenge["original"] == str(original)
    history = api.client.get(f"/v1/products/{copy}").json()["history"]
    decided = next(h for h in history if h["kind"] == "decided")
    assert challenge["verdict"] == decided["verdict"]

    # Reputation is always someone's view (the ranking's rule): anonymously, a lone producer's
    # record recommends nothing (the Sybil-resistant weighting), so the line stays at 0.5 ...
    assert d["viewer"] == "anonymous"
    assert [pt["positive"] for pt in d["reputation"]] == [True, True, True, False]
    # ... while the producer who paid sees its own evidence: up three times, then a refund costs.
    headers = api.sign_in(world.producer)
    mine = api.client.get(f"/v1/esps/{e}/dashboard", headers=headers).json()
    assert mine["viewer"] == p
    points = mine["reputation"]
    assert [pt["positive"] for pt in points] == [True, True, True, False]
    reps = [pt["reputation"] for pt in points]
    assert reps[0] < reps[1] < reps[2] and reps[3] < reps[2]
    assert [pt["block"] for pt in points] == sorted(pt["block"] for pt in points)
    for viewer, body in ((None, d), (headers, mine)):  # "now" is the ranking's own number
        ranking = api.client.get("/v1/esps", headers=viewer).json()["items"]
        assert body["reputation_now"] == next(x["reputation"] for x in ranking if x["address"] == e)
    # The replayed series is cached until the indexer ingests events: new feedback shows.
    again = api.client.get(f"/v1/esps/{e}/dashboard", headers=headers).json()
    assert again["reputation"] == points
    _pay(world, world.producer, esp, deliver=True)
    api.index()
    later = api.client.get(f"/v1/esps/{e}/dashboard", headers=headers).json()["reputation"]
    assert [pt["positive"] for pt in later] == [True, True, True, False, True]
    assert later[:4] == points


def test_esp_dashboard_of_an_unknown_or_malformed_address(api):
    assert api.client.get(f"/v1/esps/0x{'ab' * 20}/dashboard").json()["error"]["code"] == (
        "not_found"
    )
    for bad in ("0x123", "esp", "0x" + "zz" * 20):
        r = api.client.get(f"/v1/esps/{bad}/dashboard")
        assert r.status_code == 422, (bad, r.status_code)
        assert r.json()["error"]["code"] == "validation_error"
