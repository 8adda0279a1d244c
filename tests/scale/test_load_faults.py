"""`aigc bench load --faults --esp-processes`, short: one API replica and the leading indexer
are SIGKILLed a third of the way in, while ESP workers run as their own processes. The standby
indexer takes over, clients retry idempotently, and at the end nothing is lost or duplicated:
every lifecycle completes, no 5xx, every lock is withdrawn, the database holds each of the chain's
logs once and one task per posted task. Runs on PostgreSQL (required with CI=true), the database
of a deployment with replicas: the same run without faults is test_load_bench's on SQLite, and
SQLite's indexer lock under a kill is test_scale_faults'. No timing is asserted beyond "took
over" (the figures get printed)."""

from __future__ import annotations

import json

import pytest

from aigc_lab.bench.load import LoadError, LoadParams, run_load
from tests.scale.test_load_bench import anvil_present  # noqa: F401

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_replica_and_indexer_killed_under_load(anvil_present, database_url, tmp_path):  # noqa: F811
    params = LoadParams(
        producers=3, consumers=1, esps=1, replicas=2, tasks=2, constant_images=True,
        database_url=database_url, step_timeout_s=120, faults=True, esp_processes=True,
        replace_timeout_s=5,
    )  # fmt: skip
    report = run_load(params, tmp_path)
    out = report.to_json()
    print(json.dumps({k: v for k, v in out.items() if k != "profile"}, indent=1))
    faults = report.faults
    assert "skipped" not in faults and faults["seconds_into_run"] > 0, faults
    assert faults["takeover_s"] is not None and faults["caught_up_s"] is not None, faults
    assert report.faults_ok
    assert report.completed == report.lifecycles == 6, (out["errors"], out["retries"])
    assert report.errors == {} and report.status_5xx == 0
    assert report.locks == {"withdrawn": 4 * 6}  # 6 + 6 generation locks, 3 + 3 sales x 2 legs
    assert report.locks_settled
    assert report.missing_events == report.duplicate_events == report.duplicate_tasks == 0
    assert report.indexed_events == report.chain_logs > 0
    assert report.registered_logs == report.indexed_products == 12
    assert report.events_exact


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"faults": True, "replicas": 1}, "--replicas must be at least 2"),
        ({"profile": True, "esp_processes": True}, "drop --esp-processes"),
    ],
)
def test_fault_and_process_options_are_checked(changes, message):
    with pytest.raises(LoadError, match=message):
        LoadParams(**changes).check()
