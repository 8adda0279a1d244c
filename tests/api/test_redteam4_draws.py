"""Red team 4, crowding the exploration slice, through the API (``marketplace_api/draws.py``).

Newcomers share the 2% exploration slice evenly, so an operator's 10 idle registered ESPs (they
never quote) left an honest newcomer 2% / 11 = 0.18% of a producer's tasks.
``services.reputation.responsiveness`` drops a newcomer whose drawn tasks go unquoted, but the
API fed it nothing: the idle ESPs kept the slice for good. Now ``POST /v1/tasks`` without
``esp`` records the draw with the task and the drawn ESP's quote answers it; the selection and
``GET /v1/esps`` leave the unresponsive newcomers out, from the database (a restart keeps it).
Measured as docs/reputation.md does for the unit-level figure (one producer's tasks a minute
apart, H established, N quoting at once): N at 0.18% before the feed, **2%** after 1,000 tasks,
10 wasted draws (one per idle ESP); failed before the wiring (N stayed at 0.18%).

A griefer cannot get an honest newcomer dropped: only a draw its ESP could answer is recorded.
Tasks addressed to an ESP record no draw, and a task priced below an ESP's registered price
does not draw it (a 1-wei task draws no one); the same rule keeps an idle ESP that prices itself
out of every task from being drawn at all, so it crowds no one.
"""

from __future__ import annotations

import random
import secrets as real_secrets
from contextlib import contextmanager

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import update

from ledger import EspRegistryClient
from ledger.clients.esp_registry import generation_lock, sign_quote
from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from marketplace_api.models import Task
from marketplace_api.routers import tasks as tasks_router
from tests.api._databases import sqlite_copy
from tests.api.conftest import Api
from tests.api.test_esps import _pay
from tests.contracts.helpers import ESP_STAKE, FEE, register_esp

IDLE = 10
TASKS = 1_000
STEP = 60  # seconds between a producer's tasks, as in the unit-level measurement


class _SeededSecrets:
    """The task route's ``secrets`` with a seeded ``randbits`` (its draw's rng seed), so the
    measurement is the same on every run; ids and salts stay random."""

    def __init__(self, seed: int):
        self._rng = random.Random(seed)
        self.token_hex = real_secrets.token_hex
        self.token_bytes = real_secrets.token_bytes

    def randbits(self, k: int) -> int:
        return self._rng.getrandbits(k)


@contextmanager
def _api(world, url: str):
    settings = ApiSettings(
        database_url=url,
        rate_nonce_per_minute=1000,
        rate_tasks_per_minute=10**6,
        indexer_interval_s=0,
        follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
    )
    app = create_app(settings, world.deployment)
    with TestClient(app) as client:
        yield Api(client, world)
    app.state.engine.dispose()


def _fund(world, address: str, amount: int) -> None:
    w3, payer = world.chain.w3, world.accounts[0]
    signed = payer.sign_transaction(
        {
            "to": address,
            "value": amount,
            "gas": 21_000,
            "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9,
            "maxPriorityFeePerGas": 10**9,
            "nonce": w3.eth.get_transaction_count(payer.address),
            "chainId": world.chain.chain_id,
            "type": 2,
        }
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))


def _idle_esps(world, n: int) -> list:
    idle = [Account.from_key(bytes([0x5A] * 31 + [k + 1])) for k in range(n)]
    for esp in idle:
        _fund(world, esp.address, 2 * ESP_STAKE)
        register_esp(world, esp)
    return idle


