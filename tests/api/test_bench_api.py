"""Smoke tests of the ``aigc bench api`` harness at tiny sizes (they never assert on timings)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from aigc_cli.main import app as cli
from aigc_lab.bench import (
    ApiBenchError,
    bare_app,
    fill_products,
    get_json,
    hammer,
    measure_ingest,
    run_api_bench,
    serving,
)
from marketplace_api.db import Base, make_engine

DOC = {"token_id": "0x" + "ab" * 32, "history": [{"kind": "registered", "block": 1}]}


def test_whole_run_at_tiny_sizes(embedded_world, tmp_path):
    seen: list[tuple[str, float]] = []
    report = run_api_bench(
        embedded_world.deployment,
        tmp_path,
        products=25,
        requests=12,
        concurrency=2,
        rounds=2,
        events=6,
        server="thread",
        progress=lambda what, done: seen.append((what, done)),
    )
    assert {t: len(runs) for t, runs in report.runs.items()} == {"bare": 2, "list": 2, "detail": 2}
    for runs in report.runs.values():
        assert all(r.requests == 12 and r.seconds > 0 and r.p99_ms >= r.p50_ms for r in runs)
    assert math.isfinite(report.ratio("list")) and math.isfinite(report.ratio("detail"))
    api, bare = report.ingest
    assert api.indexer.startswith("API") and bare.indexer == "bare Indexer"
    assert api.events == bare.events >= 6  # both read the same chain from scratch
    assert 0 <= api.chain_read_s <= api.seconds
    fractions = [done for _, done in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    payload = json.loads(json.dumps(report.to_json()))
    assert set(payload["ratio_vs_bare"]) == {"list", "detail"} and payload["goal_ratio"] == 0.5


def test_forked_server_answers_and_failures_are_loud():
    with serving(bare_app(DOC), mode="process") as port:
        assert get_json(port, "/doc") == DOC
        run = hammer(port, ["/doc"], target="bare", requests=9, concurrency=3)
        assert run.requests == 9 and run.rps > 0
        with pytest.raises(ApiBenchError, match="404"):
            hammer(port, ["/doc", "/missing"], target="bare", requests=4, concurrency=1)
        with pytest.raises(ApiBenchError, match="404"):
            get_json(port, "/missing")


def test_fill_products_is_seeded_and_complete(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    Base.metadata.create_all(engine)
    tokens = fill_products(engine, 40, seed=3)
    again = fill_products(make_engine(f"sqlite:///{tmp_path / 'q.db'}"), 0, seed=3)
    assert len(set(tokens)) == 40 and again == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from product_events").scalar() == 40
        newest = conn.exec_driver_sql("select token_id from products order by id desc").first()
    assert newest is not None and newest[0] == tokens[-1]


@pytest.mark.parametrize(
    ("sizes", "named"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"requests": 1, "concurrency": 2}, "requests must be >= concurrency"),
        ({"per_block": 151}, "per_block"),
        ({"events": -1}, "events"),
    ],
)
def test_bad_sizes_are_refused_by_name(embedded_world, tmp_path, sizes, named):
    with pytest.raises(ApiBenchError, match=named):
        run_api_bench(embedded_world.deployment, tmp_path, **sizes)


def test_ingest_refuses_a_used_database(embedded_world, tmp_path):
    (tmp_path / "old.db").write_bytes(b"")
    with pytest.raises(ApiBenchError, match="fresh database"):
        measure_ingest(embedded_world.deployment, tmp_path / "old.db", projections=False)


def test_cli_refuses_bad_sizes_without_a_traceback():
    result = CliRunner().invoke(cli, ["bench", "api", "--chain", "embedded", "--concurrency", "0"])
    assert result.exit_code == 1
    assert "concurrency must be >= 1" in result.output and "Traceback" not in result.output
