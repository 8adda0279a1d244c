"""The whole ``aigc bench api`` run: a chain, the data, the timed servers, the ingest."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aigc_lab.bench._http import bare_app, get_json, hammer, serving
from aigc_lab.bench._ingest import fill_products, measure_ingest, put_events, tx_batch_size
from aigc_lab.bench._report import (
    MAX_PER_BLOCK,
    TARGETS,
    ApiBenchError,
    ApiBenchReport,
    ChainKind,
    Progress,
    ServerMode,
    Throughput,
)
from ledger import Deployment
from marketplace_api.config import ApiSettings
from marketplace_api.db import Base, make_engine
from marketplace_api.stack import open_app
from marketplace_api.stack import open_chain as open_stack_chain


@contextmanager
def open_chain(kind: ChainKind, workdir: Path) -> Iterator[Deployment]:
    """A fresh deployment on a new embedded chain or on an anvil started (and stopped) here."""
    state = workdir / "anvil" / "state.json"
    with open_stack_chain(kind, anvil_state=state, anvil_state_interval=3600) as opened:
        yield opened.deployment


def check_params(
    *, products: int, requests: int, concurrency: int, rounds: int, events: int, per_block: int
) -> None:
    """Refuses out-of-range sizes before anything starts (names as in :func:`run_api_bench`)."""
    values = {"products": products, "requests": requests, "concurrency": concurrency,
              "rounds": rounds, "events": events}  # fmt: skip
    for name, value in values.items():
        if value < (0 if name == "events" else 1):
            raise ApiBenchError(f"{name} must be >= {0 if name == 'events' else 1}, got {value}")
    if requests < concurrency:
        raise ApiBenchError("requests must be >= concurrency (each client sends at least one)")
    if not 1 <= per_block <= MAX_PER_BLOCK:
        raise ApiBenchError(f"per_block must be in 1..{MAX_PER_BLOCK}, got {per_block}")


def _same_token(answered: Any, inserted: str) -> bool:
    """The API answers token ids as decimal strings; the bench inserts them as 0x-hex."""
    return isinstance(answered, str) and int(answered, 0) == int(inserted, 16)


def _check_answers(port: int, tokens: Sequence[str], detail: Any) -> None:
    """The API must answer real data before it is timed (not errors, not an empty page)."""
    page = get_json(port, "/v1/products?limit=20")
    newest = page["items"][0]["token_id"] if page["items"] else None
    if len(page["items"]) != min(20, len(tokens)) or not _same_token(newest, tokens[-1]):
        raise ApiBenchError("GET /v1/products did not list the inserted products, newest first")
    if not _same_token(detail.get("token_id"), tokens[0]) or not detail.get("history"):
        raise ApiBenchError("GET /v1/products/{token_id} did not answer the product's history")


def run_api_bench(
    deployment: Deployment, workdir: Path, *, products: int = 10_000, requests: int = 2_000,
    concurrency: int = 4, rounds: int = 3, events: int = 4_000, per_block: int = 100,
    server: ServerMode = "process", seed: int = 0,
    progress: Progress = lambda _description, _done: None,
) -> ApiBenchReport:  # fmt: skip
    """The whole ``aigc bench api`` run in ``workdir`` (an empty scratch folder)."""
    check_params(products=products, requests=requests, concurrency=concurrency, rounds=rounds,
                 events=events, per_block=per_block)  # fmt: skip
    batches = -(-events // tx_batch_size(deployment.chain, per_block))
    total, done = 4 + 3 * rounds + (batches + 3 if events else 0), 0

    def step(description: str) -> None:
        nonlocal done
        progress(description, done / total)
        done += 1

    step(f"inserting {products:,} products")
    settings = ApiSettings(
        database_url=f"sqlite:///{workdir / 'api.db'}", blob_dir=workdir / "blobs",
        indexer_interval_s=0,
    )  # fmt: skip
    engine = make_engine(settings.database_url)
    Base.metadata.create_all(engine)
    tokens = fill_products(engine, products, seed=seed)
    engine.dispose()
    app = open_app(settings, deployment)
    sample = random.Random(seed).sample(tokens[1:], min(len(tokens) - 1, 1000)) or tokens
    paths = {
        "bare": ["/doc"],
        "list": ["/v1/products?limit=20"],
        "detail": [f"/v1/products/{t}" for t in sample],
    }
    runs: dict[str, list[Throughput]] = {t: [] for t in TARGETS}
    with serving(app, mode=server) as api_port:
        document = get_json(api_port, f"/v1/products/{tokens[0]}")
        _check_answers(api_port, tokens, document)
        with serving(bare_app(document), mode=server) as bare_port:
            if get_json(bare_port, "/doc") != document:
                raise ApiBenchError("the bare endpoint does not answer the product document")
            ports = {"bare": bare_port, "list": api_port, "detail": api_port}
            plan = [("warm-up", t, max(concurrency, requests // 10)) for t in TARGETS]
            plan += [
                (f"round {r + 1}/{rounds}", t, requests) for r in range(rounds) for t in TARGETS
            ]
            for label, target, count in plan:
                step(f"{label}: {target}")
                run = hammer(ports[target], paths[target], target=target, requests=count,
                             concurrency=concurrency)  # fmt: skip
                if label != "warm-up":
                    runs[target].append(run)
    app.state.engine.dispose()
    ingest = []
    if events:
        step(f"putting {events:,} events on chain")
        put_events(deployment, count=events, per_block=per_block, seed=seed,
                   on_batch=lambda: step(f"putting {events:,} events on chain"))  # fmt: skip
        for projections in (True, False):
            name = "api" if projections else "bare"
            step(f"ingesting ({name} indexer)")
            result = measure_ingest(
                deployment, workdir / f"ingest-{name}.db", projections=projections
            )
            if result.events < events:
                raise ApiBenchError(f"only {result.events} of {events} events were ingested")
            ingest.append(result)
    progress("done", 1.0)
    return ApiBenchReport(deployment.chain.describe(), server, products, concurrency, runs, ingest)
