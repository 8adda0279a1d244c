"""The vectorised engine against the per-opinion oracle, incremental updates, the epoch cache."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigc_lab.reputation._naive import naive_evidence, naive_reputations
from services.reputation import (
    Interaction,
    InteractionLog,
    Opinion,
    ReputationEngine,
    ReputationParams,
    TimeOrderError,
)

DAY = 86_400
PARAMS = ReputationParams()

interactions = st.builds(
    Interaction,
    producer=st.sampled_from([f"p{i}" for i in range(6)]),
    esp=st.sampled_from([f"e{i}" for i in range(4)]),
    positive=st.booleans(),
    value=st.integers(min_value=0, max_value=10**16),
    time=st.integers(min_value=0, max_value=60 * DAY),
)
param_sets = st.sampled_from(
    [
        PARAMS,
        ReputationParams(decay=1.0, value_reference=None),
        ReputationParams(
            decay=0.5, period=3600, negative_weight=3.0, prior_weight=1.0, base_rate=0.3
        ),
    ]
)


def oracle(records, params, viewer, now):
    return naive_reputations(viewer, naive_evidence(records, params), params, params.epoch(now))


def as_dict(engine, viewer, now):
    return dict(zip(engine.esps, engine.reputations(viewer, now=now).tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(interactions, min_size=1, max_size=60),
    param_sets,
    st.sampled_from(["p0", "p3", "stranger"]),
)
def test_bulk_ingest_agrees_with_the_per_opinion_loop(records, params, viewer):
    now = max(r.time for r in records) + st_offset(records)
    engine = ReputationEngine.from_records(records, params)
    expected = oracle(records, params, viewer, now)
    got = as_dict(engine, viewer, now)
    assert set(got) == set(expected)
    for esp, value in expected.items():
        assert got[esp] == pytest.approx(value, abs=1e-9)
        assert engine.reputation(viewer, esp, now=now) == pytest.approx(value, abs=1e-9)


def st_offset(records):
    return len(records) * 3 * DAY // 7  # query a few days after the last record


@settings(max_examples=40, deadline=None)
@given(st.lists(interactions, min_size=2, max_size=60), st.integers(min_value=0, max_value=59))
def test_incremental_updates_agree_with_bulk_ingest(records, split):
    records = sorted(records, key=lambda r: r.time)
    split = min(split, len(records) - 1)
    engine = ReputationEngine.from_records(records[:split] or records[:1], PARAMS)
    rest = records[split:] if split else records[1:]
    now = records[-1].time
    engine.reputations("p1", now=engine.latest_time)  # builds a cache the updates must keep current
    for r in rest:
        engine.record(r)
    bulk = ReputationEngine.from_records(records, PARAMS)
    for viewer in ("p0", "p1"):
        got, want = as_dict(engine, viewer, now), as_dict(bulk, viewer, now)
        assert got.keys() == want.keys()
        for esp in want:
            assert got[esp] == pytest.approx(want[esp], abs=1e-9)


def test_cache_is_updated_in_place_by_same_epoch_records():
    records = [Interaction(f"p{i % 3}", f"e{i % 2}", i % 4 != 0, 10**15, i * 60) for i in range(40)]
    engine = ReputationEngine.from_records(records, PARAMS)
    now = 40 * 60
    engine.reputations("p0", now=now)
    extra = [
        Interaction("p2", "e1", False, 10**15, now),
        Interaction("p9", "e0", True, 10**15, now),
    ]
    for r in extra:
        engine.record(r)
    cached = as_dict(engine, "p0", now)
    engine.clear_cache()
    assert as_dict(engine, "p0", now) == pytest.approx(cached, abs=1e-12)
    assert cached == pytest.approx(oracle(records + extra, PARAMS, "p0", now), abs=1e-12)


def test_viewer_dominating_an_esp_is_excluded_exactly():
    """A viewer with vast evidence does not leak into its own recommended opinion."""
    records = [Interaction("big", "e", True, 10**15, t) for t in range(5000)]
    records.append(Interaction("small", "e", False, 10**12, 10))
    engine = ReputationEngine.from_records(records, PARAMS)
    rec = engine.recommended_opinion("big", "e", now=DAY)
    assert rec.disbelief > 0.0 and rec.belief == 0.0
    assert as_dict(engine, "big", DAY)["e"] == pytest.approx(
        oracle(records, PARAMS, "big", DAY)["e"]
    )


def test_opinion_parts_and_newcomers():
    engine = ReputationEngine.from_records(
        [Interaction("me", "e", True, 10**15, 0), Interaction("you", "e", False, 10**15, 0)]
    )
    local = engine.local_opinion("me", "e", now=0)
    assert (local.belief, local.uncertainty) == pytest.approx((1 / 3, 2 / 3))
    rec = engine.recommended_opinion("me", "e", now=0)
    assert (rec.disbelief, rec.uncertainty) == pytest.approx((0.5, 0.5))
    assert engine.opinion("me", "e", now=0) == local.fuse(rec)
    assert engine.reputation("me", "unknown-esp", now=0) == PARAMS.base_rate
    assert engine.local_opinion("stranger", "e", now=0) == Opinion.vacuous()


def test_evidence_fades_towards_the_base_rate():
    engine = ReputationEngine.from_records([Interaction("p", "e", True, 10**15, 0)] * 10)
    early = engine.reputation("q", "e", now=0)
    later = engine.reputation("q", "e", now=200 * DAY)
    assert early > later > PARAMS.base_rate
    assert later == pytest.approx(PARAMS.base_rate, abs=1e-3)


def test_query_before_recorded_evidence_is_refused():
    engine = ReputationEngine.from_records([Interaction("p", "e", True, 1, 10 * DAY)])
    with pytest.raises(TimeOrderError, match="time"):
        engine.reputations("p", now=DAY)


@pytest.mark.parametrize("params", [PARAMS, ReputationParams(decay=0.5, period=3600)])
def test_interactions_far_apart_rebase_without_overflow(params):
    records = [
        Interaction("p", "e", True, 10**15, 0),
        Interaction("q", "e", False, 10**15, 5000 * DAY),
    ]
    engine = ReputationEngine.from_records(records[:1], params)
    engine.record(records[1])
    engine.ingest(InteractionLog.from_records([Interaction("r", "e", True, 10**15, 9000 * DAY)]))
    now = 9000 * DAY
    got = as_dict(engine, "p", now)["e"]
    assert np.isfinite(got)
    assert got == pytest.approx(
        oracle([*records, Interaction("r", "e", True, 10**15, now)], params, "p", now)["e"]
    )
