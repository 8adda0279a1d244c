"""``aigc bench api``: API throughput against a bare Starlette endpoint, and indexer ingest rate.

**Throughput.** The API (``create_app``, indexer follower off) and a bare Starlette app that
returns the same product document as a ``JSONResponse`` run under the same uvicorn configuration
(one worker, asyncio, h11, no access log), each on its own listening socket on 127.0.0.1, in a
forked process of their own (so a server does not share a GIL with the client; the fork keeps
the in-memory chain the API was built on) or, with ``server="thread"``, in a thread.
``concurrency`` client threads, one keep-alive HTTP/1.1 connection each, send pre-built GETs and
read the answers with a minimal parser, so the client costs little next to either server. Every
answer must be a 200 or the run fails. Targets are measured in turns, ``rounds`` times, and the
median is kept, so a change of load on the machine hits baseline and API alike.

The products table is filled by direct inserts of rows shaped like the indexer's (registering N
images on py-evm would take hours); the indexer path is measured on its own, below.

**Ingest.** ``events`` events go on chain (Registry commits and Ether locks, alternating; on anvil
``per_block`` transactions per block, on the embedded chain one per block: eth-tester cannot queue
several transactions of one sender), then the API's own indexer (the :class:`Market`'s, with its
catalog, task, trade and reputation projections) ingests everything from scratch into a fresh
SQLite file: events/s = events ingested / seconds of ``poll()``. Seconds spent in chain reads (RPC
plus web3's result formatting) are reported apart; a bare :class:`Indexer` is measured too.
"""

from __future__ import annotations

from aigc_lab.bench._http import bare_app, get_json, hammer, serving
from aigc_lab.bench._ingest import fill_products, measure_ingest, put_events
from aigc_lab.bench._report import (
    API_GOAL,
    INGEST_GOAL,
    TARGETS,
    ApiBenchError,
    ApiBenchReport,
    ChainKind,
    IngestResult,
    ServerMode,
    Throughput,
)
from aigc_lab.bench._run import check_params, open_chain, run_api_bench

__all__ = [
    "API_GOAL",
    "INGEST_GOAL",
    "TARGETS",
    "ApiBenchError",
    "ApiBenchReport",
    "ChainKind",
    "IngestResult",
    "ServerMode",
    "Throughput",
    "bare_app",
    "check_params",
    "fill_products",
    "get_json",
    "hammer",
    "measure_ingest",
    "open_chain",
    "put_events",
    "run_api_bench",
    "serving",
]
