"""Red team 4: can a producer be made to reveal a prompt it has not paid for, or pay for a quote
bound to another prompt? (The quote's EIP-712 signature covers the fee lock's terms, not the
prompt commitment; the ESP reads a prompt as soon as the indexer sees a lock that matches a
quoted task of the producer by hashlock.)

The attack: a producer has two open tasks at one ESP, B (posted first: a prompt it is still
deciding on) and A. The ESP quotes both under ONE hashlock (B cheaper, with an earlier deadline,
so that any lock A's quote makes also "matches" B). The producer pays A's quote, exactly as
signed; the indexer attaches the lock to the first quoted task with that hashlock, B: B's prompt
is released to the ESP (which never had a lock for B), A stays "quoted" and the ESP delivers B's
image for A's fee. Before the fix the API accepted the second quote and released B's prompt
(this test failed at the 409); now a quote under a hashlock another task holds is 409
``hashlock_reused``. (The SDK's payFee refuses a task quoted on another commitment than the
producer's prompt: tests/js/test_redteam4_sdk.py.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

import pytest

from ledger import EspRegistryClient, HtlcClient, RegistryClient
from ledger.clients.esp_registry import generation_lock, sign_quote
from services.generation import latest_quote_deadline
from services.market_client import MarketClient, MarketError
from services.producer import ProducerSession
from services.provenance import fingerprint
from tests.api.conftest import api  # noqa: F401 (the API fixture, shared)
from tests.contracts.helpers import register_esp

PRICE = 10**15
PROMPT_A = "the image the producer pays for"
PROMPT_B = "a draft the producer has not paid for"


def _quote(
    world, esp_client: MarketClient, task: dict, *, hashlock: bytes, price: int, deadline: int
):
    terms = generation_lock(
        producer=task["producer"],
        esp=esp_client.address,
        price=price,
        hashlock=hashlock,
        deadline=deadline,
    )
    dep = world.deployment
    signature = sign_quote(
        world.esp, terms, chain_id=dep.chain.chain_id, esp_registry=str(dep.esp_registry.address)
    )
    return esp_client.post(
        f"/v1/tasks/{task['id']}/quote",
        json={
            "price": price,
            "hashlock": "0x" + hashlock.hex(),
            "deadline": deadline,
            "signature": "0x" + signature.hex(),
            "prompt_commitment": task["prompt_commitment"],
        },
    )


def _window(world) -> int:
    return int(world.deployment.manifest.params.get("registration_window_blocks", 7_200))


@pytest.fixture
def producer(api):  # noqa: F811
    world = api.world
    register_esp(world)
    return ProducerSession(
        MarketClient(api.client, world.producer),
        HtlcClient(world.deployment, world.tx(world.producer)),
        RegistryClient(world.deployment, world.tx(world.producer)),
        EspRegistryClient(world.deployment, world.tx(world.producer)),
        fingerprint=lambda img: fingerprint(img).to_bytes32(),
    )


def test_an_esp_cannot_quote_two_tasks_under_one_hashlock(api, producer):  # noqa: F811
    world = api.world
    esp = MarketClient(api.client, world.esp)
    task_b = producer.post(PROMPT_B, seed=1, max_price=2 * PRICE)
    task_a = producer.post(PROMPT_A, seed=2, max_price=2 * PRICE)
    hashlock = hashlib.sha256(secrets.token_bytes(32)).digest()
    now = world.chain.timestamp()
    latest = latest_quote_deadline(now, window_blocks=_window(world))
    _quote(world, esp, task_a, hashlock=hashlock, price=PRICE, deadline=latest)
    with pytest.raises(MarketError) as refused:
        _quote(world, esp, task_b, hashlock=hashlock, price=PRICE // 2, deadline=latest - 60)
    assert (refused.value.status, refused.value.code) == (409, "hashlock_reused")
    # the producer pays A's quote as signed: the lock is A's, B's prompt stays the producer's
    producer.lock_fee(producer.task(task_a["id"]))
    api.index()
    seen_a, seen_b = esp.get(f"/v1/tasks/{task_a['id']}"), esp.get(f"/v1/tasks/{task_b['id']}")
    assert seen_a["status"] == "locked" and seen_a["prompt"] == PROMPT_A
    assert seen_b["status"] == "posted" and seen_b["prompt"] is None
    # B under a hashlock of its own is quoted as usual
    fresh = hashlib.sha256(secrets.token_bytes(32)).digest()
    assert (
        _quote(world, esp, task_b, hashlock=fresh, price=PRICE, deadline=latest)["status"]
        == "quoted"
    )


def test_the_prompt_is_released_only_once_the_fee_lock_is_safe(api, producer):  # noqa: F811
    """Failed before (the prompt was released at 0 confirmations): now the API releases it once
    the lock is AIGC_PROMPT_RELEASE_DEPTH blocks deep, 2 by default on a chain that is not a
    local dev chain (tests/api/test_redteam4_followups.py: the dev default, and the release)."""
    market = api.client.app.state.market
    market.prompt_release = dataclasses.replace(market.prompt_release, depth=2)  # a real chain's
    world = api.world
    esp = MarketClient(api.client, world.esp)
    task = producer.post(PROMPT_A, seed=3, max_price=2 * PRICE)
    now = world.chain.timestamp()
    latest = latest_quote_deadline(now, window_blocks=_window(world))
    hashlock = hashlib.sha256(secrets.token_bytes(32)).digest()
    _quote(world, esp, task, hashlock=hashlock, price=PRICE, deadline=latest)
    before = world.chain.snapshot()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    # the lock is in the head block only: one reorg away from never having been made
    released = esp.get(f"/v1/tasks/{task['id']}")["prompt"]
    world.chain.revert(before)  # the reorg: the lock is gone
    api.index()
    assert esp.get(f"/v1/tasks/{task['id']}")["status"] == "quoted"
    assert released is None, "the ESP read the prompt of a lock that a reorg took back"
