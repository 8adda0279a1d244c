"""The benchmark harness on a small market (it checks results, never times)."""

from __future__ import annotations

import pytest

from aigc_lab.reputation.benchmark import run_benchmark, synthetic_log
from services.reputation import InvalidParameterError, ReputationParams


def test_small_benchmark_reports_agreeing_results():
    stages = []
    report = run_benchmark(
        200, 30, 5_000, seed=1, queries=3, updates=50, progress=lambda s, d, t: stages.append(s)
    )
    assert report.pairs <= 200 * 30 and report.interactions == 5_000
    assert report.max_abs_diff < 1e-9  # the engine and the per-opinion loop agree
    assert report.rank_cold_ms > 0 and report.naive_rank_s > 0 and report.update_p50_ms > 0
    assert report.rank_after_update_ms > 0
    doc = report.to_json()
    assert set(doc["targets"]) >= {
        "rank_cold_ms <= 200",
        "update_p50_ms <= 1",
        "speedup_cold >= 100",
    }
    assert "naive per-opinion loop" in stages and "incremental updates" in stages


def test_synthetic_log_is_reproducible_and_checked():
    a, b = synthetic_log(50, 5, 1000, seed=3), synthetic_log(50, 5, 1000, seed=3)
    assert (a.esp == b.esp).all() and (a.time == b.time).all()
    with pytest.raises(InvalidParameterError, match="esps"):
        synthetic_log(10, 0, 10, seed=0)


def test_hardened_benchmark_checks_the_engine_against_the_hardened_loop():
    report = run_benchmark(
        200, 30, 5_000, seed=2, queries=2, updates=20, params=ReputationParams.hardened()
    )
    assert report.weighting == "hardened"
    assert report.max_abs_diff < 1e-9  # the same formula, one recommender at a time
    assert report.to_json()["targets"]["max_abs_diff <= 1e-9"]
