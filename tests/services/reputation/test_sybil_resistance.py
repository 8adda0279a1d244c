"""The off-chain Sybil-resistant weighting (ReputationParams.hardened) and exploring selection.

Each attack runs twice: against the on-chain subset (the previous weighting), where it works,
and against the hardened weighting, where it does not (docs/reputation.md, "Wave 2").
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reputation import (
    Interaction,
    InvalidInteractionError,
    InvalidParameterError,
    NoEligibleEspError,
    Opinion,
    ReputationEngine,
    ReputationParams,
)
from services.reputation.selection import exploring_probabilities, select, selection_probabilities

DAY = 86_400
REF = 10**15
HARD = ReputationParams.hardened()
STRANGER_RULES = ReputationParams.hardened(trust_steps=None)
LEGACY = ReputationParams()


def honest_market(days: int = 20, producers: int = 12, every: int = 5) -> list[Interaction]:
    """A thin market: each producer deals with two honest ESPs every ``every`` days (one
    failure in 20) and with a failing one (two refunds in three) every other time."""
    out = []
    for day, x in itertools.product(range(days), range(producers)):
        if (day + x) % every:
            continue
        t = day * DAY + 10 * x
        for k, esp in enumerate(("honest1", "honest2")):
            out.append(Interaction(f"p{x}", esp, (7 * day + 3 * x + k) % 20 != 0, REF, t))
        if (day + x) % (2 * every) == 0:
            out.append(Interaction(f"p{x}", "failing", (day + x) % 3 == 0, REF, t + 1))
    return out


# --- the weighting itself, against a per-opinion oracle -----------------------------------


def oracle(records: list[Interaction], params: ReputationParams, viewer: str, now: int):
    """Per-opinion reference of the hardened weighting: loops and Opinion objects only."""
    k = params.epoch(now)
    nd = params.negative_decay or params.decay
    ev: dict[tuple[str, str], list[float]] = {}
    for r in records:
        e = ev.setdefault((r.producer, r.esp), [0.0, 0.0, -1])
        age = k - params.epoch(r.time)
        w = params.interaction_weight(r.value)
        if r.positive:
            e[0] += w * params.decay**age
        else:
            e[1] += w * nd**age
        e[2] = max(e[2], params.epoch(r.time))
    esps = sorted({esp for _, esp in ev})
    total = {x: sum(v[0] + v[1] for (y, _), v in ev.items() if y == x) for x, _ in ev}

    def contribution(x: str, j: str) -> tuple[float, float, float, float]:
        p, n, last = ev[(x, j)]
        fam = p + n
        scale = min(1.0, params.recommender_cap / fam) if params.recommender_cap else 1.0
        o = Opinion.from_evidence(
            positive=p * scale,
            negative=n * scale * params.negative_weight,
            prior_weight=params.prior_weight,
        )
        w = min(fam, params.recommender_cap or math.inf) * params.decay ** (k - last)
        if params.diversity_reference:
            w *= min(1.0, max(0.0, total[x] - fam) / params.diversity_reference)
        return w * o.belief, w * o.disbelief, w * o.uncertainty, w

    def stranger(j: str, cred: dict[str, float]) -> float:
        parts = [tuple(c * cred.get(x, 1.0) for c in contribution(x, j)) for x, y in ev if y == j]
        b, d, u, w = (sum(c) for c in zip(*parts, strict=True))
        if w <= 0:
            return params.base_rate
        u += params.recommendation_prior
        return (b + params.base_rate * u) / (b + d + u)

    consensus = {j: stranger(j, {}) for j in esps}
    cred = {}
    for x in total:
        dev = fam_sum = 0.0
        for (y, j), (p, n, _) in ev.items():
            if y != x:
                continue
            fam = min(p + n, params.recommender_cap or math.inf)
            own = (p + params.base_rate * params.prior_weight) / (
                p + params.negative_weight * n + params.prior_weight
            )
            dev += fam * abs(own - consensus[j])
            fam_sum += fam
        cred[x] = max(0.0, 1.0 - dev / fam_sum / params.credibility_reference)
    out = {}
    for j in esps:
        parts = [
            tuple(c * cred[x] for c in contribution(x, j)) for x, y in ev if y == j and x != viewer
        ]
        b, d, u, w = (sum(c) for c in zip(*parts, strict=True)) if parts else (0, 0, 0, 0)
        if w > 0:
            u += params.recommendation_prior
            overall = Opinion(b / (b + d + u), d / (b + d + u), u / (b + d + u))
        else:
            overall = Opinion.vacuous()
        p, n, _ = ev.get((viewer, j), (0.0, 0.0, 0))
        local = Opinion.from_evidence(
            positive=p, negative=n * params.negative_weight, prior_weight=params.prior_weight
        )
        out[j] = local.fuse(overall).expected()
    return out


records_strategy = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.integers(0, 2),
        st.booleans(),
        st.sampled_from([10**14, REF, 4 * REF]),
        st.integers(0, 30),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(ops=records_strategy, viewer=st.integers(0, 5))
def test_hardened_engine_matches_the_per_opinion_oracle(ops, viewer):
    records = [
        Interaction(f"p{p}", f"e{e}", ok, value, day * DAY + i)
        for i, (p, e, ok, value, day) in enumerate(ops)
    ]
    now = 31 * DAY
    # this oracle has no trust walk (test_fast_paths compares the walk with _naive's loop)
    engine = ReputationEngine.from_records(records, STRANGER_RULES)
    expected = oracle(records, STRANGER_RULES, f"p{viewer}", now)
    got = dict(zip(engine.esps, engine.reputations(f"p{viewer}", now=now).tolist(), strict=True))
    for esp, value in expected.items():
        assert got[esp] == pytest.approx(value, abs=1e-9)
    # one by one gives the same as the batch (with the trust walk)
    engine = ReputationEngine.from_records(records, HARD)
    incremental = ReputationEngine(HARD)
    for r in sorted(records, key=lambda r: r.time):
        incremental.reputations("p0", now=r.time)  # a cached epoch to keep current
        incremental.record(r)
    again = incremental.reputations(f"p{viewer}", now=now)
    order = [incremental.esps.index(e) for e in engine.esps]
    np.testing.assert_allclose(again[order], engine.reputations(f"p{viewer}", now=now), atol=1e-9)


def test_hardened_is_the_on_chain_subset_with_six_rules_added():
    assert LEGACY.sybil_resistant is False
    assert HARD.sybil_resistant is True
    neutral = ReputationParams.hardened(
        recommender_cap=None,
        diversity_reference=None,
        recommendation_prior=0.0,
        credibility_reference=None,
        negative_decay=None,
        trust_steps=None,
    )
    assert neutral == LEGACY


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recommender_cap", 0.0),
        ("diversity_reference", -1.0),
        ("recommendation_prior", -0.5),
        ("credibility_reference", math.inf),
        ("negative_decay", 1.5),
        ("deadline_weight", 2.0),
        ("steps_reference", 0),
        ("trust_steps", 0),
        ("trust_steps", 2.5),
        ("trust_reference", 0.0),
        ("trust_reference", math.nan),
    ],
)
def test_new_parameters_are_validated(field, value):
    with pytest.raises(InvalidParameterError) as info:
        ReputationParams(**{field: value})
    assert field in str(info.value)


# --- outcome refinement: quality, deadline, complexity --------------------------------------


def test_quality_deadline_and_steps_refine_the_evidence():
    params = ReputationParams()
    pos, neg = params.evidence_split(
        [REF] * 5,
        [True, True, True, True, False],
        quality=[math.nan, 0.5, 1.0, 1.0, 1.0],
        elapsed=[math.nan, 0.0, 1.0, 0.0, 0.0],
        steps=[math.nan, 30, 30, 60, 30],
    )
    np.testing.assert_allclose(pos, [1.0, 0.5, 0.75, 2.0, 0.0])
    np.testing.assert_allclose(neg, [0.0, 0.5, 0.25, 0.0, 1.0])
    # without the extra fields, exactly the on-chain weighting
    plain = ReputationEngine.from_records(honest_market(3))
    fields = ReputationEngine.from_records(
        [
            Interaction(r.producer, r.esp, r.positive, r.value, r.time, None, None, None)
            for r in honest_market(3)
        ]
    )
    assert plain.reputation("x", "honest1", now=3 * DAY) == fields.reputation(
        "x", "honest1", now=3 * DAY
    )


def test_a_low_quality_rating_lowers_reputation_and_bad_fields_are_refused():
    good = [Interaction(f"p{i}", "e", True, REF, i) for i in range(5)]
    rated = [Interaction(f"p{i}", "e", True, REF, i, quality=0.2) for i in range(5)]
    t_good = ReputationEngine.from_records(good).reputation("v", "e", now=10)
    t_rated = ReputationEngine.from_records(rated).reputation("v", "e", now=10)
    assert t_rated < 0.5 < t_good
    for kwargs in ({"quality": 1.5}, {"elapsed": -0.1}, {"steps": 0}):
        with pytest.raises(InvalidInteractionError):
            Interaction("p", "e", True, REF, 0, **kwargs)


# --- attacks: succeed against the on-chain subset, fail against the hardened weighting -------


def stranger_view(records, params, now):
    engine = ReputationEngine.from_records(records, params)
    return {esp: engine.reputation("newcomer", esp, now=now) for esp in engine.esps}


@pytest.mark.parametrize("locks", [40, 200])
def test_wash_trading_lifts_a_failing_esp_only_under_the_old_weighting(locks):
    base = honest_market()
    now = 20 * DAY
    wash = [Interaction("sybil", "failing", True, REF, now - 1000 + i) for i in range(locks)]
    old = stranger_view(base + wash, LEGACY, now)
    new = stranger_view(base + wash, HARD, now)
    assert old["failing"] > max(old["honest1"], old["honest2"])  # works on the old weighting
    assert new["failing"] < min(new["honest1"], new["honest2"])
    assert new["failing"] == pytest.approx(stranger_view(base, HARD, now)["failing"], abs=1e-12)


def test_a_wash_trading_sybil_that_also_pays_honest_esps_stays_capped():
    base = honest_market()
    now = 20 * DAY
    cover = [Interaction("sybil", "honest1", True, REF, now - 2000)]  # Ether really left it
    wash = [Interaction("sybil", "failing", True, REF, now - 1000 + i) for i in range(200)]
    old = stranger_view(base + cover + wash, LEGACY, now)
    new = stranger_view(base + cover + wash, HARD, now)
    assert old["failing"] > max(old["honest1"], old["honest2"])
    assert new["failing"] < min(new["honest1"], new["honest2"])
    assert new["failing"] < 0.55  # below the selection floor: the cap holds


def test_badmouthing_by_sybils_moves_an_honest_esp_less():
    base = honest_market()
    now = 20 * DAY
    smear = [
        Interaction(f"sybil{s}", esp, esp == "honest2", REF, now - 1000 + 10 * s + k)
        for s in range(6)
        for k, esp in enumerate(("honest1", "honest2"))
    ]  # each Sybil pays both, praises one and smears the other (so it has diversity)
    before_old, before_new = stranger_view(base, LEGACY, now), stranger_view(base, HARD, now)
    old, new = stranger_view(base + smear, LEGACY, now), stranger_view(base + smear, HARD, now)
    drop_old = before_old["honest1"] - old["honest1"]
    drop_new = before_new["honest1"] - new["honest1"]
    assert drop_old > 0.03
    assert drop_new < drop_old / 2


def test_a_whitewashed_identity_gets_at_most_the_exploration_share():
    engine = ReputationEngine.from_records(honest_market(), HARD)
    now = 20 * DAY
    b, _, u = engine.opinion_arrays("newcomer", now=now)
    rep = [*(b + HARD.base_rate * u).tolist(), HARD.base_rate]  # + a fresh identity
    unc = [*u.tolist(), 1.0]
    probs = exploring_probabilities(
        np.array(rep), np.array(unc), temperature=0.2, floor=0.55, explore_share=0.02
    )
    assert probs[-1] <= 0.02
    assert probs[engine.esps.index("failing")] == 0.0
    # the old selection: the fresh identity competes at the base rate with everyone
    old = dict(zip([*engine.esps, "fresh"], rep, strict=True))
    share = selection_probabilities(list(old.items()), temperature=0.15, floor=0.2)[-1]
    assert share > 0.1
    assert select(list(old.items()), policy="argmax") != "fresh"


def test_exploring_probabilities_rows_sum_to_one_or_wait():
    t = np.array([[0.7, 0.6, 0.5, 0.3], [0.5, 0.4, 0.45, 0.3], [0.3, 0.2, 0.1, 0.0]])
    u = np.array([[0.5, 0.5, 1.0, 0.5], [1.0, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]])
    p = exploring_probabilities(t, u, temperature=0.2, floor=0.55, explore_share=0.05)
    np.testing.assert_allclose(p.sum(axis=1), [1.0, 1.0, 0.0])
    assert p[0, 2] == pytest.approx(0.05) and p[0, 3] == 0.0
    assert p[1, 0] == pytest.approx(1.0)  # nothing established above the floor: newcomers only
    probation = exploring_probabilities(
        t, u, temperature=0.2, floor=0.65, explore_share=0.05, probation_from=0.5
    )
    assert probation[0, 1] == pytest.approx(0.025)  # under the floor, above the base rate
    with pytest.raises(InvalidParameterError):
        exploring_probabilities(t, u, temperature=0.2, floor=0.5, explore_share=1.5)


def test_on_off_an_esp_that_failed_stays_excluded_longer():
    base = honest_market(40)
    now = 40 * DAY
    turn = [
        Interaction(f"p{x}", "onoff", day < 25 or day >= 31, REF, day * DAY + 5 + x)
        for day in range(40)
        for x in range(12)
        if (day + x) % 3 == 0
    ]  # good for 25 days, 6 bad days, then good again for 9 days
    old = stranger_view(base + turn, LEGACY, now)
    new = stranger_view(base + turn, HARD, now)
    esps = sorted(old)
    old_share = selection_probabilities([(e, old[e]) for e in esps], temperature=0.15, floor=0.2)[
        esps.index("onoff")
    ]
    assert old_share > 0.1  # back in business 9 days after its bad run
    assert new["onoff"] < 0.55  # still under the hardened floor: failures fade slower


def test_the_papers_experiment_keeps_its_shape_with_the_hardened_weighting():
    from aigc_lab.reputation.experiment import ExperimentConfig, run_experiment

    result = run_experiment(ExperimentConfig(params=HARD))
    assert all(result.expected_shape().values()), result.expected_shape()


def test_select_exploring_sends_a_fresh_identity_at_most_the_exploration_share():
    from services.reputation.selection import select_exploring

    engine = ReputationEngine.from_records(honest_market(), HARD)
    rng = np.random.default_rng(7)
    esps = ["honest1", "honest2", "failing", "fresh"]
    picks = [select_exploring("p0", esps, engine, now=20 * DAY, rng=rng) for _ in range(2000)]
    assert picks.count("fresh") + picks.count("failing") <= 0.02 * 2000 * 1.5
    assert picks.count("failing") == 0
    assert picks.count("honest1") > 300 and picks.count("honest2") > 300


def test_an_esp_at_capacity_is_left_out_and_the_others_share_its_part():
    t = np.array([0.7, 0.6, 0.5])
    u = np.array([0.5, 0.5, 1.0])  # two established ESPs and a newcomer
    kw = {"temperature": 0.2, "floor": 0.55, "explore_share": 0.05}
    busy = exploring_probabilities(t, u, available=[False, True, True], **kw)
    np.testing.assert_allclose(busy, [0.0, 0.95, 0.05])
    # every established ESP full: the newcomer gets the task, never more than when one had room
    full = exploring_probabilities(t, u, available=[False, False, True], **kw)
    np.testing.assert_allclose(full, [0.0, 0.0, 1.0])
    assert not exploring_probabilities(t, u, available=[False, False, False], **kw).any()
    free = [[True, True, True], [False, True, True]]  # one row per producer
    rows = exploring_probabilities(np.vstack([t, t]), np.vstack([u, u]), available=free, **kw)
    np.testing.assert_allclose(rows[1], busy)
    assert rows[0, 0] > rows[0, 1] > 0


def test_select_exploring_draws_again_among_the_esps_that_did_not_decline():
    from services.reputation.selection import rank_exploring, select_exploring

    engine = ReputationEngine.from_records(honest_market(), HARD)
    esps = ["honest1", "honest2", "failing", "fresh"]
    ranked = rank_exploring("p0", esps, engine, now=20 * DAY, unavailable={"honest1"})
    share = {r.esp: r.probability for r in ranked}
    assert share["honest1"] == 0.0 and share["honest2"] == pytest.approx(0.98)
    rng = np.random.default_rng(3)
    picks = [
        select_exploring("p0", esps, engine, now=20 * DAY, unavailable=["honest1"], rng=rng)
        for _ in range(500)
    ]
    assert "honest1" not in picks and picks.count("honest2") > 450
    with pytest.raises(NoEligibleEspError):
        select_exploring(
            "p0", ["honest1", "failing"], engine, now=20 * DAY, unavailable={"honest1"}
        )
