"""Red team 3: one abandoned generation does not keep an ESP's later tokens off the market for a
day (``marketplace_api/sale_holds.py``).

The hold (``tests/api/test_reclaimable.py``) refuses to sell a token while an earlier fee lock
to its ESP could still ``reclaim`` it. A producer who pays an ESP, is delivered an image and
never registers it (common; or a griefer paying the minimum fee on purpose) held every later
token of that ESP off the market for ``registrationWindow + commitTtl`` blocks (7,208 at the
defaults, a day; the first test failed with ``reclaimable_until`` = 59, the abandoned lock's
block + the test deployment's window + TTL). The API then stopped counting a lock it had
delivered another image for. Since the Registry refuses every token to the swap escrow for
``registrationWindow + commitTtl`` blocks after its own reveal (``RegistryTokenReclaimable``,
4ab427a), every older lock's window closes within the token's own: the hold is the token's own
window, the API no longer scans fee locks, and these tests pin that the customer the hold
defends is still protected and an abandoned lock holds nothing longer.
"""

from __future__ import annotations

import dataclasses

import pytest

from ledger import EspRegistryClient, HtlcClient, LockTerms, RegistryClient
from services.market_client import MarketClient, MarketError
from services.producer import ProducerSession
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
