"""ReputationView and EvidenceLib against the off-chain engine, through the real contracts.

Interactions are driven end to end: the producer locks the fee and acknowledges it with the
ESP's signed quote, the ESP withdraws and the
producer submits feedback, or the lock times out and is refunded and recorded. The engine is fed
from the chain's ``FeedbackRecorded`` events and must agree with the view within 1e-6.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import errors
from services.reputation import ReputationEngine, ReputationParams
from services.reputation.onchain import OnChainReputation, interactions_from_events
from tests.contracts.helpers import lock_fee, register_esp

DAY = 86_400
TOLERANCE = 1e-6


def producers_and_esps(world):
    accounts = world.chain.dev_accounts()
    return [accounts[1], accounts[4], accounts[5], accounts[6]], [accounts[2], accounts[3]]


def setup_market(world):
    producers, esps = producers_and_esps(world)
    for esp in esps:
        register_esp(world, esp)
    address = world.deploy_test_contract("ReputationView", world.deployment.esp_registry.address)
    return producers, esps, OnChainReputation.at(world.chain.w3, address)


def interact(world, producer, esp, outcome: str, amount: int) -> None:
    """One paid interaction ending in positive/negative feedback or a recorded refund."""
    lock, preimage = lock_fee(world, sender=producer, receiver=esp.address, amount=amount)
    client = world.esps(producer)
    client.acknowledge(lock, client.sign_quote(esp, lock))  # only quoted locks count
    if outcome == "refund":
        world.chain.increase_time(3601)
        world.htlc(producer).refund(lock)
        world.esps(world.deployer).record_refund(lock)
    else:
        world.htlc(esp).withdraw(lock, preimage)
        world.esps(producer).submit_feedback(lock, positive=outcome == "positive")


def assert_agreement(world, view, producers, esps, now):
    records = interactions_from_events(world.deployment.esp_registry)
    engine = ReputationEngine.from_records(records)
    for viewer in [*producers, world.buyer]:
        for esp in esps:
            on_chain = view.reputation(viewer.address, esp.address, now=now)
            off_chain = engine.reputation(viewer.address, esp.address, now=now)
            assert abs(on_chain - off_chain) <= TOLERANCE, (viewer.address, esp.address)
    return engine


def test_view_constants_are_the_engine_defaults(world):
    _, _, view = setup_market(world)
    assert view.parameters() == ReputationParams()


def test_newcomer_esp_has_the_base_rate_on_chain(world):
    producers, esps, view = setup_market(world)
    assert view.reputation(producers[0].address, esps[0].address) == 0.5
    local = view.local_opinion(producers[0].address, esps[0].address, now=world.chain.timestamp())
    assert (local.belief, local.disbelief, local.uncertainty) == (0.0, 0.0, 1.0)


def test_golden_history_matches_the_engine_and_decays(world):
    producers, esps, view = setup_market(world)
    plan = [
        (0, 0, "positive", 10**15),
        (1, 0, "positive", 3 * 10**15),
        (2, 0, "negative", 10**15),
        (0, 1, "refund", 10**15),
        (1, 1, "positive", 10**14),  # a tenth of the reference: weighs 1/100
        (3, 1, "positive", 10**15),
    ]
    for k, (p, e, outcome, amount) in enumerate(plan):
        interact(world, producers[p], esps[e], outcome, amount)
        world.chain.increase_time((k + 1) * DAY // 2)
    now = world.chain.timestamp()
    engine = assert_agreement(world, view, producers, esps, now)
    ev = world.esps(world.deployer).evidence(producers[1].address, esps[1].address)
    assert ev["positive"] == 10**16  # (1e14 / 1e15)^2 of one interaction, 1e18-scaled
    later = now + 30 * DAY
    assert view.reputation(producers[0].address, esps[0].address, now=later) == pytest.approx(
        engine.reputation(producers[0].address, esps[0].address, now=later), abs=TOLERANCE
    )
    combined = view.opinion(producers[0].address, esps[0].address, now=now)
    expected = engine.opinion(producers[0].address, esps[0].address, now=now)
    assert combined.belief == pytest.approx(expected.belief, abs=TOLERANCE)
    assert combined.uncertainty == pytest.approx(expected.uncertainty, abs=TOLERANCE)


def test_time_before_the_evidence_is_refused(world):
    producers, esps, view = setup_market(world)
    interact(world, producers[0], esps[0], "positive", 10**15)
    with pytest.raises(errors.ReputationTimeBeforeEvidence) as info:
        view.reputation(producers[0].address, esps[0].address, now=1)
    assert info.value.nowTs == 1


operations = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(0, 1),
        st.sampled_from(["positive", "negative", "refund"]),
        st.sampled_from([1, 10**12, 3 * 10**14, 10**15, 5 * 10**15]),
        st.sampled_from([0, 3_600, DAY, 3 * DAY, 20 * DAY]),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations, later=st.sampled_from([0, DAY, 45 * DAY]))
def test_random_histories_agree_within_1e_6(world, ops, later):
    snapshot = world.chain.snapshot()
    try:
        producers, esps, view = setup_market(world)
        for p, e, outcome, amount, pause in ops:
            interact(world, producers[p], esps[e], outcome, amount)
            if pause:
                world.chain.increase_time(pause)
        assert_agreement(world, view, producers, esps, world.chain.timestamp() + later)
    finally:
        world.chain.revert(snapshot)


def test_hardened_weighting_keeps_the_views_local_opinions_and_differs_on_wash_trading(
    world,
):
    """The off-chain Sybil-resistant weighting (ReputationParams.hardened) is not mirrored by
    ReputationView (docs/reputation.md): they agree on every local opinion and wherever the
    viewer is an ESP's only producer; they differ once a wash-trading Sybil recommends."""
    producers, esps, view = setup_market(world)
    honest, sybil = producers[0], producers[3]
    interact(world, honest, esps[0], "refund", 10**15)
    interact(world, honest, esps[1], "positive", 10**15)
    now = world.chain.timestamp()
    legacy = assert_agreement(world, view, producers, esps, now)
    records = interactions_from_events(world.deployment.esp_registry)
    hardened = ReputationEngine.from_records(records, ReputationParams.hardened())
    for esp in esps:  # only producer of both ESPs: every rule that differs is idle
        on_chain = view.reputation(honest.address, esp.address, now=now)
        assert hardened.reputation(honest.address, esp.address, now=now) == pytest.approx(
            on_chain, abs=TOLERANCE
        )
    for _ in range(4):  # the Sybil pays the failing ESP, the fee goes back to it
        interact(world, sybil, esps[0], "positive", 10**15)
    now = world.chain.timestamp()
    legacy = assert_agreement(world, view, producers, esps, now)
    records = interactions_from_events(world.deployment.esp_registry)
    hardened = ReputationEngine.from_records(records, ReputationParams.hardened())
    newcomer = world.buyer.address
    lifted = view.reputation(newcomer, esps[0].address, now=now)
    assert lifted == pytest.approx(legacy.reputation(newcomer, esps[0].address, now=now))
    assert lifted > view.reputation(newcomer, esps[1].address, now=now)  # the chain is fooled
    assert hardened.reputation(newcomer, esps[0].address, now=now) < hardened.reputation(
        newcomer, esps[1].address, now=now
    )
    for esp in esps:
        local = view.local_opinion(honest.address, esp.address, now=now)
        mine = hardened.local_opinion(honest.address, esp.address, now=now)
        assert mine.belief == pytest.approx(local.belief, abs=TOLERANCE)
        assert mine.disbelief == pytest.approx(local.disbelief, abs=TOLERANCE)
