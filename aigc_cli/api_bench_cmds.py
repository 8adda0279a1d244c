"""`aigc bench api`: the marketplace API's throughput against a bare Starlette baseline, and the
indexer's ingest rate into SQLite (measurement code in :mod:`aigc_lab.bench`); `aigc bench
load`: the whole lifecycle under load against the chain's direct ceiling
(:mod:`aigc_lab.bench.load`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aigc_cli._console import clean_errors, console, err_console, fail
from aigc_cli.groups import bench_app
from ledger.errors import LedgerError

if TYPE_CHECKING:
    from aigc_lab.bench import ApiBenchReport, ChainKind, ServerMode

app = typer.Typer()
ENDPOINTS = {
    "bare": "bare Starlette JSONResponse",
    "list": "GET /v1/products?limit=20",
    "detail": "GET /v1/products/{token_id}",
}


def _chain_kind(chain: str) -> ChainKind:
    if chain not in ("auto", "anvil", "embedded"):
        raise fail(f"--chain must be auto, anvil or embedded, got {chain!r}")
    if chain != "auto":
        return cast("ChainKind", chain)
    from ledger.devnet import anvil_binary

    try:
        anvil_binary()
    except LedgerError:
        err_console.print("[yellow]anvil not found: events go on the (slow) embedded chain[/]")
        return "embedded"
    return "anvil"


@bench_app.command("api")
def bench_api(
    products: Annotated[
        int, typer.Option(help="Products in the database (direct inserts)")
    ] = 10_000,
    requests: Annotated[int, typer.Option(help="Requests per endpoint and round")] = 2_000,
    concurrency: Annotated[int, typer.Option(help="Client threads (keep-alive connections)")] = 4,
    rounds: Annotated[int, typer.Option(help="Rounds over the endpoints (median kept)")] = 3,
    events: Annotated[
        int, typer.Option(help="Events put on chain for the ingest (0: skip)")
    ] = 4_000,
    per_block: Annotated[int, typer.Option(help="Transactions per block (anvil)")] = 100,
    chain: Annotated[str, typer.Option(help="auto | anvil | embedded")] = "auto",
    server: Annotated[str, typer.Option(help="process (forked) | thread")] = "process",
    seed: Annotated[int, typer.Option(help="Seed of the generated data")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Requests/s of the product list and detail against a bare Starlette endpoint served the
    same way (goal >= 0.5x), and the indexer's ingest rate into SQLite (goal >= 2,000 events/s)."""
    if server not in ("process", "thread"):
        raise fail(f"--server must be process or thread, got {server!r}")
    mode = cast("ServerMode", server)
    report = _run(products, requests, concurrency, rounds, events, per_block, _chain_kind(chain),
                  mode, seed)  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if json_out:
        console.print_json(json.dumps(report.to_json() | {"load_average_1m": load}))
        return
    _print(report, load)


@clean_errors(LedgerError, OSError)
def _run(
    products: int, requests: int, concurrency: int, rounds: int, events: int, per_block: int,
    chain: ChainKind, server: ServerMode, seed: int,
) -> ApiBenchReport:  # fmt: skip
    from aigc_lab.bench import ApiBenchError, check_params, open_chain, run_api_bench

    try:
        check_params(products=products, requests=requests, concurrency=concurrency, rounds=rounds,
                     events=events, per_block=per_block)  # fmt: skip
    except ApiBenchError as exc:
        raise fail(exc.message) from None

    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aigc-bench-api-") as tmp, bar:
        task = bar.add_task("starting the chain", total=1.0)
        try:
            with open_chain(chain, Path(tmp)) as deployment:
                return run_api_bench(
                    deployment, Path(tmp), products=products, requests=requests,
                    concurrency=concurrency, rounds=rounds, events=events, per_block=per_block,
                    server=server, seed=seed,
                    progress=lambda what, done: bar.update(task, description=what, completed=done),
                )  # fmt: skip
        except ApiBenchError as exc:
            raise fail(exc.message) from None


def _goal(met: bool) -> str:
    return "[green]met[/]" if met else "[bold red]not met[/]"


def _print(report: ApiBenchReport, load: float) -> None:
    from aigc_lab.bench import API_GOAL, INGEST_GOAL

    rounds = len(report.runs["bare"])
    table = Table(
        title=f"Marketplace API throughput: {report.products:,} products, {report.concurrency} "
        f"clients, uvicorn in a {report.server}, median of {rounds} rounds (load {load:.1f})"
    )
    table.add_column("endpoint")
    for name in ("requests/s", "p50 ms", "p99 ms", "vs bare"):
        table.add_column(name, justify="right")
    table.add_column(f">= {API_GOAL}x")
    for target, label in ENDPOINTS.items():
        p50, p99 = report.latency_ms(target)
        ratio = 1.0 if target == "bare" else report.ratio(target)
        goal = "baseline" if target == "bare" else _goal(ratio >= API_GOAL)
        table.add_row(label, f"{report.rps(target):,.0f}", f"{p50:.2f}", f"{p99:.2f}",
                      f"{ratio:.2f}x", goal)  # fmt: skip
    console.print(table)
    if not report.ingest:
        return
    ingest = Table(title=f"Indexer ingest from scratch into a fresh SQLite file ({report.chain})")
    for name in ("indexer", "events", "blocks", "seconds", "of which chain reads", "events/s"):
        ingest.add_column(name, justify="left" if name == "indexer" else "right")
    ingest.add_column(f">= {INGEST_GOAL:,.0f}/s")
    for r in report.ingest:
        ingest.add_row(r.indexer, f"{r.events:,}", f"{r.blocks:,}", f"{r.seconds:.2f}",
                       f"{r.chain_read_s:.2f}", f"{r.events_per_s:,.0f}",
                       _goal(r.events_per_s >= INGEST_GOAL))  # fmt: skip
    console.print(ingest)


