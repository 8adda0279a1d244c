"""Attack resistance with the default (on-chain) parameters; bounds in docs/reputation.md."""

from __future__ import annotations

import pytest

from services.reputation import Interaction, ReputationEngine, ReputationParams

DAY = 86_400
REF = ReputationParams().value_reference  # one full-weight interaction
ON_OFF_BOUND = 3  # bad interactions per producer per daily good interaction (docs/reputation.md)


def market(days: int, producers: int = 10, *, failures_every: int = 20) -> list[Interaction]:
    """Two honest ESPs (one failure in ``failures_every``), one interaction per producer per day."""
    records = []
    for day in range(days):
        for x in range(producers):
            for k, esp in enumerate(("honest1", "honest2")):
                ok = (day + x + 7 * k) % failures_every != 0
                records.append(Interaction(f"p{x}", esp, ok, REF, day * DAY + 100 * x))
    return records


def test_whitewashed_newcomer_starts_at_the_base_rate_below_honest_esps():
    engine = ReputationEngine.from_records(market(30))
    now = 30 * DAY
    newcomer = engine.reputation("p0", "fresh-identity", now=now)
    assert newcomer == engine.params.base_rate
    for esp in ("honest1", "honest2"):
        assert engine.reputation("p0", esp, now=now) > newcomer
        assert engine.reputation("stranger", esp, now=now) > newcomer


@pytest.mark.parametrize("good_days", [30, 365, 1000])
@pytest.mark.parametrize("per_day", [1, 3])
def test_on_off_esp_falls_below_honest_ones_within_the_stated_bound(good_days, per_day):
    producers = 10
    records = market(good_days, producers, failures_every=10)  # honest peers: 90% success
    for day in range(good_days):
        for x in range(producers):
            records += [
                Interaction(f"p{x}", "onoff", True, REF, day * DAY + r) for r in range(per_day)
            ]
    engine = ReputationEngine.from_records(records)
    for bad in range(1, 10 * per_day + 1):
        day, slot = good_days + (bad - 1) // per_day, (bad - 1) % per_day
        for x in range(producers):
            engine.record(Interaction(f"p{x}", "onoff", False, REF, day * DAY + slot))
            if slot == 0:
                for k, esp in enumerate(("honest1", "honest2")):
                    ok = (day + x + 7 * k) % 10 != 0
                    engine.record(Interaction(f"p{x}", esp, ok, REF, day * DAY + 100 * x))
        now = day * DAY + DAY - 1
        scores = dict(zip(engine.esps, engine.reputations("p0", now=now), strict=True))
        if scores["onoff"] < min(scores["honest1"], scores["honest2"]):
            break
    assert bad <= ON_OFF_BOUND * per_day


@pytest.mark.parametrize("ring_size", [3, 30, 300])
def test_collusion_ring_with_few_interactions_cannot_lift_its_esp(ring_size):
    """Sybils with at most 3 full-value positive interactions each stay below honest ESPs."""
    records = market(30)
    records += [
        Interaction(f"sybil{s}", "colluder", True, 100 * REF, s % 3 + 29 * DAY)
        for s in range(ring_size)
        for _ in range(3)
    ]
    engine = ReputationEngine.from_records(records)
    now = 30 * DAY
    for viewer in ("p0", "stranger"):
        scores = dict(zip(engine.esps, engine.reputations(viewer, now=now), strict=True))
        assert scores["colluder"] <= (3 + 0.5 * 2) / (3 + 2) + 1e-12  # the stated ceiling
        assert scores["colluder"] < min(scores["honest1"], scores["honest2"])


def test_many_tiny_interactions_count_for_less_than_a_few_substantial_ones():
    tiny = [Interaction(f"q{i % 5}", "spammed", True, REF // 20, i) for i in range(400)]
    solid = [Interaction(f"q{i % 3}", "solid", True, REF, i) for i in range(3)]
    engine = ReputationEngine.from_records(tiny + solid)
    assert engine.reputation("v", "solid", now=DAY) > engine.reputation("v", "spammed", now=DAY)
    assert engine.reputation("q0", "solid", now=DAY) > engine.reputation("q0", "spammed", now=DAY)
