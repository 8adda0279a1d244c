"""Red team 7: every route that reads or changes an account's data, tried by another signed-in
account and by an anonymous caller.

The private data of the brief: a task's prompt and its salt (its producer's, and its ESP's once
the fee lock is indexed), its sealed delivery and preview, a batch request and the ESP's
attestation, a trade (its locks, its secret), a listing's cancellation, the notifications. The
parties are the producer (Bob), the ESP and a buyer; the attacker is a fourth account that
signed in, and a caller with no token. Each private route answers the attacker 403 (or 404
where the id's existence is itself the private part: a batch request) and the anonymous caller
401; the attacker's own lists hold none of it; and no public route (every GET of the OpenAPI
document, with the real ids, anonymous and as the attacker) carries the prompt, its salt or a
notification's payload anywhere in its answer.

Found nothing to fix: each check passed on the code as it was (the table is the regression
guard of the access rules in marketplace_api/routers: load_task, _trade, _own_request,
cancel_listing, notifications' recipient filter).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from marketplace_api.models import Notification
from services.listing import Offer, sign_offer
from tests.api.test_batches import _request_body, delivered  # noqa: F401
from tests.api.test_products import _picture, _register_picture
from tests.contracts.helpers import past_reclaim

PROMPT = "SECRET-PROMPT-7 a lighthouse at dusk"
SALT = "0x" + "5a" * 32
NOTE = "SECRET-NOTE-7"


def _scene(api, delivered) -> dict[str, Any]:  # noqa: F811
    """A delivered task, a posted task with a known prompt, a pending batch request, a listing
    with a trade request, and a notification: each the producer's (and its ESP's or buyer's)."""
    world = api.world
    _, images = delivered
    bob, esp, buyer = (api.sign_in(a) for a in (world.producer, world.esp, world.buyer))
    delivered_task = api.client.get("/v1/tasks", headers=bob).json()["items"][0]
    r = api.client.post(
        "/v1/tasks",
        json={
            "prompt": PROMPT,
            "prompt_salt": SALT,
            "max_price": "10000000000000000",
            "esp": world.esp.address,
        },
        headers=bob,
    )
    assert r.status_code == 201, r.text
    posted = r.json()
    body = _request_body(world.esp.address, images)
    r = api.client.post("/v1/batch-requests", json=body, headers=bob)
    assert r.status_code == 200, r.text
    request = r.json()

    img = _picture(11)
    token = _register_picture(world, world.producer, img)
    api.index()
    past_reclaim(world)
    expiry = world.chain.timestamp() + 86400
    offer = Offer(int(token, 16), world.producer.address, 10**16, expiry, 1)
    signature = sign_offer(
        world.producer,
        offer,
        chain_id=world.chain.chain_id,
        registry=world.deployment.registry.address,
    )
    r = api.client.post(
        "/v1/listings",
        json={
            "token_id": str(offer.token_id),
            "price": str(offer.price),
            "expiry": offer.expiry,
            "nonce": "1",
            "signature": "0x" + signature.hex(),
        },
        headers=bob,
    )
    assert r.status_code == 201, r.text
    listing = r.json()
    r = api.client.post("/v1/trades", json={"listing_id": listing["id"]}, headers=buyer)
    assert r.status_code == 201, r.text
    trade = r.json()

    with Session(api.client.app.state.engine) as session:
        note = Notification(
            recipient=world.producer.address,
            kind="plagiarism_suspected",
            payload={"secret": NOTE},
            block_number=1,
        )
        session.add(note)
        session.commit()
        note_id = note.id
    return {
        "task": delivered_task["id"],
        "posted": posted["id"],
        "request": request["id"],
        "token": str(int(token, 16)),
        "listing": listing["id"],
        "trade": trade["id"],
        "note": note_id,
        "bob": bob,
        "esp": esp,
        "buyer": buyer,
    }


