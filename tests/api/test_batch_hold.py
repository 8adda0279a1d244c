"""The reward hold on the batch paths (issue 11) through the API: an upheld batch or court
challenge revokes at once and pays nothing until ``settle``, after the hold; when the challenger's
own token is revoked as a copy meanwhile, ``settle`` reverses the challenge.

The attack: a squatter's batch item X, itself a near copy of an earlier batched original O,
challenges a later registration (a batch item Y at the BatchRegistry, a single token S at the
BatchCourt) and wins it uncontested. O's owner then revokes X. Through the API:

* ``POST /v1/tx/batch/settle`` and ``/v1/tx/batch/court/settle`` are 409 ``BatchRewardHeld`` /
  ``CourtRewardHeld`` with ``fields.releasableAtBlock`` while the hold runs (nobody signs a
  transaction bound to revert), and the contract's dispute-state error for a pair not upheld;
* once X is revoked, the settle reverses: Y is reinstated and the indexer makes it active again in
  the products, the gallery's filter, the similarity index and its token page, its history
  saying ``reinstated`` and ``reversed``; it is tradable again and X is not. S cannot be
  reinstated (the Registry has no such door for the court): its owner is compensated, and the
  court's ``reversed`` decision shows in both histories;
* without a reversal, the settle after the hold ends ``settled`` in both histories.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState, TokenStatus
from marketplace_api.catalog import token_hex
from marketplace_api.models import Product
from services.market_client import MarketError
from services.provenance import Fingerprint
from tests.api.test_batch_trades import _list
from tests.api.test_tx import _sign_and_relay
from tests.contracts.batch_kit import register_batch, tid
from tests.contracts.helpers import BASE_FP, NEAR_FP, past_reclaim, register_esp, register_image


@dataclass
class Scene:
    original: int  # O: the producer's batched original (ESP world.esp)
    squat: int  # X: the attacker's batched near copy of O (the copier ESP)
    victim: int  # Y (a batch item) or S (a single token) of the buyer's (a third ESP)


def _scene(api, *, single: bool) -> Scene:
    """O, then X, then the victim, each with a later paid lock and commit than the one before."""
    world = api.world
    register_esp(world)
    third = register_esp(world, world.accounts[7])
    o_id, _ = register_batch(world, world.producer, fingerprints=[BASE_FP], esp=world.esp)
    x_id, _ = register_batch(world, world.attacker, fingerprints=[NEAR_FP])
    if single:
        victim = register_image(world, world.buyer, esp=third, fingerprint=BASE_FP)
    else:
        y_id, _ = register_batch(world, world.buyer, fingerprints=[BASE_FP], esp=third)
        victim = tid(y_id, 0)
    api.index()
    return Scene(tid(o_id, 0), tid(x_id, 0), victim)


class Caller:
    """Posts a route as ``account`` (signed in once) and relays the transaction it builds."""

    def __init__(self, api, account):
        self.api, self.account = api, account
        self.headers = api.sign_in(account)

    def post(self, route: str, original: int, duplicate: int):
        body = {"original": str(original), "duplicate": str(duplicate)}
        return self.api.client.post(route, json=body, headers=self.headers)

    def send(self, route: str, original: int, duplicate: int) -> dict:
        r = self.post(route, original, duplicate)
        assert r.status_code == 200, r.text
        mined = _sign_and_relay(self.api, self.account, r.json(), self.headers)
        assert mined["status"] == 1, mined
        return mined


def _uphold(api, caller: Caller, prefix: str, original: int, duplicate: int) -> None:
    """An uncontested challenge through the API, finalized after the window."""
    caller.send(f"{prefix}/challenge", original, duplicate)
    api.world.chain.mine(api.world.params.dispute_window_blocks + 1)
    caller.send(f"{prefix}/finalize", original, duplicate)
    api.index()


def _history(api, token: int) -> list[dict]:
    return list(api.client.get(f"/v1/products/{token}").json()["history"])


def _verdicts(api, token: int) -> list[str]:
    return [h["verdict"] for h in _history(api, token) if h["kind"] == "decided"]


def _product_id(api, token: int) -> int:
    with Session(api.client.app.state.market.indexer.engine) as session:
        return int(session.scalar(select(Product.id).where(Product.token_id == token_hex(token))))


def _held(r, duplicate: int, code: str) -> int:
    """The 409 of a held reward: its error name, the pair's duplicate, the releasable block."""
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert int(error["fields"]["duplicate"]) == duplicate
    return int(error["fields"]["releasableAtBlock"])


