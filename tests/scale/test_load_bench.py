"""`aigc bench load` at a tiny size (2 producers, 1 task each, 1 ESP, 1 replica, constant images)
against anvil, `aigc serve` and `aigc index` on SQLite: the report's invariants
hold (every lifecycle completes, no 5xx, every lock settled, the indexer's events and products are
exactly the chain's). No timing is asserted: the figures only get printed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aigc_cli.main import app
from aigc_lab.bench.load import LoadError, LoadParams, constant_image_maker, run_load
from tests.conftest import require_anvil

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


@pytest.fixture
def anvil_present():
    require_anvil()


# On SQLite: test_load_faults runs the same invariants (and more) on PostgreSQL.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tiny_load_run_keeps_the_invariants(anvil_present, database_url, tmp_path):
    params = LoadParams(
        producers=2, consumers=1, esps=1, replicas=1, tasks=1, constant_images=True,
        database_url=database_url, step_timeout_s=120,
    )  # fmt: skip
    report = run_load(params, tmp_path)
    out = report.to_json()
    print(json.dumps(out, indent=1))
    assert report.completed == report.lifecycles == 2, out["errors"]
    assert report.errors == {} and report.status_5xx == 0
    assert report.sales == 1  # producer 0's task is listed and sold
    assert report.direct_lifecycles == 2 and report.direct_tx_errors == {}
    assert report.generator_images == 2 and out["generator_alone"]["images_per_minute"] > 0
    # generation locks (2 API + 2 direct) and the sale's two legs (API and direct), all claimed
    assert report.locks == {"withdrawn": 8}
    assert report.locks_settled
    assert report.missing_events == 0 and report.duplicate_events == 0
    assert report.indexed_events == report.chain_logs > 0
    assert report.registered_logs == report.indexed_products == 4
    for step in ("post", "quote", "pay", "deliver", "claim", "open", "register"):
        assert out["latency_ms"][step]["n"] == 2
    assert out["latency_ms"]["sale"]["n"] == 1


def test_constant_images_are_deterministic_per_seed():
    make = constant_image_maker()
    a, meta = make("p", 1)
    assert a.tobytes() == make("p", 1)[0].tobytes() and meta == {"model_id": "constant"}
    assert a.tobytes() != make("p", 2)[0].tobytes()


@pytest.mark.parametrize(
    ("field", "value"), [("producers", 0), ("tasks", 0), ("block_time", 0), ("block_time", 61)]
)
def test_bad_parameters_are_refused(field, value):
    with pytest.raises(LoadError):
        LoadParams(**{field: value}).check()


def test_cli_refuses_another_chain():
    result = CliRunner().invoke(app, ["bench", "load", "--chain", "embedded"])
    assert result.exit_code != 0 and "anvil" in result.output


def test_recorder_counts_5xx_per_answer_and_errors_by_code():
    import httpx

    from aigc_lab.bench.load import Recorder
    from services.market_client import MarketError

    rec = Recorder()
    for status in (200, 404, 500, 503):
        rec.on_response(httpx.Response(status))
    rec.error(MarketError(409, "listing_taken", "taken"))
    rec.error(MarketError(409, "listing_taken", "taken"))
    assert rec.status_5xx == 2
    assert rec.errors == {"409 listing_taken": 2}


def test_percentiles_are_nearest_rank():
    from aigc_lab.bench.load import LoadReport

    report = LoadReport(
        params={}, lifecycles=0, completed=0, sales=0, api_seconds=0, direct_lifecycles=0,
        direct_seconds=0, latency_ms={"post": [float(x) for x in range(1, 101)]}, errors={},
        status_5xx=0, locks={}, chain_logs=0, indexed_events=0, duplicate_events=0,
        missing_events=0, registered_logs=0, indexed_products=0,
    )  # fmt: skip
    assert report.percentiles("post") == (50.0, 95.0, 99.0)
    assert report.percentiles("sale") == (0.0, 0.0, 0.0)