def _quote(api, esp, headers, task: dict) -> None:
    """``esp`` quotes ``task`` as its worker would (signed EIP-712 quote, fresh hashlock)."""
    world = api.world
    deadline = world.chain.timestamp() + 200
    hashlock = real_secrets.token_bytes(32)
    terms = generation_lock(
        producer=task["producer"], esp=esp.address, price=FEE, hashlock=hashlock, deadline=deadline
    )
    signature = sign_quote(
        esp,
        terms,
        chain_id=world.chain.chain_id,
        esp_registry=world.deployment.esp_registry.address,
    )
    r = api.client.post(
        f"/v1/tasks/{task['id']}/quote",
        json={
            "price": str(FEE),
            "hashlock": "0x" + hashlock.hex(),
            "deadline": deadline,
            "signature": "0x" + signature.hex(),
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text


def _post(api, headers, **extra) -> dict:
    body = {"prompt": "a red circle", "seed": 1, "max_price": str(FEE), **extra}
    r = api.client.post("/v1/tasks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _closed(api, task_id: str) -> None:
    """The task leaves the producer's 16 open tasks (as a refusal would, without a request per
    task), so the producer posts on; its draw and its quote, if any, stay as they were."""
    with api.client.app.state.sessions() as session:
        session.execute(update(Task).where(Task.id == task_id).values(status="refused"))
        session.commit()


def _shares(api, headers) -> dict[str, float]:
    items = api.client.get("/v1/esps", headers=headers).json()["items"]
    return {e["address"]: e["selection_probability"] for e in items}


def test_idle_esps_crowd_the_newcomer_slice_until_the_api_feeds_their_draws(
    embedded_world, _sqlite_api_template, tmp_path, monkeypatch
):
    """On SQLite only (a thousand posts); the draws' query runs on both databases in the
    griefer test below."""
    world = embedded_world
    url = sqlite_copy(_sqlite_api_template, tmp_path / "api.db")
    producer, honest, newcomer = world.producer, world.esp, world.accounts[5]
    register_esp(world, honest)
    register_esp(world, newcomer)
    for _ in range(3):
        _pay(world, producer, honest, deliver=True)  # H: established in the producer's view
    idle = {e.address for e in _idle_esps(world, IDLE)}
    monkeypatch.setattr(tasks_router, "secrets", _SeededSecrets(20261203))
    # The ESPs' registry entries do not change during the loop: the list and each entry are
    # read from the chain once (13 eth_calls a post on the embedded chain were 80% of the run).
    real_info = EspRegistryClient.esp_info
    entries: dict[str, object] = {}

    def esp_info(self, esp):
        if esp not in entries:
            entries[esp] = real_info(self, esp)
        return entries[esp]

    monkeypatch.setattr(EspRegistryClient, "esp_info", esp_info)
    listed = EspRegistryClient(world.deployment).esps()
    monkeypatch.setattr(EspRegistryClient, "esps", lambda self: list(listed))
    with _api(world, url) as api:
        api.index()
        viewer = api.sign_in(producer)
        esp_headers = {e.address: api.sign_in(e) for e in (honest, newcomer)}
        before = _shares(api, viewer)[newcomer.address]
        assert before == pytest.approx(0.02 / (IDLE + 1), abs=1e-6)  # 0.18%

        drawn: dict[str, int] = {}
        trajectory = []
        for n in range(1, TASKS + 1):
            task = _post(api, viewer)
            esp = task["esp"]
            drawn[esp] = drawn.get(esp, 0) + 1
            if esp == newcomer.address:
                _quote(api, newcomer, esp_headers[esp], task)  # the honest newcomer answers
            else:  # H's answer does not matter (established), an idle ESP gives none
                _closed(api, task["id"])
            world.chain.increase_time(STEP)
            if n % 50 == 0:
                # as the indexer's poll does: each post reads the ESP events of the blocks not
                # indexed yet, and 1,000 time steps left up to 1,000 such blocks (a scan that
                # grew with every post: the test took 145 s instead of ~45)
                api.index()
            if n % 250 == 0:
                trajectory.append(_shares(api, viewer)[newcomer.address])
        wasted = sum(n for esp, n in drawn.items() if esp in idle)
        after = _shares(api, viewer)
        print(f"N's share after 250/500/750/1000 tasks: {trajectory}; draws: {drawn}")
        assert wasted == IDLE  # each idle ESP drawn once, then out of the slice
        assert after[newcomer.address] == pytest.approx(0.02)  # failed before: 0.0018
        assert all(after[e] == 0.0 for e in idle)

    # the log is the database's: a restarted API (a new app on the same database) keeps it
    with _api(world, url) as again:
        assert _shares(again, again.sign_in(producer))[newcomer.address] == pytest.approx(0.02)


def test_a_griefer_cannot_get_an_honest_newcomer_dropped(api):
    """The griefer posts tasks at 1 wei (no ESP's price: nobody is drawn, 422 no_eligible_esp)
    and tasks addressed to the newcomer that it ignores (addressed: no draw), and lets every
    window pass: the newcomer keeps its slot, and each task drawn for it that it quotes is an
    answer. An idle ESP priced above every task is never drawn, so it crowds no one (it was
    drawn half the time before the price rule, and an idle ESP could dodge the log that way)."""
    world = api.world
    newcomer, priced_out = world.esp, world.accounts[5]
    register_esp(world, newcomer)
    world.esps(priced_out).register("http://idle.example", price=10**30, stake=ESP_STAKE)
    api.index()
    griefer = api.sign_in(world.attacker)
    for _ in range(5):
        r = api.client.post(
            "/v1/tasks", json={"prompt": "x", "seed": 1, "max_price": "1"}, headers=griefer
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "no_eligible_esp", r.text
        _post(api, griefer, esp=newcomer.address)  # addressed: never quoted, never a draw
    world.chain.increase_time(3_600)
    viewer, esp_headers = api.sign_in(world.producer), api.sign_in(newcomer)
    for _ in range(20):
        task = _post(api, viewer)
        assert task["esp"] == newcomer.address  # never the priced-out ESP
        _quote(api, newcomer, esp_headers, task)
        world.chain.increase_time(STEP)
    world.chain.increase_time(3_600)
    assert _shares(api, viewer)[newcomer.address] == pytest.approx(0.5)  # the two newcomers
    task = _post(api, viewer)  # still drawn, never dropped
    assert task["esp"] == newcomer.address


def test_a_late_quote_is_a_miss_and_a_draw_inside_its_window_counts_neither_way(api):
    """The database's sums classify draws as ``services.reputation.responsiveness`` does: a
    draw still inside the quote window counts neither way, a quote after it is a miss."""
    world = api.world
    first, second = world.esp, world.accounts[5]
    for esp in (first, second):
        register_esp(world, esp)
    api.index()
    viewer = api.sign_in(world.producer)
    task = _post(api, viewer)
    drawn = next(e for e in (first, second) if e.address == task["esp"])
    other = second if drawn is first else first
    assert _shares(api, viewer)[drawn.address] == pytest.approx(0.5)  # pending: neither way
    world.chain.increase_time(700)  # past the 10-minute window
    _quote(api, drawn, api.sign_in(drawn), task)  # too late: still a miss
    shares = _shares(api, viewer)
    assert (shares[drawn.address], shares[other.address]) == (0.0, pytest.approx(1.0))
