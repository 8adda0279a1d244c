"""Red team 4 follow-ups on the API: the prompt released only once the fee lock is safe (by
chain), the indexer's in-memory reputation after a failed commit, a JSON integer too long for
Python, and a notification payload that names the route's own fields."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from marketplace_api.config import ApiSettings, prompt_release_depth
from marketplace_api.models import Notification
from services.generation import latest_quote_deadline
from services.market_client import MarketClient
from tests.api.conftest import api  # noqa: F401 (the API fixture, shared)
from tests.api.test_generation_flow import _claimed, _worker
from tests.api.test_prompt_after_lock import parties  # noqa: F401 (the worker fixture)
from tests.api.test_redteam3_reputation import _session
from tests.contracts.helpers import register_esp
from tests.js.test_redteam4_prompt_release import (  # noqa: F401 (the producer fixture)
    PRICE,
    PROMPT_A,
    _quote,
    _window,
    producer,
)


def _locked_task(api, producer, *, seed: int) -> tuple[MarketClient, dict]:  # noqa: F811
    world = api.world
    esp = MarketClient(api.client, world.esp)
    task = producer.post(PROMPT_A, seed=seed, max_price=2 * PRICE)
    latest = latest_quote_deadline(world.chain.timestamp(), window_blocks=_window(world))
    hashlock = hashlib.sha256(secrets.token_bytes(32)).digest()
    _quote(world, esp, task, hashlock=hashlock, price=PRICE, deadline=latest)
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    return esp, task


# -- 1. the prompt is released once the fee lock is deep enough --------------------------------


@pytest.mark.parametrize(
    ("configured", "chain_id", "embedded", "depth"),
    [
        (None, 131277322940537, True, 0),  # the embedded chain
        (None, 31337, False, 0),  # anvil / hardhat
        (None, 1337, False, 0),  # ganache, geth --dev
        (None, 11155111, False, 2),  # Sepolia: any chain that is not a local dev chain
        (None, 1, False, 2),
        (0, 11155111, False, 0),  # AIGC_PROMPT_RELEASE_DEPTH wins either way
        (5, 31337, False, 5),
    ],
)
def test_the_release_depth_is_chain_aware(configured, chain_id, embedded, depth):
    settings = ApiSettings(prompt_release_depth=configured)
    assert prompt_release_depth(settings, chain_id=chain_id, embedded=embedded) == depth


def test_a_negative_release_depth_is_refused():
    with pytest.raises(ValueError, match="prompt_release_depth"):
        ApiSettings(prompt_release_depth=-1)


def test_on_a_dev_chain_the_prompt_is_released_at_once(api, producer):  # noqa: F811
    """The demo flow: the embedded chain mines a block per transaction only, so a depth > 0
    would stall every generation there."""
    assert api.client.app.state.market.prompt_release.depth == 0
    esp, task = _locked_task(api, producer, seed=11)
    seen = esp.get(f"/v1/tasks/{task['id']}")
    assert seen["status"] == "locked" and seen["prompt"] == PROMPT_A
    assert seen["prompt_salt"] is not None


def test_on_a_real_chain_the_prompt_waits_for_the_depth(api, producer):  # noqa: F811
    market = api.client.app.state.market
    market.prompt_release = dataclasses.replace(market.prompt_release, depth=2)
    esp, task = _locked_task(api, producer, seed=12)
    path = f"/v1/tasks/{task['id']}"
    seen = esp.get(path)
    assert (seen["status"], seen["prompt"], seen["prompt_salt"]) == ("locked", None, None)
    assert MarketClient(api.client, api.world.producer).get(path)["prompt"] == PROMPT_A
    (locked_at,) = [e.block_number for e in market.indexer.events("Locked")]
    while market.indexer.checkpoint()[0] - locked_at < 2:  # what the indexer has seen on top
        assert esp.get(path)["prompt"] is None
        assert all(t["prompt"] is None for t in esp.get("/v1/tasks", role="esp")["items"])
        api.world.chain.mine(1)
        api.index()
    seen = esp.get(path)
    assert seen["prompt"] == PROMPT_A and seen["prompt_salt"] is not None
    assert [t["prompt"] for t in esp.get("/v1/tasks", role="esp")["items"]] == [PROMPT_A]


def test_the_esp_worker_waits_for_the_release(api, parties):  # noqa: F811
    """A locked task whose prompt is not yet released is left for a later round (before, the
    worker declined it: prompt_mismatch, 'the prompt has not been released')."""
    worker, producer_session, painter = parties
    market = api.client.app.state.market
    market.prompt_release = dataclasses.replace(market.prompt_release, depth=2)
    task = producer_session.post(PROMPT_A, seed=13, max_price=2 * PRICE)
    assert worker.step() == [f"quoted {task['id'][:10]}"]
    producer_session.lock_fee(producer_session.task(task["id"]))
    api.index()
    (locked_at,) = [e.block_number for e in market.indexer.events("Locked")]
    while market.indexer.checkpoint()[0] - locked_at < 2:
        assert worker.step() == [] and painter.prompts == []
        assert worker.state.tasks[task["id"]]["stage"] != "declined"
        api.world.chain.mine(1)
        api.index()
    assert worker.step() == [f"delivered {task['id'][:10]}"] and painter.prompts == [PROMPT_A]


# -- 2. a failed indexer commit does not feed the in-memory reputation twice -------------------


def _opinion(market, payer: str, esp: str, now: int) -> tuple[float, float, float]:
    o = market.reputation.local_opinion(payer, esp, now=now)
    return (o.belief, o.disbelief, o.uncertainty)


@pytest.mark.parametrize("reload_fails", [False, True], ids=["reloaded", "reload-failed-too"])
def test_a_failed_index_commit_does_not_count_feedback_twice(
    api,  # noqa: F811
    tmp_path,
    monkeypatch,
    reload_fails,
):
    """The indexer feeds its projections inside its database transaction: when that commit
    failed, the rows had already been recorded by the in-memory reputation engine (and the
    near-duplicate index) and the retry fed them again. Failed before: the ESP's local opinion
    after the retry was the one of two positive interactions, a rebuild's of one."""
    world = api.world
    register_esp(world)
    esp_client = MarketClient(api.client, world.esp)
    esp_client.sign_in()
    worker = _worker(world, esp_client, world.esp, tmp_path / "esp-state.json")
    honest = _session(api, world.producer)
    _, done = _claimed(api, worker, honest, "a task with feedback", seed=21)
    honest.feedback(done, positive=True)
    market = api.client.app.state.market
    failures = [OperationalError("COMMIT", {}, Exception("disk I/O error"))]

    def fail_once(_session) -> None:
        if failures:
            raise failures.pop()

    if reload_fails:  # the database still down when the failed poll rebuilds: the next one does
        load = market.catalog.load
        loads = [OperationalError("SELECT", {}, Exception("connection refused"))]

        def load_once(session) -> None:
            if loads:
                raise loads.pop()
            load(session)

        monkeypatch.setattr(market.catalog, "load", load_once)
    event.listen(Session, "before_commit", fail_once)
    try:
        with pytest.raises(OperationalError):
            api.index()
    finally:
        event.remove(Session, "before_commit", fail_once)
    assert api.index() > 0  # the retry ingests the rows the failed commit lost
    now = world.chain.timestamp()
    payer, esp = world.producer.address, world.esp.address
    fed = _opinion(market, payer, esp, now)
    market.reload()  # what the database holds
    assert fed == _opinion(market, payer, esp, now)
    assert market.reputation.local_opinion(payer, esp, now=now).belief > 0


