"""Unsigned transactions for the ESP's quote acknowledgement and for batch settlement, built by the
API through the typed clients' call objects, signed by the wallet and relayed.

Attacks: a quote signed by anyone but the lock's ESP, or the ESP's quote replayed onto other
terms, is refused before signing with the contract's error as ``code`` (409) and records nothing;
a batch with one bad preimage, or a lock rated twice, is refused whole; empty or oversized
batches are a 422.
"""

from __future__ import annotations

from ledger import LockStatus, LockTerms
from ledger.clients.esp_registry import sign_quote
from tests.api._trading import sign_and_relay
from tests.api.test_generation_flow import PRICE, parties  # noqa: F401
from tests.contracts.helpers import lock_fee, register_esp


def _locked_task(api, worker, producer):
    """A task quoted by the real ESP worker and locked by the producer's wallet, not yet
    acknowledged (what a wallet-only client has before it sends the acknowledgement)."""
    world = api.world
    task = producer.post("a red circle", seed=3, max_price=2 * PRICE)
    worker.step()
    quoted = producer.task(task["id"])
    world.htlc(world.producer).lock_ether(
        quoted["esp"],
        amount=int(quoted["price"]),
        hashlock=bytes.fromhex(quoted["hashlock"][2:]),
        timelock=int(quoted["deadline"]),
    )
    api.index()
    locked = producer.task(task["id"])
    assert locked["status"] == "locked" and locked["quote_signature"], locked
    return locked


