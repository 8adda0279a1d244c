"""The Opinion value object: validation, evidence mapping, consensus, expectation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reputation import InvalidOpinionError, Opinion


def opinions(base_rate: float = 0.5):
    def build(r: float, s: float, w: float) -> Opinion:
        return Opinion.from_evidence(positive=r, negative=s, prior_weight=w, base_rate=base_rate)

    evidence = st.floats(min_value=0, max_value=1e6, allow_nan=False)
    return st.builds(build, evidence, evidence, st.floats(min_value=0.1, max_value=10))


def test_components_must_sum_to_one():
    with pytest.raises(InvalidOpinionError, match="not 1"):
        Opinion(0.5, 0.5, 0.5)


@pytest.mark.parametrize("field", ["belief", "disbelief", "uncertainty", "base_rate"])
def test_component_out_of_range_is_named(field):
    values = {"belief": 0.2, "disbelief": 0.3, "uncertainty": 0.5, "base_rate": 0.5}
    values[field] = 1.5
    with pytest.raises(InvalidOpinionError, match=field):
        Opinion(**values)


def test_evidence_mapping_matches_the_formula():
    o = Opinion.from_evidence(positive=6, negative=2, prior_weight=2)
    assert (o.belief, o.disbelief, o.uncertainty) == pytest.approx((0.6, 0.2, 0.2))
    assert o.expected() == pytest.approx(0.6 + 0.5 * 0.2)


def test_no_evidence_is_vacuous_and_expects_the_base_rate():
    o = Opinion.from_evidence(positive=0, negative=0, base_rate=0.3)
    assert o == Opinion.vacuous(0.3)
    assert o.expected() == 0.3


def test_negative_evidence_is_refused():
    with pytest.raises(InvalidOpinionError, match="evidence"):
        Opinion.from_evidence(positive=-1, negative=0)


def test_fusing_with_vacuous_is_identity():
    o = Opinion.from_evidence(positive=3, negative=1)
    fused = o.fuse(Opinion.vacuous())
    assert (fused.belief, fused.disbelief, fused.uncertainty) == pytest.approx(
        (o.belief, o.disbelief, o.uncertainty)
    )


def test_consensus_adds_evidence():
    """Cumulative fusion of (r1, s1) and (r2, s2) equals the opinion of (r1 + r2, s1 + s2)."""
    a = Opinion.from_evidence(positive=3, negative=1)
    b = Opinion.from_evidence(positive=5, negative=2)
    both = Opinion.from_evidence(positive=8, negative=3)
    fused = a.fuse(b)
    assert (fused.belief, fused.disbelief, fused.uncertainty) == pytest.approx(
        (both.belief, both.disbelief, both.uncertainty)
    )


def test_two_dogmatic_opinions_are_averaged():
    fused = Opinion(1.0, 0.0, 0.0).fuse(Opinion(0.0, 1.0, 0.0))
    assert (fused.belief, fused.disbelief, fused.uncertainty) == (0.5, 0.5, 0.0)


def test_weighted_average_and_its_errors():
    a, b = Opinion(0.8, 0.0, 0.2), Opinion(0.0, 0.8, 0.2)
    avg = Opinion.weighted_average([a, b], [3.0, 1.0])
    assert (avg.belief, avg.disbelief, avg.uncertainty) == pytest.approx((0.6, 0.2, 0.2))
    assert Opinion.weighted_average([a], [0.0]) == Opinion.vacuous()
    with pytest.raises(InvalidOpinionError, match="weights"):
        Opinion.weighted_average([a, b], [1.0])
    with pytest.raises(InvalidOpinionError, match=">= 0"):
        Opinion.weighted_average([a], [-1.0])


@given(opinions(), opinions())
def test_fusion_is_a_commutative_valid_opinion_that_is_no_less_certain(x, y):
    xy, yx = x.fuse(y), y.fuse(x)
    assert math.isclose(xy.belief, yx.belief, abs_tol=1e-12)
    assert math.isclose(xy.uncertainty, yx.uncertainty, abs_tol=1e-12)
    assert xy.uncertainty <= min(x.uncertainty, y.uncertainty) + 1e-12
    assert 0.0 <= xy.expected() <= 1.0


def test_fused_base_rate_is_exact_for_nearly_vacuous_opinions():
    """Regression: the textbook base-rate formula cancels catastrophically when u1, u2 -> 1."""
    nearly = Opinion.from_evidence(positive=0.0, negative=1.4e-9, prior_weight=1.0, base_rate=0.3)
    fused = Opinion.vacuous(0.3).fuse(nearly)
    assert fused.base_rate == 0.3
    assert fused.expected() == pytest.approx(0.3 * nearly.uncertainty, abs=1e-15)
    mixed = Opinion(0.2, 0.2, 0.6, 0.2).fuse(Opinion(0.1, 0.5, 0.4, 0.8))
    w1, w2 = 0.4 * 0.4, 0.6 * 0.6
    assert mixed.base_rate == pytest.approx((0.2 * w1 + 0.8 * w2) / (w1 + w2))