def _private_routes(s: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, url, request kwargs, the attacker's status) of each route on another's data."""
    task, posted, request = s["task"], s["posted"], s["request"]
    quote = {"price": "1", "hashlock": "0x" + "11" * 32, "deadline": 2**40}
    files = {
        "sealed": ("s", b"\x00" * 64, "application/octet-stream"),
        "preview": ("p.png", b"\x89PNG", "image/png"),
    }
    routes: list[tuple[str, str, dict[str, Any], int]] = []
    for t in (task, posted):
        routes += [
            ("GET", f"/v1/tasks/{t}", {}, 403),
            ("GET", f"/v1/tasks/{t}/sealed", {}, 403),
            ("GET", f"/v1/tasks/{t}/preview", {}, 403),
            ("GET", f"/v1/tasks/{t}/events", {}, 403),
            ("POST", f"/v1/tasks/{t}/quote", {"json": quote}, 403),
            ("POST", f"/v1/tasks/{t}/delivery", {"files": files, "data": {"meta": "{}"}}, 403),
            ("POST", f"/v1/tasks/{t}/refusal", {"json": {"code": "x", "message": "y"}}, 403),
            ("POST", f"/v1/tasks/{t}/fraud", {"json": {"key": "0x" + "22" * 32}}, 403),
        ]
    routes += [
        ("GET", f"/v1/batch-requests/{request}", {}, 404),
        (
            "POST",
            f"/v1/batch-requests/{request}/refusal",
            {"json": {"code": "x", "message": "y"}},
            404,
        ),
        ("GET", f"/v1/trades/{s['trade']}", {}, 403),
        ("POST", f"/v1/trades/{s['trade']}/payment-tx", {"json": {}}, 403),
        ("DELETE", f"/v1/listings/{s['listing']}", {}, 403),
    ]
    return routes


def test_another_account_and_an_anonymous_caller_get_none_of_it(api, delivered):  # noqa: F811
    s = _scene(api, delivered)
    attacker = api.sign_in(api.world.attacker)
    for method, url, kwargs, status in _private_routes(s):
        r = api.client.request(method, url, headers=attacker, **kwargs)
        assert r.status_code == status, (method, url, r.status_code, r.text)
        assert r.json()["error"]["code"] in ("forbidden", "unknown_batch_request"), r.text
        r = api.client.request(method, url, **kwargs)
        assert r.status_code == 401, (method, url, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthorized", r.text
    # nothing moved: the parties still see their data as it was
    bob = s["bob"]
    assert api.client.get(f"/v1/listings/{s['listing']}").json()["status"] == "open"
    assert api.client.get(f"/v1/trades/{s['trade']}", headers=bob).json()["status"] == "requested"
    got = api.client.get(f"/v1/batch-requests/{s['request']}", headers=bob).json()
    assert got["status"] == "pending"
    task = api.client.get(f"/v1/tasks/{s['task']}", headers=bob).json()
    assert task["refusal"] is None and task["fraud"] is None

    # the attacker's own lists hold none of the others' rows, whatever the filter or cursor
    for url in (
        "/v1/tasks?role=producer",
        "/v1/tasks?role=esp",
        "/v1/tasks?status=posted,delivered,claimed",
        "/v1/batch-requests?role=producer",
        "/v1/batch-requests?role=esp",
        "/v1/me/trades",
        "/v1/notifications",
        "/v1/notifications?after=0",
        f"/v1/notifications?before={s['note'] + 1}",
    ):
        r = api.client.get(url, headers=attacker)
        assert r.status_code == 200, (url, r.text)
        assert r.json()["items"] == [], (url, r.text)


def test_no_public_answer_carries_a_prompt_a_salt_or_a_note(api, delivered):  # noqa: F811
    """Every GET of the document, with the scene's real ids in its path, anonymous, as the
    attacker and as the ESP (a party of the task, but its fee is not locked: the ESP sees the
    prompt's commitment only): the posted task's prompt and salt and the producer's note
    appear nowhere."""
    s = _scene(api, delivered)
    world = api.world
    attacker = api.sign_in(world.attacker)
    ids = {
        "task_id": s["posted"],
        "request_id": s["request"],
        "token_id": s["token"],
        "listing_id": str(s["listing"]),
        "trade_id": str(s["trade"]),
        "address": world.esp.address,
        "batch_id": "1",
        "index": "0",
        "content_hash": "0x" + int(s["token"]).to_bytes(32, "big").hex(),
        "tx_hash": "0x" + "11" * 32,
    }
    secrets = (PROMPT, SALT[2:], NOTE)
    doc = api.client.app.openapi()
    checked = 0
    for path, item in doc["paths"].items():
        if "get" not in item or path.endswith("/events"):
            continue  # the task's stream is a private route above (403 / 401)
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], path)
        for headers in ({}, attacker, s["esp"]):
            for extra in ("", "?role=esp", f"?esp={world.esp.address}"):
                r = api.client.get(url + extra, headers=headers)
                assert r.status_code < 500, (url, r.text)
                body = r.content.decode("latin-1").lower()
                leaked = [x for x in secrets if x.lower() in body]
                assert not leaked, (url + extra, bool(headers), leaked, r.text[:300])
                checked += 1
    assert checked > 250
    # the parties do see them: the check above looks for the right strings
    assert api.client.get(f"/v1/tasks/{s['posted']}", headers=s["bob"]).json()["prompt"] == PROMPT
    notes = api.client.get("/v1/notifications", headers=s["bob"]).json()["items"]
    assert [n["secret"] for n in notes if "secret" in n] == [NOTE]
