"""``aigc bench reputation``: ranking and incremental-update speed against a per-opinion loop.

A synthetic market (Zipf-like ESP popularity and producer activity, per-ESP success rates,
log-normal lock values, a year of timestamps) is ingested once; then, all in the same run:
ranking all ESPs from one producer's view (cold: first view at a new epoch; warm: the per-epoch
sums already cached; right after an incremental update), one incremental update, and the
straightforward per-opinion Python loop (``_naive``) over the very same evidence, whose answers
must agree with the engine's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aigc_lab.reputation._naive import (
    NaiveEvidence,
    naive_hardened_reputations,
    naive_reputations,
)
from services.reputation.engine import ReputationEngine
from services.reputation.errors import InvalidParameterError
from services.reputation.interactions import Interaction, InteractionLog
from services.reputation.params import ReputationParams
from services.reputation.selection import rank

__all__ = ["BenchmarkReport", "run_benchmark", "synthetic_log"]

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True, slots=True)
class BenchmarkReport:
    """Timings of one benchmark run (seconds unless the name says ms)."""

    producers: int
    esps: int
    interactions: int
    pairs: int
    ingest_s: float
    rank_cold_ms: float
    rank_warm_ms: float
    update_p50_ms: float
    update_p99_ms: float
    update_max_ms: float
    naive_rank_s: float
    max_abs_diff: float
    weighting: str = "on-chain"
    # ranking right after an incremental update (the hardened weighting rebuilds its sums then)
    rank_after_update_ms: float = 0.0

    @property
    def speedup_cold(self) -> float:
        return self.naive_rank_s * 1e3 / self.rank_cold_ms

    @property
    def speedup_warm(self) -> float:
        return self.naive_rank_s * 1e3 / self.rank_warm_ms

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["speedup_cold"] = self.speedup_cold
        out["speedup_warm"] = self.speedup_warm
        out["targets"] = {
            "rank_cold_ms <= 200": self.rank_cold_ms <= 200,
            "update_p50_ms <= 1": self.update_p50_ms <= 1,
            "speedup_cold >= 100": self.speedup_cold >= 100,
        }
        out["targets"]["max_abs_diff <= 1e-9"] = self.max_abs_diff <= 1e-9
        return out


def synthetic_log(producers: int, esps: int, interactions: int, *, seed: int) -> InteractionLog:
    """A reproducible synthetic year of interactions (Zipf-like popularity and activity)."""
    for name, value in (("producers", producers), ("esps", esps), ("interactions", interactions)):
        if value < 1:
            raise InvalidParameterError(name, value, "a whole number >= 1")
    rng = np.random.default_rng(seed)
    esp_pop = 1.0 / np.arange(1, esps + 1) ** 0.8
    prod_act = 1.0 / np.arange(1, producers + 1) ** 0.6
    esp = rng.choice(esps, size=interactions, p=esp_pop / esp_pop.sum())
    producer = rng.choice(producers, size=interactions, p=prod_act / prod_act.sum())
    quality = rng.beta(9.0, 1.0, size=esps)
    return InteractionLog.from_arrays(
        producer_ids=[f"0x{i:040x}" for i in range(producers)],
        esp_ids=[f"0x{(1 << 156) + i:040x}" for i in range(esps)],
        producer=producer,
        esp=esp,
        positive=rng.random(interactions) < quality[esp],
        value=np.round(rng.lognormal(np.log(2e15), 0.8, size=interactions)),
        time=np.sort(rng.integers(0, 365 * 86_400, size=interactions)),
    )


def _naive_input(engine: ReputationEngine) -> dict[str, dict[str, NaiveEvidence]]:
    """The engine's evidence as the contract stores it (decayed to each pair's last update)."""
    store, params = engine._store, engine.params
    producers, esps = engine.producers, engine.esps
    evidence: dict[str, dict[str, NaiveEvidence]] = {}
    last_epochs = (store.last_time // params.period).tolist()
    for row, epoch in enumerate(last_epochs):
        f, f_neg = store.scale(epoch), store.scale_neg(epoch)
        per = evidence.setdefault(esps[int(store.esp[row])], {})
        per[producers[int(store.producer[row])]] = NaiveEvidence(
            float(store.pos[row]) * f, float(store.neg[row]) * f_neg, epoch
        )
    return evidence


def run_benchmark(
    producers: int = 10_000,
    esps: int = 1_000,
    interactions: int = 1_000_000,
    *,
    seed: int = 0,
    queries: int = 10,
    updates: int = 2_000,
    progress: Progress | None = None,
    params: ReputationParams | None = None,
) -> BenchmarkReport:
    """Runs every measurement once (see the module docstring) and returns the timings.

    ``params``: the weighting (default: the on-chain subset). With the off-chain weighting the
    loop is :func:`naive_hardened_reputations` (the same formula, one recommender at a time)."""
    tick = progress or (lambda stage, done, total: None)
    tick("generating interactions", 0, 1)
    log = synthetic_log(producers, esps, interactions, seed=seed)
    tick("ingesting (vectorised)", 0, 1)
    t0 = time.perf_counter()
    engine = ReputationEngine.from_log(log, params or ReputationParams())
    ingest_s = time.perf_counter() - t0
    esp_ids = engine.esps
    now = int(log.time.max()) + 1
    rng = np.random.default_rng(seed + 1)
    viewers = [log.producer_ids[int(i)] for i in rng.choice(producers, size=queries)]
    cold: list[float] = []
    warm: list[float] = []
    for k, viewer in enumerate(viewers):
        tick("ranking all ESPs", k, queries)
        engine.clear_cache()
        t0 = time.perf_counter()
        rank(viewer, esp_ids, engine, now=now)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rank(viewers[(k + 1) % queries], esp_ids, engine, now=now)
        warm.append(time.perf_counter() - t0)
    tick("naive per-opinion loop", 0, 1)
    evidence = _naive_input(engine)
    epoch = engine.params.epoch(now)
    t0 = time.perf_counter()
    loop = naive_hardened_reputations if engine.params.sybil_resistant else naive_reputations
    naive = loop(viewers[0], evidence, engine.params, epoch)
    naive_s = time.perf_counter() - t0
    fast = dict(zip(esp_ids, engine.reputations(viewers[0], now=now).tolist(), strict=True))
    diff = max(abs(fast[esp] - value) for esp, value in naive.items())
    samples: list[float] = []
    producer_ids, times = log.producer_ids, rng.integers(now - 3600, now, size=updates)
    picks_p, picks_e = rng.integers(producers, size=updates), rng.integers(esps, size=updates)
    records = [
        Interaction(producer_ids[p], esp_ids[e], bool(ok), 10**15, int(t))
        for p, e, ok, t in zip(picks_p, picks_e, rng.random(updates) < 0.9, times, strict=True)
    ]
    engine.reputations(viewers[0], now=now)  # updates keep the epoch's cache current
    after: list[float] = []
    for k, record in enumerate(records):
        if k % 200 == 0:
            tick("incremental updates", k, updates)
        t0 = time.perf_counter()
        engine.record(record)
        samples.append(time.perf_counter() - t0)
        if k % max(1, updates // queries) == 0:  # a view right after an update
            t0 = time.perf_counter()
            rank(viewers[k % queries], esp_ids, engine, now=now)
            after.append(time.perf_counter() - t0)
    samples.sort()
    return BenchmarkReport(
        producers=producers,
        esps=esps,
        interactions=interactions,
        pairs=engine.pair_count,
        ingest_s=ingest_s,
        rank_cold_ms=statistics.median(cold) * 1e3,
        rank_warm_ms=statistics.median(warm) * 1e3,
        update_p50_ms=statistics.median(samples) * 1e3,
        update_p99_ms=samples[min(len(samples) - 1, int(0.99 * len(samples)))] * 1e3,
        update_max_ms=samples[-1] * 1e3,
        naive_rank_s=naive_s,
        max_abs_diff=diff,
        weighting="hardened" if engine.params.sybil_resistant else "on-chain",
        rank_after_update_ms=statistics.median(after) * 1e3,
    )
