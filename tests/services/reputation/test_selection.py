"""Ranking and selection: argmax, softmax with a temperature, the floor."""

from __future__ import annotations

import numpy as np
import pytest

from services.reputation import (
    Interaction,
    InvalidParameterError,
    NoEligibleEspError,
    RankedEsp,
    ReputationEngine,
    rank,
    rank_exploring,
    select,
)

RANKING = [RankedEsp("good", 0.9), RankedEsp("fair", 0.7), RankedEsp("bad", 0.1)]


def test_rank_orders_by_reputation_and_gives_newcomers_the_base_rate():
    records = [Interaction("p", "good", True, 10**15, t) for t in range(10)]
    records += [Interaction("p", "bad", False, 10**15, t) for t in range(10)]
    engine = ReputationEngine.from_records(records)
    ranking = rank("p", ["bad", "newcomer", "good"], engine, now=10)
    assert [r.esp for r in ranking] == ["good", "newcomer", "bad"]
    assert ranking[1].reputation == engine.params.base_rate


def test_rank_equals_a_plain_sort_over_any_list_of_esps():
    rng = np.random.default_rng(5)
    records = [
        Interaction(f"p{rng.integers(6)}", f"e{rng.integers(12)}", bool(ok), 10**15, t)
        for t, ok in enumerate(rng.random(300) < 0.7)
    ]
    engine = ReputationEngine.from_records(records)
    values = dict(zip(engine.esps, engine.reputations("p0", now=400).tolist(), strict=True))
    lists = [list(engine.esps), ["x", *engine.esps[::-1]], ["e3", "new1", "e3", "new2"], []]
    for esps in lists:  # the engine's own order, a reversed one with a newcomer, repeats, none
        plain = sorted(((e, values.get(e, 0.5)) for e in esps), key=lambda r: -r[1])
        ranking = rank("p0", esps, engine, now=400)
        assert ranking == plain and all(isinstance(r, RankedEsp) for r in ranking)
        exploring = rank_exploring("p0", esps, engine, now=400)
        assert [r.esp for r in exploring] == [e for e, _ in plain]
        assert [r.reputation for r in exploring] == pytest.approx([t for _, t in plain])
    assert rank("p0", ["a", "b"], ReputationEngine(), now=0) == [("a", 0.5), ("b", 0.5)]


def test_argmax_picks_the_best_eligible():
    assert select(RANKING, policy="argmax") == "good"
    assert select([("a", 0.5), ("b", 0.5)], policy="argmax") == "a"


def test_floor_excludes_and_nothing_eligible_is_an_error():
    picks = {select(RANKING, floor=0.2, rng=np.random.default_rng(i)) for i in range(200)}
    assert "bad" not in picks and picks == {"good", "fair"}
    with pytest.raises(NoEligibleEspError, match=r"floor 0\.95") as info:
        select(RANKING, floor=0.95)
    assert info.value.candidates == 3
    with pytest.raises(NoEligibleEspError):
        select([])


def test_softmax_frequencies_follow_the_temperature():
    rng = np.random.default_rng(7)
    draws = [select(RANKING, temperature=0.1, floor=0.0, rng=rng) for _ in range(4000)]
    logits = np.array([0.9, 0.7, 0.1]) / 0.1
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    observed = np.array([draws.count(e) for e in ("good", "fair", "bad")]) / len(draws)
    assert observed == pytest.approx(expected, abs=0.03)
    hot = [select(RANKING, temperature=100.0, floor=0.0, rng=rng) for _ in range(3000)]
    assert min(hot.count(e) for e in ("good", "fair", "bad")) > 800  # nearly uniform


def test_softmax_is_reproducible_with_a_seeded_rng():
    a = [select(RANKING, rng=np.random.default_rng(3)) for _ in range(5)]
    b = [select(RANKING, rng=np.random.default_rng(3)) for _ in range(5)]
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"policy": "random"}, "policy"),
        ({"temperature": 0.0}, "temperature"),
        ({"floor": 2.0}, "floor"),
    ],
)
def test_bad_selection_parameters_are_named(kwargs, name):
    with pytest.raises(InvalidParameterError, match=name):
        select(RANKING, **kwargs)


def test_selection_probabilities_match_the_softmax_draws():
    import numpy as np

    from services.reputation import select, selection_probabilities

    ranking = [("a", 0.9), ("b", 0.7), ("c", 0.1)]
    probs = selection_probabilities(ranking, temperature=0.15, floor=0.2)
    assert probs[2] == 0.0 and abs(sum(probs) - 1.0) < 1e-12 and probs[0] > probs[1] > 0
    rng = np.random.default_rng(0)
    draws = [select(ranking, temperature=0.15, floor=0.2, rng=rng) for _ in range(4000)]
    assert abs(draws.count("a") / 4000 - probs[0]) < 0.03
    assert selection_probabilities([("x", 0.1)], temperature=0.15, floor=0.2) == [0.0]


def test_exploring_probabilities_of_no_esps_are_empty_not_an_error():
    """Found by the API fuzzer: GET /v1/esps before any ESP registered answered 500 (max() of an
    empty row); with nothing registered there is simply nothing to choose."""
    from services.reputation.selection import exploring_probabilities

    empty = np.zeros(0)
    probs = exploring_probabilities(empty, empty, temperature=0.2, floor=0.55, explore_share=0.02)
    assert probs.shape == (0,)