def test_the_quote_acknowledgement_built_by_the_api_holds_the_esp_to_the_lock(api, parties):  # noqa: F811
    worker, producer = parties
    world = api.world
    task = _locked_task(api, worker, producer)
    lock = LockTerms.from_json(task["lock"])
    esps = world.esps(world.producer)
    assert not esps.acknowledged(lock) and esps.open_locks(world.esp.address) == 0
    headers = api.sign_in(world.producer)
    body = {"lock": task["lock"], "signature": task["quote_signature"]}  # as the task returns them
    r = api.client.post("/v1/tx/esp/acknowledge", json=body, headers=headers)
    assert r.status_code == 200, r.text
    tx = r.json()
    assert tx["to"] == world.deployment.esp_registry.address and int(tx["value"]) == 0
    out = sign_and_relay(api, world.producer, tx)
    assert out["status"] == 1 and [e["event"] for e in out["events"]] == ["LockAcknowledged"]
    assert esps.acknowledged(lock) and esps.open_locks(world.esp.address) == 1
    # Twice is refused before signing.
    r = api.client.post("/v1/tx/esp/acknowledge", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "QuoteAlreadyAcknowledged"


def test_a_forged_quote_is_refused_before_signing(api, parties):  # noqa: F811
    worker, producer = parties
    world = api.world
    task = _locked_task(api, worker, producer)
    lock = LockTerms.from_json(task["lock"])
    dep = world.deployment
    where = {"chain_id": world.chain.chain_id, "esp_registry": dep.esp_registry.address}
    headers = api.sign_in(world.producer)
    forged = sign_quote(world.attacker, lock, **where)  # not the lock's ESP
    r = api.client.post(
        "/v1/tx/esp/acknowledge",
        json={"lock": task["lock"], "signature": "0x" + forged.hex()},
        headers=headers,
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "QuoteInvalidSignature"
    # The ESP's genuine quote for other terms (a lower price) does not carry over to this lock.
    cheaper = LockTerms(
        lock.sender, lock.receiver, lock.asset, lock.token, 1, lock.hashlock, lock.timelock
    )
    other = sign_quote(world.esp, cheaper, **where)
    r = api.client.post(
        "/v1/tx/esp/acknowledge",
        json={"lock": task["lock"], "signature": "0x" + other.hex()},
        headers=headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "QuoteInvalidSignature"
    # Nor can the genuine signature be sent with a lock that does not exist.
    r = api.client.post(
        "/v1/tx/esp/acknowledge",
        json={"lock": {**task["lock"], "amount": "1"}, "signature": task["quote_signature"]},
        headers=headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "QuoteUnknownLock"
    assert not world.esps(world.producer).acknowledged(lock)
    # A malformed signature is a 422, not a 500.
    r = api.client.post(
        "/v1/tx/esp/acknowledge",
        json={"lock": task["lock"], "signature": "0x1234"},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def _acknowledged_locks(world, n):
    out = []
    for i in range(n):
        lock, preimage = lock_fee(world, amount=10**15 + i)
        client = world.esps(world.producer)
        client.acknowledge(lock, client.sign_quote(world.esp, lock))
        out.append((lock, preimage))
    return out


def _item(lock: LockTerms, **extra):
    return {"lock": lock.to_json(), **extra}


def test_batch_withdraw_and_batch_feedback_built_by_the_api(api):
    world = api.world
    register_esp(world)
    pairs = _acknowledged_locks(world, 3)
    locks = [lock for lock, _ in pairs]
    esp_headers = api.sign_in(world.esp)
    # One wrong preimage: the whole batch is refused before signing, with that lock's error.
    bad = [_item(lock, preimage="0x" + p.hex()) for lock, p in pairs]
    bad[1]["preimage"] = "0x" + "00" * 32
    r = api.client.post("/v1/tx/locks/withdraw-batch", json={"items": bad}, headers=esp_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "LockPreimageMismatch", r.text
    before = world.balance(world.esp.address)
    items = [_item(lock, preimage="0x" + p.hex()) for lock, p in pairs]
    r = api.client.post("/v1/tx/locks/withdraw-batch", json={"items": items}, headers=esp_headers)
    assert r.status_code == 200, r.text
    tx = r.json()
    assert tx["to"] == world.deployment.htlc.address
    out = sign_and_relay(api, world.esp, tx)
    assert out["status"] == 1
    htlc = world.htlc(world.esp)
    assert all(htlc.status(lock) is LockStatus.WITHDRAWN for lock in locks)
    gas = out["gas_used"] * 10**12  # an upper bound on the fee paid at test gas prices
    assert world.balance(world.esp.address) > before + sum(lock.amount for lock in locks) - gas

    # The producer rates all three in one transaction.
    headers = api.sign_in(world.producer)
    ratings = [_item(lock, positive=i != 1) for i, lock in enumerate(locks)]
    r = api.client.post("/v1/tx/feedback/batch", json={"items": ratings}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["to"] == world.deployment.esp_registry.address
    out = sign_and_relay(api, world.producer, r.json())
    assert out["status"] == 1
    assert [e["event"] for e in out["events"]].count("FeedbackRecorded") == 3
    esps = world.esps(world.producer)
    assert all(esps.feedback_recorded(lock) for lock in locks)
    # Rating again (even one lock of the batch) is refused whole, before signing.
    r = api.client.post("/v1/tx/feedback/batch", json={"items": ratings[:1]}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "FeedbackAlreadyRecorded", r.text
    # Only the lock's sender may rate it: the ESP rating its own locks is refused.
    r = api.client.post("/v1/tx/feedback/batch", json={"items": ratings}, headers=esp_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "FeedbackNotLockSender", r.text


def test_empty_or_oversized_batches_are_a_422(api):
    world = api.world
    register_esp(world)
    headers = api.sign_in(world.producer)
    (lock, preimage), *_ = _acknowledged_locks(world, 1)
    one = _item(lock, preimage="0x" + preimage.hex())
    for route, items in (
        ("/v1/tx/locks/withdraw-batch", []),
        ("/v1/tx/locks/withdraw-batch", [one] * 65),
        ("/v1/tx/feedback/batch", []),
        ("/v1/tx/feedback/batch", [_item(lock, positive=True)] * 65),
    ):
        r = api.client.post(route, json={"items": items}, headers=headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", route
    r = api.client.post("/v1/tx/feedback/batch", json={"items": [_item(lock, positive=True)]})
    assert r.status_code == 401
