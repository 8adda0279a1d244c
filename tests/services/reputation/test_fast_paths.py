"""The ranking pass over ESP-grouped rows (issue 12, speed) against the plain computations.

The engine keeps its pair rows sorted by ESP (new pairs in an unsorted tail, merged back once
they are many) and sums per ESP block by block. These tests drive random markets through bulk
ingests and one-by-one records (so that rows move and a tail exists) and compare: the per-ESP
sums with the plain vectorised :func:`weighted_sums` / :func:`esp_sums`, and every reputation
with the per-opinion Python loops, to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest

from aigc_lab.reputation._naive import (
    naive_evidence,
    naive_hardened_reputations,
    naive_reputations,
)
from services.reputation import Interaction, InteractionLog, ReputationEngine, ReputationParams
from services.reputation._aggregate import (
    all_esp_sums,
    esp_sums,
    hardened_sums,
    pair_terms,
    weighted_sums,
)

DAY = 86_400
WEIGHTINGS = {
    "hardened": ReputationParams.hardened(),
    "no-credibility": ReputationParams.hardened(credibility_reference=None),
    "uncapped, diversity 2": ReputationParams.hardened(
        recommender_cap=None, diversity_reference=2.0
    ),
    "prior and negative decay only": ReputationParams(
        recommendation_prior=10.0, negative_decay=0.99
    ),
}


def market(seed: int, params: ReputationParams) -> tuple[ReputationEngine, list[Interaction]]:
    """A random market: one bulk ingest, then records one by one (new pairs: an unsorted tail,
    sometimes merged), then a second bulk ingest with old and new pairs."""
    rng = np.random.default_rng(seed)
    n, producers, esps = (
        int(rng.integers(50, 2_000)),
        int(rng.integers(2, 60)),
        int(rng.integers(1, 30)),
    )
    records = [
        Interaction(
            f"p{rng.integers(producers)}",
            f"e{rng.integers(esps)}",
            bool(rng.random() < 0.7),
            int(rng.lognormal(np.log(1e15), 1.0)),
            int(t),
        )
        for t in np.sort(rng.integers(0, 40 * DAY, n))
    ]
    cut = len(records) // 2
    engine = ReputationEngine.from_records(records[:cut], params)
    for r in records[cut : cut + 200]:
        engine.record(r)
    engine.ingest(InteractionLog.from_records(records[cut + 200 :]))
    for k in range(int(rng.integers(0, 40))):
        r = Interaction(
            f"p{rng.integers(producers + 5)}",
            f"e{rng.integers(esps + 3)}",
            bool(rng.random() < 0.7),
            10**15,
            40 * DAY + k,
        )
        engine.record(r)
        records.append(r)
    return engine, records


def plain_sums(engine: ReputationEngine, epoch: int):
    store, params = engine._store, engine.params
    c = store.scale(epoch)
    return weighted_sums(
        store.producer,
        store.esp,
        store.pos * c,
        store.neg * store.scale_neg(epoch),
        store.fresh * c,
        store.producer_total(np.arange(store.producer_count), epoch),
        len(engine.esps),
        params,
    )


@pytest.mark.parametrize("name", WEIGHTINGS)
@pytest.mark.parametrize("seed", range(8))
def test_blockwise_sums_equal_the_plain_vectorised_ones(name, seed):
    engine, _ = market(seed, WEIGHTINGS[name])
    epoch = engine.params.epoch(41 * DAY)
    fast, cred = hardened_sums(engine._store, engine.params, epoch, len(engine.esps))
    plain, plain_cred, _ = plain_sums(engine, epoch)
    for got, want in (
        (fast.belief, plain.belief),
        (fast.disbelief, plain.disbelief),
        (fast.uncertainty, plain.uncertainty),
    ):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert (fast.count == plain.count).all()
    if plain_cred is None:
        assert cred is None
    else:
        np.testing.assert_allclose(cred, plain_cred, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", WEIGHTINGS)
@pytest.mark.parametrize("seed", range(4))
def test_hardened_reputations_equal_the_per_opinion_loop(name, seed):
    params = WEIGHTINGS[name]
    engine, records = market(seed, params)
    now = 41 * DAY
    evidence = naive_evidence(records, params)
    for viewer in ("p0", "p1", "stranger"):
        want = naive_hardened_reputations(viewer, evidence, params, params.epoch(now))
        got = dict(zip(engine.esps, engine.reputations(viewer, now=now).tolist(), strict=True))
        assert set(got) == set(want)
        assert max(abs(got[e] - want[e]) for e in want) < 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_on_chain_sums_over_esp_blocks_equal_the_per_row_ones(seed):
    params = ReputationParams()
    engine, records = market(seed, params)
    store, epoch = engine._store, params.epoch(41 * DAY)
    fast = all_esp_sums(store, params, epoch, len(engine.esps))
    plain = esp_sums(pair_terms(store, params, epoch), store.esp, len(engine.esps), params)
    np.testing.assert_allclose(fast.belief, plain.belief, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.uncertainty, plain.uncertainty, rtol=1e-9, atol=1e-12)
    now = 41 * DAY
    want = naive_reputations("p0", naive_evidence(records, params), params, params.epoch(now))
    got = dict(zip(engine.esps, engine.reputations("p0", now=now).tolist(), strict=True))
    assert max(abs(got[e] - want[e]) for e in want) < 1e-9


def test_rows_are_grouped_by_esp_and_pairs_find_their_moved_rows():
    rng = np.random.default_rng(5)
    engine = ReputationEngine(ReputationParams.hardened())
    engine.ingest(
        InteractionLog.from_records(
            Interaction(f"p{p}", f"e{e}", True, 10**15, 0)
            for p, e in zip(rng.integers(40, size=400), rng.integers(9, size=400), strict=True)
        )
    )
    store = engine._store
    assert store.sorted_size == store.size  # a bulk ingest leaves no tail
    assert (np.diff(store.esp) >= 0).all()
    keys = {
        (engine.producers[p], engine.esps[e])
        for p, e in zip(store.producer, store.esp, strict=True)
    }
    # new pairs one by one: a tail, merged into the ESP order once it holds an eighth of rows
    for k in range(store.size):
        engine.record(Interaction(f"q{k}", f"e{k % 9}", k % 3 > 0, 10**15, DAY))
        keys.add((f"q{k}", f"e{k % 9}"))
        layout = store.layout()
        assert (store.size - store.sorted_size) * 8 <= store.size
        assert (np.diff(store.esp[: store.sorted_size]) >= 0).all()
        covered = sum(hi - lo for lo, hi, _, _ in layout.blocks)
        assert covered == store.size
    for producer, esp in keys:  # every pair still finds its own row after the moves
        row = store.row(engine.producers.index(producer), engine.esps.index(esp))
        assert row is not None
        assert (engine.producers[store.producer[row]], engine.esps[store.esp[row]]) == (
            producer,
            esp,
        )


def _walk_matches(seed: int) -> bool:
    """Compares the personalised views with the loop; True if some view had a recommender not
    fully trusted (the walk mattered)."""
    params = ReputationParams.hardened()
    rng = np.random.default_rng(100 + seed)
    _, records = market(seed, params)
    t = max(r.time for r in records)
    for s in range(int(rng.integers(5, 40))):
        for esp in ("e0", "shell"):
            records.append(Interaction(f"s{s}", esp, True, 10**15, t - int(rng.integers(0, DAY))))
    engine = ReputationEngine.from_records(records[: len(records) // 2], params)
    for r in records[len(records) // 2 :]:
        engine.record(r)
    now = 41 * DAY
    evidence = naive_evidence(records, params)
    partial = False
    for viewer in ("p0", "p1", "p2", "s0", "stranger"):
        want = naive_hardened_reputations(viewer, evidence, params, params.epoch(now))
        got = dict(zip(engine.esps, engine.reputations(viewer, now=now).tolist(), strict=True))
        assert max(abs(got[e] - want[e]) for e in want) < 1e-9
        view = engine._trust_views.get(engine._producer_index.get(viewer, -1))
        partial = partial or view is not None
    return partial


def test_personal_trust_equals_the_per_edge_walk():
    """The trust walk (``trust_steps``, vectorised in ``services.reputation._trust``) against
    ``_naive``'s edge-by-edge loop, through the whole personalised view: random markets with a
    Sybil cluster (wash trades with one of their ESPs and a shell), bulk and one-by-one
    records; in most of them some recommender is not fully trusted from some view."""
    assert sum(_walk_matches(seed) for seed in range(8)) >= 4


def test_views_from_several_threads_equal_the_sequential_ones():
    """The API ranks from a thread pool: signed-in views computed concurrently (each a walk and
    a hardened pass over shared work columns) equal the same views computed one by one
    (without the engine's lock around them: 0.011 apart, measured)."""
    from concurrent.futures import ThreadPoolExecutor

    from aigc_lab.reputation.benchmark import synthetic_log

    log = synthetic_log(3_000, 300, 300_000, seed=3)
    now = int(log.time.max()) + 1
    viewers = list(log.producer_ids[:48])
    params = ReputationParams.hardened()
    alone = ReputationEngine.from_log(log, params)
    want = {v: alone.reputations(v, now=now) for v in viewers}
    shared = ReputationEngine.from_log(log, params)
    with ThreadPoolExecutor(8) as pool:
        views = list(pool.map(lambda v: shared.reputations(v, now=now), viewers))
    got = dict(zip(viewers, views, strict=True))
    for v in viewers:
        np.testing.assert_array_equal(got[v], want[v])