def test_a_reversed_batch_challenge_reinstates_the_item_everywhere_and_it_trades_again(api):
    world = api.world
    s = _scene(api, single=False)
    squatter, owner = Caller(api, world.attacker), Caller(api, world.producer)
    batches = BatchRegistryClient(world.deployment)
    _uphold(api, squatter, "/v1/tx/batch", s.squat, s.victim)
    assert batches.status(s.victim) is TokenStatus.REVOKED
    assert api.client.get(f"/v1/products/{s.victim}").json()["status"] == "revoked"
    # the hold: nobody is paid yet, and the API says until when
    victim = Caller(api, world.buyer)
    releasable = _held(
        victim.post("/v1/tx/batch/settle", s.squat, s.victim), s.victim, "BatchRewardHeld"
    )
    assert releasable == batches.dispute(s.squat, s.victim).deadline
    assert releasable > world.chain.w3.eth.block_number
    with pytest.raises(MarketError) as revoked:  # a revoked item is not tradable
        _list(api, world.buyer, s.victim)
    assert (revoked.value.status, revoked.value.code) == (409, "token_not_tradable")
    # O's owner revokes the squatter's X within the hold; then anyone settles: reversed
    _uphold(api, owner, "/v1/tx/batch", s.original, s.squat)
    assert batches.status(s.squat) is TokenStatus.REVOKED
    victim.send("/v1/tx/batch/settle", s.squat, s.victim)
    assert batches.status(s.victim) is TokenStatus.ACTIVE
    assert batches.dispute(s.squat, s.victim).state is DisputeState.REVERSED
    api.index()
    # active again: product, gallery filter, token page, similarity index, history
    product = api.client.get(f"/v1/products/{s.victim}").json()
    assert product["status"] == "active"
    active = api.client.get("/v1/products", params={"status": "active"}).json()["items"]
    assert str(s.victim) in {p["token_id"] for p in active}
    assert str(s.squat) not in {p["token_id"] for p in active}
    meta = api.client.get(f"/v1/tokens/{s.victim}").json()
    assert not meta["name"].startswith("[revoked]")
    assert {a["trait_type"]: a["value"] for a in meta["attributes"]}["Status"] == "active"
    catalog = api.client.app.state.market.catalog
    hits = {pid for pid, _ in catalog.similar(Fingerprint.from_bytes32(BASE_FP))}
    assert _product_id(api, s.victim) in hits
    kinds = [h["kind"] for h in _history(api, s.victim)]
    assert kinds.index("revoked") < kinds.index("reinstated")
    (reinstated,) = [h for h in _history(api, s.victim) if h["kind"] == "reinstated"]
    assert reinstated["original"] == str(s.squat)
    assert _verdicts(api, s.victim) == ["upheld", "reversed"]
    assert _verdicts(api, s.squat) == ["upheld", "upheld", "reversed"]  # won, lost, reversed
    # tradable again (once past its reveal's hold, BatchTokenReclaimable); the squatter's
    # revoked X is not
    past_reclaim(world)
    assert _list(api, world.buyer, s.victim, nonce=2)["status"] == "open"
    with pytest.raises(MarketError) as frozen:
        _list(api, world.attacker, s.squat, nonce=3)
    assert (frozen.value.status, frozen.value.code) == (409, "token_not_tradable")
    # settled once: a second settle is the dispute-state error
    again = victim.post("/v1/tx/batch/settle", s.squat, s.victim)
    assert again.status_code == 409 and again.json()["error"]["code"] == "BatchDisputeState"


def test_a_reversed_court_challenge_compensates_the_single_copys_owner(api):
    world = api.world
    s = _scene(api, single=True)
    squatter, owner = Caller(api, world.attacker), Caller(api, world.producer)
    victim = Caller(api, world.buyer)
    court = BatchCourtClient(world.deployment)
    registry = world.registry(world.deployer)
    _uphold(api, squatter, "/v1/tx/batch/court", s.squat, s.victim)
    assert registry.record(s.victim).status is TokenStatus.REVOKED
    r = victim.post("/v1/tx/batch/court/settle", s.squat, s.victim)
    releasable = _held(r, s.victim, "CourtRewardHeld")
    assert releasable == court.dispute(s.squat, s.victim).deadline
    # the route checks the pair's direction as the court's other routes do
    wrong = victim.post("/v1/tx/batch/court/settle", s.victim, s.squat)
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "unknown_product"
    _uphold(api, owner, "/v1/tx/batch", s.original, s.squat)
    before = world.balance(world.buyer.address)
    mined = victim.send("/v1/tx/batch/court/settle", s.squat, s.victim)
    assert court.dispute(s.squat, s.victim).state is DisputeState.REVERSED
    assert registry.record(s.victim).status is TokenStatus.REVOKED  # compensated, not restored
    deposit, bond = world.params.challenge_deposit, world.params.registration_bond
    fee = world.balance(world.buyer.address) - before - deposit - bond
    assert -fee == mined["gas_used"] * _gas_price(world, mined)  # exactly the held money
    api.index()
    assert _verdicts(api, s.victim) == ["upheld", "reversed"]
    assert "reversed" in _verdicts(api, s.squat)
    again = victim.post("/v1/tx/batch/court/settle", s.squat, s.victim)
    assert again.status_code == 409 and again.json()["error"]["code"] == "CourtDisputeState"


def _gas_price(world, mined: dict) -> int:
    receipt = world.chain.w3.eth.get_transaction_receipt(mined["tx_hash"])
    return int(receipt["effectiveGasPrice"])


@pytest.mark.parametrize("single", [False, True], ids=["batch", "court"])
def test_after_the_hold_the_settle_pays_the_challenger_and_the_histories_say_settled(api, single):
    world = api.world
    s = _scene(api, single=single)
    squatter = Caller(api, world.attacker)
    prefix = "/v1/tx/batch/court" if single else "/v1/tx/batch"
    _uphold(api, squatter, prefix, s.squat, s.victim)
    world.chain.mine(world.params.reward_hold_blocks)
    before = world.balance(world.attacker.address)
    mined = squatter.send(f"{prefix}/settle", s.squat, s.victim)
    gained = (
        world.balance(world.attacker.address)
        - before
        + mined["gas_used"] * _gas_price(world, mined)
    )
    # the deposit back and the reward (and, where the challenger is paid, the ESP's slash)
    assert gained >= world.params.challenge_deposit + world.params.challenge_reward
    api.index()
    assert _verdicts(api, s.victim) == ["upheld", "settled"]
    assert api.client.get(f"/v1/products/{s.victim}").json()["status"] == "revoked"
