"""ESPs ranked by reputation from the caller's view, fed by on-chain feedback via the indexer."""

from __future__ import annotations

import numpy as np

from tests.contracts.helpers import lock_fee, register_esp


def _pay(world, producer, esp, *, deliver: bool):
    lock, preimage = lock_fee(world, sender=producer, receiver=esp.address, duration=120)
    world.esps(producer).acknowledge(lock, world.esps(producer).sign_quote(esp, lock))
    if deliver:
        world.htlc(esp).withdraw(lock, preimage)
        world.esps(producer).submit_feedback(lock, positive=True)
    else:
        world.chain.increase_time(121)
        world.htlc(producer).refund(lock)
        world.esps(producer).record_refund(lock)


def test_reputation_orders_esps_and_probabilities_sum_to_one(api):
    world = api.world
    good, lazy = world.accounts[2], world.accounts[5]
    register_esp(world, good)
    register_esp(world, lazy)
    for _ in range(3):
        _pay(world, world.producer, good, deliver=True)
        _pay(world, world.producer, lazy, deliver=False)
    api.index()
    headers = api.sign_in(world.producer)
    body = api.client.get("/v1/esps", headers=headers).json()
    assert body["viewer"] == world.producer.address
    lower = {"Authorization": headers["Authorization"].replace("Bearer ", "bearer ")}
    assert api.client.get("/v1/esps", headers=lower).json()["viewer"] == world.producer.address
    ranked = [e["address"] for e in body["items"]]
    assert ranked == [good.address, lazy.address]
    scores = {e["address"]: e for e in body["items"]}
    assert scores[good.address]["reputation"] > scores[lazy.address]["reputation"]
    assert abs(sum(e["selection_probability"] for e in body["items"]) - 1.0) < 1e-6
    anonymous = api.client.get("/v1/esps").json()
    assert anonymous["viewer"] == "anonymous"
    assert [e["address"] for e in anonymous["items"]] == ranked  # others' evidence still counts


def test_bad_query_parameters_are_422(api):
    r = api.client.get("/v1/esps", params={"temperature": 0})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def test_wash_trades_by_a_sybil_do_not_lift_a_failing_esp(api):
    """A Sybil producer that pays only the failing ESP and praises it (wash trading: the fee
    returns to the ESP's owner) outweighed an honest producer's refunds under the on-chain
    weighting; the API ranks with the Sybil-resistant one, where a recommender that never paid
    another ESP weighs nothing."""
    from ledger.indexer import ChainEvent
    from marketplace_api.market import _interaction
    from services.reputation import ReputationEngine, rank

    world = api.world
    good, lazy, sybil = world.accounts[2], world.accounts[5], world.accounts[6]
    register_esp(world, good)
    register_esp(world, lazy)
    for _ in range(2):
        _pay(world, world.producer, good, deliver=True)
        _pay(world, world.producer, lazy, deliver=False)
    for _ in range(15):
        _pay(world, sybil, lazy, deliver=True)
    api.index()
    ranked = [e["address"] for e in api.client.get("/v1/esps").json()["items"]]
    assert ranked == [good.address, lazy.address]

    # The attack works against the plain (on-chain) weighting: same evidence, lazy on top.
    plain = ReputationEngine()
    with api.client.app.state.sessions() as session:
        for args, t in session.query(ChainEvent.args, ChainEvent.block_time).filter(
            ChainEvent.event == "FeedbackRecorded"
        ):
            plain.record(_interaction(args, t))
    now = world.chain.timestamp()
    order = [r.esp for r in rank("anonymous", [good.address, lazy.address], plain, now=now)]
    assert order == [lazy.address, good.address]


def test_a_newcomer_gets_at_most_the_exploration_share(api):
    """A fresh address (e.g. an ESP with a bad record re-registered under a new one) sits at the
    base rate 0.5. The previous softmax (temperature 0.15, floor 0.2) gave it about a fifth of
    the tasks against an ESP at 0.78; the API now selects with a bounded exploration share
    (services.reputation.rank_exploring): established ESPs at or above the floor 0.55 share 98%,
    newcomers and ESPs on probation share 2%, and an ESP whose failures outweigh its successes
    (reputation below the base rate) gets nothing."""
    world = api.world
    good, lazy, fresh = world.accounts[2], world.accounts[5], world.accounts[6]
    for esp in (good, lazy, fresh):
        register_esp(world, esp)
    for _ in range(3):
        _pay(world, world.producer, good, deliver=True)
        _pay(world, world.producer, lazy, deliver=False)
    api.index()
    body = api.client.get("/v1/esps", headers=api.sign_in(world.producer)).json()
    assert (body["temperature"], body["floor"]) == (0.2, 0.55)
    by = {e["address"]: e for e in body["items"]}
    assert by[fresh.address]["reputation"] == 0.5
    assert by[fresh.address]["selection_probability"] == 0.02
    assert by[good.address]["selection_probability"] == 0.98
    assert by[lazy.address]["reputation"] < 0.5
    assert by[lazy.address]["selection_probability"] == 0.0
    # the task route draws from the same probabilities: never the lazy ESP
    market = api.client.app.state.market
    picks = {
        market.choose(
            world.producer.address,
            [good.address, lazy.address, fresh.address],
            now=world.chain.timestamp(),
            rng=np.random.default_rng(seed),
        )
        for seed in range(200)
    }
    assert lazy.address not in picks and good.address in picks
