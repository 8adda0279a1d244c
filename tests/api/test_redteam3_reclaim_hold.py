"""Red team 3: the market's reclaim hold no longer lets one abandoned generation keep an ESP's
later tokens off the market for a day (``marketplace_api/sale_holds.py``,
``services/exchange/reclaim.py``).

The hold (``tests/api/test_reclaimable.py``) refuses to sell a token while an earlier, unused
fee lock to its ESP could still ``reclaim`` it. A producer who pays an ESP, is delivered an
image and never registers it (common; or a griefer paying the minimum fee on purpose) held
every later token of that ESP off the market for ``registrationWindow + commitTtl`` blocks
(7,208 at the defaults, a day; the first test failed with ``reclaimable_until`` = 59, the
abandoned lock's block + the test deployment's window + TTL). A reclaim needs the ESP's
attestation of the token's exact content hash for the earlier lock; the API holds the ESP's
signed attestation of what it delivered for the lock. When that is another image, a reclaim
needs the ESP to attest a second image to one lock (an equivocation, the hold's known limit
for used locks): the lock no longer holds. The customer the hold
defends, delivered the very bytes its ESP's Sybil registered, is still protected, and an ESP
the API has seen lie once (two images to one lock, or a fraud-proven delivery) loses the
narrowing.

Since the Registry refuses every token to the swap escrow for ``registrationWindow + commitTtl``
blocks after its own reveal (``RegistryTokenReclaimable``, red team 2's buyer fix), the market
holds each token that long first (``reclaimable_until`` is the chain's block), and no fee lock's
hold outlasts it (the lock is older than the token): the narrowing here changes no answer now;
these tests pin that the hold is each token's own window, never an older lock's.
"""

from __future__ import annotations

import dataclasses

import pytest

from ledger import EspRegistryClient, HtlcClient, LockTerms, RegistryClient
from services import esp_worker
from services.market_client import MarketClient, MarketError
from services.producer import DeliveryMismatch, ProducerSession
from tests.api._trading import list_token
from tests.api.test_generation_flow import _claimed, _fp, _worker
from tests.contracts.helpers import paid_lock, register_esp, registration


@pytest.fixture
def flow(api, tmp_path):
    """The ESP's real worker and a producer session for ``world.producer``."""
    world = api.world
    register_esp(world)
    esp_client = MarketClient(api.client, world.esp)
    esp_client.sign_in()
    worker = _worker(world, esp_client, world.esp, tmp_path / "esp-state.json")
    return worker, _session(api, world.producer)


def _session(api, account) -> ProducerSession:
    client = MarketClient(api.client, account)
    client.sign_in()
    world = api.world
    return ProducerSession(
        client,
        HtlcClient(world.deployment, world.tx(account)),
        RegistryClient(world.deployment, world.tx(account)),
        EspRegistryClient(world.deployment, world.tx(account)),
        fingerprint=_fp,
    )


def _register(world, owner, *, content_hash: bytes | None = None, lock=None) -> int:
    """``owner`` registers ``content_hash`` (fresh bytes by default) under ``lock`` (a new paid
    lock to the ESP by default), attested by ``world.esp``; returns the token id."""
    lock = lock or paid_lock(world, owner, world.esp)
    reg = registration(owner.address, world.esp.address, lock=lock)
    if content_hash is not None:
        reg = dataclasses.replace(reg, content_hash=content_hash)
    client = world.registry(owner)
    client.commit(reg)
    return client.reveal(reg, lock, client.sign_attestation(world.esp, reg))


def _refused(api, seller, token: int) -> MarketError:
    with pytest.raises(MarketError) as refused:
        list_token(api, seller, token, wait=False)
    return refused.value


def test_an_abandoned_generation_does_not_hold_its_esps_later_tokens(api, flow):
    """Failed before: the unrelated token was 409 token_reclaimable until the abandoned lock's
    block + registrationWindow + commitTtl (7,208 blocks at the defaults, a day), and so was
    every later token of that ESP of the window."""
    worker, abandoner = flow
    world = api.world
    _, claimed = _claimed(api, worker, abandoner, "paid for, never registered", seed=3)
    assert claimed["status"] == "claimed"  # delivered and paid: the producer walks away
    token = _register(world, world.attacker)  # another producer, same ESP, a younger lock
    api.index()
    own = world.registry(world.attacker).reclaimable_until(token)  # the token's own window
    assert api.client.get(f"/v1/products/{token}").json()["reclaimable_until"] == own
    assert list_token(api, world.attacker, token)["status"] == "open"  # once it has passed