@bench_app.command("load")
def bench_load(
    producers: Annotated[int, typer.Option(help="Producers, each a thread (issue 17: 50)")] = 6,
    consumers: Annotated[int, typer.Option(help="Consumers buying listed products")] = 2,
    esps: Annotated[int, typer.Option(help="ESP workers (threads, or --esp-processes)")] = 2,
    replicas: Annotated[int, typer.Option(help="API replicas: aigc serve --workers R")] = 2,
    tasks: Annotated[int, typer.Option(help="Lifecycles per producer")] = 2,
    chain: Annotated[str, typer.Option(help="anvil (the only chain this bench runs on)")] = "anvil",
    block_time: Annotated[int, typer.Option(help="anvil's block interval, whole seconds")] = 1,
    constant_images: Annotated[
        bool, typer.Option(help="A constant-time image maker instead of the bundled model")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option(help="Database (PostgreSQL URL); default a fresh SQLite file")
    ] = None,
    step_timeout: Annotated[float, typer.Option(help="Deadline of each waiting step, s")] = 180.0,
    seed: Annotated[int, typer.Option(help="Seed of prompts and offers")] = 0,
    profile: Annotated[
        bool, typer.Option(help="cProfile the producer and ESP threads (slows the run)")
    ] = False,
    faults: Annotated[
        bool,
        typer.Option(
            help="SIGKILL one API replica and the leading indexer (a standby runs) a third of "
            "the way in; clients retry idempotently"
        ),
    ] = False,
    esp_processes: Annotated[
        bool, typer.Option(help="Run each ESP worker as its own OS process, not a thread")
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Run in this empty folder and keep its logs (default: a temp dir)"),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """The whole lifecycle under load (post, pay, deliver, claim, open, register, list, sale)
    through `aigc serve --workers R` and `aigc index` on anvil, against the same on-chain
    transactions sent directly in the same run (goal: API/direct >= 0.5, zero 5xx, every lock
    settled, no lost or duplicate event). Defaults are scaled to a 2-core machine (issue 17
    names P=50, C=10, E=10, R=4 for a bigger one)."""
    from aigc_lab.bench.load import LoadError, LoadParams, run_load

    if chain != "anvil":
        raise fail(f"--chain must be anvil (interval mining, separate processes), got {chain!r}")
    params = LoadParams(
        producers=producers, consumers=consumers, esps=esps, replicas=replicas, tasks=tasks,
        block_time=block_time, constant_images=constant_images, database_url=database_url,
        step_timeout_s=step_timeout, seed=seed, profile=profile, faults=faults,
        esp_processes=esp_processes,
    )  # fmt: skip
    say = lambda m: err_console.print(f"[dim]{m}[/]")  # noqa: E731
    try:
        if workdir is not None:  # kept: the servers', indexers' and ESP processes' logs
            try:
                workdir.mkdir(parents=True, exist_ok=True)
                busy = any(workdir.iterdir())
            except OSError as exc:  # a file there, or in the way of its parents
                raise fail(f"--workdir {workdir}: not a folder this bench can use: {exc}") from None
            if busy:
                raise fail(f"--workdir {workdir} is not empty")
            report = run_load(params, workdir, say=say)
        else:
            with tempfile.TemporaryDirectory(prefix="aigc-bench-load-") as tmp:
                report = run_load(params, Path(tmp), say=say)
    except (LoadError, LedgerError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from None
    if json_out:
        console.print_json(json.dumps(report.to_json()))
        return
    _print_load(report)


def _print_load(report: Any) -> None:
    from aigc_lab.bench.load import RATIO_GOAL, STEPS

    data = report.to_json()
    table = Table(title=f"Lifecycle latency per step ({report.completed}/{report.lifecycles} "
                  f"lifecycles, {report.sales} sales, {report.api_seconds:.1f} s)")  # fmt: skip
    table.add_column("step")
    for name in ("n", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(name, justify="right")
    for step in STEPS:
        row = data["latency_ms"][step]
        table.add_row(step, str(row["n"]), f"{row['p50']:,.0f}", f"{row['p95']:,.0f}",
                      f"{row['p99']:,.0f}")  # fmt: skip
    console.print(table)
    console.print(
        f"API: {report.per_minute:.1f} lifecycles/min; direct: {report.direct_per_minute:.1f}/min "
        f"({report.direct_lifecycles} in {report.direct_seconds:.1f} s); ratio {report.ratio:.2f} "
        f"(>= {RATIO_GOAL}: {_goal(report.ratio >= RATIO_GOAL)})"
    )
    gen = data["generator_alone"]
    console.print(f"generator alone: {gen['images']} images in {gen['seconds']:.1f} s "
                  f"({gen['images_per_minute']:,.0f}/min, one thread)")  # fmt: skip
    console.print(f"errors: {data['errors'] or 'none'}; 5xx: {report.status_5xx}")
    console.print(f"locks: {data['locks']} (settled: {_goal(report.locks_settled)})")
    console.print(f"events: {data['events']}")
    console.print(f"retries: {data['retries'] or 'none'}")
    if report.faults:
        console.print(f"faults: {data['faults']} (healed: {_goal(report.faults_ok)})")
    if report.profile:
        prof = Table(title="cProfile of the bench's threads (cumulative, summed over threads)")
        for name in ("threads", "function", "calls", "tottime s", "cumtime s"):
            prof.add_column(name, justify="left" if name in ("threads", "function") else "right")
        for row in report.profile:
            prof.add_row(row["threads"], row["function"], str(row["calls"]),
                         f"{row['tottime_s']:.2f}", f"{row['cumtime_s']:.2f}")  # fmt: skip
        console.print(prof)
