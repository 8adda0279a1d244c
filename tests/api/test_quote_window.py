"""An ESP's quote cannot outlast the fee lock's registration window (red team, off-chain half).

The Registry refuses a commitment more than ``registration_window_blocks`` after the fee lock's
block, and the ESP chooses when to claim its fee (deliver the image) up to the quoted deadline.
An ESP quoting a 30-day deadline and claiming after the window leaves the producer a paid,
delivered image it can never register (RegistryRegistrationTooLate; the chain side is
tests/contracts/test_redteam_registration_edges.py). Before the fix the API accepted such a
quote and the producer's ``lock_fee`` locked the fee for it; now both refuse it with
``deadline_beyond_registration_window`` (``services.generation.latest_quote_deadline``), and the
ESP worker never quotes past the bound itself.
"""

from __future__ import annotations

import hashlib

import pytest

from ledger import LockStatus
from ledger.clients.esp_registry import generation_lock, sign_quote
from services.generation import QuoteRefused, latest_quote_deadline
from services.market_client import MarketError
from tests.api.test_generation_flow import PRICE, parties  # noqa: F401 (the fixture)

DAY = 24 * 3600

# On SQLite only: what is checked is the quote's deadline rule, not the database.
pytestmark = pytest.mark.parametrize("api_database_url", ["sqlite"], indirect=True)


def _window(world) -> int:
    return int(world.params.registration_window_blocks)


def _quote(world, task: dict, *, deadline: int) -> dict:
    """The ESP's signed quote for ``task`` with ``deadline``, as the worker would post it."""
    hashlock = hashlib.sha256(b"the esp's secret").digest()
    terms = generation_lock(
        producer=task["producer"],
        esp=world.esp.address,
        price=PRICE,
        hashlock=hashlock,
        deadline=deadline,
    )
    signature = sign_quote(
        world.esp,
        terms,
        chain_id=world.chain.chain_id,
        esp_registry=str(world.deployment.esp_registry.address),
    )
    return {
        "price": PRICE,
        "hashlock": "0x" + hashlock.hex(),
        "deadline": deadline,
        "signature": "0x" + signature.hex(),
    }


def test_the_api_refuses_a_quote_whose_deadline_outlasts_the_registration_window(api, parties):  # noqa: F811
    worker, producer = parties
    world = api.world
    task = producer.post("a month-long wait", seed=5, max_price=2 * PRICE)
    now = world.chain.timestamp()
    deadline = now + 30 * DAY
    with pytest.raises(MarketError) as exc:
        worker.client.post(
            f"/v1/tasks/{task['id']}/quote", json=_quote(world, task, deadline=deadline)
        )
    assert exc.value.status == 422, exc.value
    assert exc.value.code == "deadline_beyond_registration_window"
    bound = latest_quote_deadline(now, window_blocks=_window(world))
    message = str(exc.value)
    assert str(deadline) in message
    # The bound is named; the chain may have moved a second between the two reads.
    assert any(str(bound + d) in message for d in range(0, 3)), message
    assert producer.task(task["id"])["status"] == "posted"  # nothing half-written
    # A deadline inside the bound is accepted (the same route, the same ESP).
    inside = latest_quote_deadline(world.chain.timestamp(), window_blocks=_window(world))
    worker.client.post(f"/v1/tasks/{task['id']}/quote", json=_quote(world, task, deadline=inside))
    assert producer.task(task["id"])["status"] == "quoted"


def test_the_producer_does_not_lock_a_fee_for_such_a_quote(api, parties):  # noqa: F811
    """The producer's tools check the deadline themselves (from the chain's Registry window),
    not on the API's word: a quoted task carrying a 30-day deadline (an API that did not check,
    or a task quoted before the check) is refused before any Ether moves."""
    _worker, producer = parties
    world = api.world
    task = producer.post("a month-long wait", seed=6, max_price=2 * PRICE)
    deadline = world.chain.timestamp() + 30 * DAY
    quote = _quote(world, task, deadline=deadline)
    quoted = {
        **task,
        "status": "quoted",
        "price": str(PRICE),
        "hashlock": quote["hashlock"],
        "deadline": deadline,
        "quote_signature": quote["signature"],
    }
    terms = generation_lock(
        producer=task["producer"],
        esp=world.esp.address,
        price=PRICE,
        hashlock=bytes.fromhex(quote["hashlock"][2:]),
        deadline=deadline,
    )
    with pytest.raises(QuoteRefused) as exc:
        producer.lock_fee(quoted)
    assert exc.value.code == "deadline_beyond_registration_window"
    assert str(deadline) in str(exc.value)
    assert producer.htlc.status(terms) is LockStatus.NONE  # no fee was locked


def test_the_esp_worker_quotes_within_the_registration_window(api, parties):  # noqa: F811
    """A worker configured for a 30-day deadline quotes the latest deadline the window allows
    instead (and the API accepts it)."""
    worker, producer = parties
    world = api.world
    worker.deadline_s = 30 * DAY
    task = producer.post("a quick one", seed=8, max_price=2 * PRICE)
    before = world.chain.timestamp()
    assert worker.step() == [f"quoted {task['id'][:10]}"]
    quoted = producer.task(task["id"])
    assert quoted["status"] == "quoted"
    after = world.chain.timestamp()
    deadline = int(quoted["deadline"])
    window = _window(world)
    assert latest_quote_deadline(before, window_blocks=window) <= deadline
    assert deadline <= latest_quote_deadline(after, window_blocks=window)