def test_the_customer_whose_delivered_bytes_a_sybil_registered_is_still_protected(api, flow):
    """The attack the hold defends (red team 2), with the customer's lock paid through the API:
    its delivery attests the very bytes the ESP's Sybil registered under a younger lock, so the
    customer can reclaim them; the token is held for the whole window."""
    worker, customer = flow
    world = api.world
    params = world.params
    _, claimed = _claimed(api, worker, customer, "the customer's image", seed=5)
    delivered = bytes.fromhex(claimed["delivery"]["content_hash"][2:])
    taken = _register(world, world.attacker, content_hash=delivered)
    api.index()
    locked_at = LockTerms.from_json(claimed["lock"])
    block = world.htlc(world.producer).lock_info(locked_at.id)[1]
    until = world.registry(world.attacker).reclaimable_until(taken)  # the chain's, longer
    assert block + params.registration_window_blocks + params.commit_ttl_blocks < until
    refused = _refused(api, world.attacker, taken)
    assert (refused.status, refused.code) == (409, "token_reclaimable")
    assert api.client.get(f"/v1/products/{taken}").json()["reclaimable_until"] == until


def test_a_lock_paid_outside_the_api_or_not_yet_delivered_still_holds(api, flow):
    """Without the ESP's delivered attestation the API cannot tell what the lock's payer holds:
    a lock paid outside it, and a lock paid through it but not delivered yet, hold as before."""
    worker, producer = flow
    world = api.world
    task = producer.post("locked, not delivered yet", seed=9, max_price=10**15)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    assert producer.task(task["id"])["status"] == "locked"
    token = _register(world, world.attacker)
    api.index()
    assert _refused(api, world.attacker, token).code == "token_reclaimable"

    paid_lock(world, world.buyer, world.esp)  # outside the API: no delivery known
    worker.step()  # the pending task is delivered and claimed now
    worker.step()
    api.index()
    assert producer.task(task["id"])["status"] == "claimed"
    later = _register(world, world.attacker)
    api.index()
    assert _refused(api, world.attacker, later).code == "token_reclaimable"


def test_an_esp_seen_attesting_two_images_to_one_lock_loses_the_narrowing(api, flow):
    """The residual risk, as for a used lock: an ESP that attests a second image to an
    abandoned lock lets its payer take a token sold meanwhile (the Registry slashes the ESP).
    Once the API has seen one of that ESP's delivered locks register another image than the one
    delivered, every abandoned lock of that ESP holds its later tokens again."""
    worker, producer = flow
    world = api.world
    _, first = _claimed(api, worker, producer, "delivered one image", seed=21)
    # the ESP attests another image to that lock, which its payer registers
    _register(world, world.producer, lock=LockTerms.from_json(first["lock"]))
    api.index()
    assert producer.task(first["id"])["status"] == "registered"
    _claimed(api, worker, producer, "paid for, never registered", seed=22)
    token = _register(world, world.attacker)
    api.index()
    refused = _refused(api, world.attacker, token)
    assert (refused.status, refused.code) == (409, "token_reclaimable")


def test_an_esp_with_a_fraud_proven_delivery_loses_the_narrowing(api, flow, monkeypatch):
    """An ESP proven to seal other bytes than it attested lies about what it attests: its
    delivered attestations no longer tell what a lock's payer holds, so every abandoned lock of
    it holds its later tokens again (failed before this rule: the token was listed)."""
    worker, producer = flow
    world = api.world
    task = producer.post("a cheated customer", seed=31, max_price=10**15)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    honest_seal = esp_worker.seal
    monkeypatch.setattr(  # the ESP attests one image and seals other bytes
        esp_worker,
        "seal",
        lambda data, *, key, task_id: honest_seal(b"junk" + data[4:], key=key, task_id=task_id),
    )
    worker.step()
    monkeypatch.undo()
    worker.step()
    api.index()
    with pytest.raises(DeliveryMismatch) as mismatch:
        producer.collect(producer.task(task["id"]))
    assert producer.report_fraud(mismatch.value)["status"] == "fraud_proven"
    _claimed(api, worker, producer, "paid for, never registered", seed=32)
    token = _register(world, world.attacker)
    api.index()
    refused = _refused(api, world.attacker, token)
    assert (refused.status, refused.code) == (409, "token_reclaimable")