# -- 3. a JSON number too long for Python's int is a 422 with a stable code --------------------


@pytest.mark.parametrize("digits", [4301, 5000, 100_000])
def test_a_json_integer_past_pythons_digit_limit_is_422(api, digits):  # noqa: F811
    """Python refuses to convert a string of more than 4,300 digits to an int (a ValueError
    that is no JSONDecodeError): FastAPI answered 400 `http_error` 'There was an error parsing
    the body' (failed before)."""
    me = api.sign_in(api.world.producer)
    body = b'{"prompt": "p", "max_price": ' + b"9" * digits + b"}"
    for path in ("/v1/tasks", "/v1/auth/verify"):
        r = api.client.post(path, content=body, headers={**me, "content-type": "application/json"})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert f"{digits} digits" in error["message"] and "4300" in error["message"]
        assert error["details"] == [{"loc": ["body"], "msg": error["message"]}]


def test_a_json_body_that_is_not_utf8_is_422(api):  # noqa: F811
    me = api.sign_in(api.world.producer)
    r = api.client.post(
        "/v1/tasks",
        content=b'{"prompt": "\xff"}',
        headers={**me, "content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"


# -- 4. a notification's own fields win over its payload's ------------------------------------


def test_a_payload_cannot_overwrite_a_notifications_id_kind_or_block(api):  # noqa: F811
    """The route spread the stored payload after ``id``, ``kind`` and ``block``: a payload key
    ``id`` replaced the id the defender's ``after`` cursor moves by (failed before: the item
    read id 2**31 - 1, kind challenge_opened, block 0)."""
    world = api.world
    me = world.producer.address
    with api.client.app.state.sessions() as session:
        rows = [
            Notification(
                recipient=me,
                kind="plagiarism_suspected",
                block_number=7 + i,
                payload={
                    "id": 2**31 - 1,
                    "kind": "challenge_opened",
                    "block": 0,
                    "original": "0x01",
                    "duplicate": f"0x{i + 2:x}",
                },
            )
            for i in range(2)
        ]
        session.add_all(rows)
        session.commit()
        ids = [n.id for n in rows]
    client = MarketClient(api.client, world.producer)
    items = client.get("/v1/notifications")["items"]
    assert [(n["id"], n["kind"], n["block"]) for n in items] == [
        (ids[1], "plagiarism_suspected", 8),
        (ids[0], "plagiarism_suspected", 7),
    ]
    assert [n["duplicate"] for n in items] == ["3", "2"]  # the payload is kept (ids decimal)
    assert [n["id"] for n in client.get("/v1/notifications", after=ids[0])["items"]] == [ids[1]]
