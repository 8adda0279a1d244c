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

import hashlib
import json
import multiprocessing
import random
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import uvicorn
from eth_typing import HexStr
from eth_utils import to_checksum_address
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3Exception
from web3.types import Nonce, RPCEndpoint, TxParams, Wei

from ledger import Chain, Deployment, EmbeddedChain, RpcChain, deploy
from ledger.indexer import Indexer
from marketplace_api.config import ApiSettings
from marketplace_api.db import Base, make_engine
from marketplace_api.errors import ApiError
from marketplace_api.main import create_app
from marketplace_api.market import Market
from marketplace_api.models import Product, ProductEvent

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
    "hammer",
    "measure_ingest",
    "open_chain",
    "put_events",
    "run_api_bench",
    "serving",
]

API_GOAL = 0.5  # API requests/s over the bare endpoint's, same run (issue 6)
INGEST_GOAL = 2_000.0  # events/s into SQLite (issue 6)
TARGETS = ("bare", "list", "detail")
ServerMode = Literal["process", "thread"]
ChainKind = Literal["anvil", "embedded"]
Progress = Callable[[str, float], None]  # (what runs now, fraction done)
TIMEOUT_S = 30.0  # per socket operation and per server start: nothing waits for ever
MAX_PER_BLOCK = 150  # x 150k gas stays under a 30M block gas limit


class ApiBenchError(ApiError):
    """Raised when a benchmark parameter is out of range or a measured server answers wrongly."""

    code = "bench_failed"


@dataclass(frozen=True)
class Throughput:
    """One timed run of ``requests`` GETs against one target."""

    target: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class IngestResult:
    """One ``poll()`` from scratch: events ingested, its seconds, and those in chain reads."""

    indexer: str
    events: int
    blocks: int
    seconds: float
    chain_read_s: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class ApiBenchReport:
    chain: str
    server: str
    products: int
    concurrency: int
    runs: dict[str, list[Throughput]]  # target -> one run per round
    ingest: list[IngestResult]

    def rps(self, target: str) -> float:
        """Median requests/s of ``target`` over the rounds."""
        return statistics.median(t.rps for t in self.runs[target])

    def ratio(self, target: str) -> float:
        """Median over the rounds of ``target``'s requests/s over the baseline's in that round."""
        pairs = zip(self.runs[target], self.runs["bare"], strict=True)
        return statistics.median(t.rps / b.rps for t, b in pairs)

    def latency_ms(self, target: str) -> tuple[float, float]:
        """Median over the rounds of the p50 and of the p99 latency, in milliseconds."""
        runs = self.runs[target]
        return statistics.median(r.p50_ms for r in runs), statistics.median(r.p99_ms for r in runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "server": self.server,
            "products": self.products,
            "concurrency": self.concurrency,
            "rps": {t: self.rps(t) for t in self.runs},
            "ratio_vs_bare": {t: self.ratio(t) for t in self.runs if t != "bare"},
            "goal_ratio": API_GOAL,
            "runs": {t: [asdict(r) | {"rps": r.rps} for r in rs] for t, rs in self.runs.items()},
            "ingest": [asdict(i) | {"events_per_s": i.events_per_s} for i in self.ingest],
            "goal_events_per_s": INGEST_GOAL,
        }


# -- servers -------------------------------------------------------------------------------------
def bare_app(document: dict[str, Any]) -> Starlette:
    """The baseline: one route answering ``document`` as a ``JSONResponse`` (encoded per call)."""

    async def endpoint(_: Request) -> JSONResponse:
        return JSONResponse(document)

    return Starlette(routes=[Route("/doc", endpoint)])


def _run_server(server: uvicorn.Server, sock: socket.socket, app: Any) -> None:
    engine = getattr(getattr(app, "state", None), "engine", None)
    if isinstance(engine, Engine):
        engine.dispose(close=False)  # a forked child must not share the parent's connections
    server.run(sockets=[sock])


@contextmanager
def serving(app: ASGIApp, *, mode: ServerMode = "process") -> Iterator[int]:
    """Serves ``app`` with uvicorn on a free 127.0.0.1 port (yielded) until the block ends."""
    # proto IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections, as for a server
    # uvicorn binds itself (with proto 0, Nagle + delayed ACKs cap each connection at ~25 req/s)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections queue until the server accepts: no start-up race
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    args = (server, sock, app)
    if mode == "process" and "fork" not in multiprocessing.get_all_start_methods():
        sock.close()
        raise ApiBenchError("this platform cannot fork: serve in a thread (--server thread)")
    if mode == "process":
        worker: Any = multiprocessing.get_context("fork").Process(
            target=_run_server, args=args, daemon=True
        )
    else:
        worker = threading.Thread(target=_run_server, args=args, daemon=True)
    worker.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        if mode == "process":
            worker.terminate()  # SIGTERM: uvicorn shuts down gracefully
        server.should_exit = True
        worker.join(TIMEOUT_S)
        if mode == "process" and worker.is_alive():
            worker.kill()
            worker.join()
        sock.close()


# -- client --------------------------------------------------------------------------------------
def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")


def _response(reader: BinaryIO) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 response with a Content-Length (what uvicorn sends)."""
    status_line = reader.readline()
    if not status_line:
        raise ApiBenchError("the server closed the connection")
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status_line.split()[1]), reader.read(length)


def get_json(port: int, path: str) -> Any:
    """One GET on a fresh connection; the JSON body of a 200, else :class:`ApiBenchError`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
            sock.sendall(_request(path))
            status, body = _response(cast(BinaryIO, sock.makefile("rb")))
        if status != 200:
            raise ApiBenchError(f"GET {path} answered {status}: {body[:200]!r}")
        return json.loads(body)
    except (OSError, ValueError) as exc:
        raise ApiBenchError(f"GET {path} failed: {exc}") from None


def _client(
    port: int, wires: Sequence[bytes], offset: int, count: int, start: threading.Barrier,
    latencies: list[float], failures: list[str],
) -> None:  # fmt: skip
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = cast(BinaryIO, sock.makefile("rb"))
            start.wait(TIMEOUT_S)
            for i in range(count):
                began = time.perf_counter()
                sock.sendall(wires[(offset + i) % len(wires)])
                status, body = _response(reader)
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    raise ApiBenchError(f"answer {status}: {body[:200]!r}")
    except (OSError, ValueError, threading.BrokenBarrierError, ApiBenchError) as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
        start.abort()


def hammer(
    port: int, paths: Sequence[str], *, target: str, requests: int, concurrency: int
) -> Throughput:
    """``requests`` GETs over ``paths`` (round robin) from ``concurrency`` keep-alive clients."""
    if requests < concurrency or concurrency < 1 or not paths:
        raise ApiBenchError("need concurrency >= 1, requests >= concurrency and at least one path")
    wires = [_request(p) for p in paths]
    start = threading.Barrier(concurrency + 1)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures: list[str] = []
    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    clients = [
        threading.Thread(
            target=_client,
            args=(port, wires, i * len(wires) // concurrency, n, start, latencies[i], failures),
            daemon=True,
        )
        for i, n in enumerate(shares)
    ]
    for c in clients:
        c.start()
    with suppress(threading.BrokenBarrierError):
        start.wait(TIMEOUT_S)
    began = time.perf_counter()
    for c in clients:
        c.join()
    seconds = time.perf_counter() - began
    if failures:
        raise ApiBenchError(f"{target}: {len(failures)} client(s) failed, first: {failures[0]}")
    times = sorted(t for ts in latencies for t in ts)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return Throughput(target, requests, seconds, statistics.median(times) * 1e3, p99 * 1e3)


# -- data ----------------------------------------------------------------------------------------
def fill_products(engine: Engine, count: int, *, seed: int = 0) -> list[str]:
    """Inserts ``count`` products, each with its ``registered`` history entry, shaped like the
    catalog's rows; returns their token ids in registration order."""
    rng = random.Random(seed)

    def address() -> str:
        return str(to_checksum_address("0x" + rng.randbytes(20).hex()))

    producers = [address() for _ in range(max(1, count // 20))]
    esps = [address() for _ in range(8)]
    model = "0x" + hashlib.sha256(b"bundled").hexdigest()
    products: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for i in range(count):
        token = "0x" + hashlib.sha256(f"aigc-bench-{seed}-{i}".encode()).hexdigest()
        producer, esp = rng.choice(producers), rng.choice(esps)
        products.append(
            {"token_id": token, "fingerprint": "0x" + rng.randbytes(32).hex(),
             "producer": producer, "owner": producer, "esp": esp,
             "task_id": "0x" + rng.randbytes(32).hex(), "model_id": model,
             "seed": str(rng.randrange(2**32)), "registered_block": 100 + i, "status": "active",
             "image_blob": None, "metadata_uri": f"aigc://token/{int(token, 16)}"}
        )  # fmt: skip
        history.append(
            {"token_id": token, "kind": "registered", "block_number": 100 + i,
             "tx_hash": "0x" + rng.randbytes(32).hex(), "data": {"producer": producer, "esp": esp}}
        )  # fmt: skip
    with Session(engine) as session, session.begin():
        if products:
            session.execute(insert(Product), products)
            session.execute(insert(ProductEvent), history)
    return [p["token_id"] for p in products]


def _batch_size(chain: Chain, per_block: int) -> int:
    """Transactions sent between two progress reports (one block on anvil)."""
    return per_block if isinstance(chain, RpcChain) else 25


def put_events(
    deployment: Deployment, *, count: int, per_block: int = 100, seed: int = 0,
    on_batch: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """Puts ``count`` events on chain: Registry commits and HTLC Ether locks, alternating.

    On anvil (automine paused) ``per_block`` transactions go in one JSON-RPC batch and are mined
    together; on the embedded chain each transaction is mined on its own. The sender is a dev
    account the node holds the key of (``eth_sendTransaction``).
    """
    chain, w3 = deployment.chain, deployment.chain.w3
    accounts = chain.dev_accounts()
    sender, receiver = accounts[7].address, accounts[8].address
    rng = random.Random(seed)
    nonce = w3.eth.get_transaction_count(sender)
    timelock = chain.timestamp() + 86_400
    fee = 2 * int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) + 10**9
    registry, htlc, chain_id = deployment.registry, deployment.htlc, chain.chain_id

    def tx(i: int) -> TxParams:
        if i % 2 == 0:
            to, value = registry.address, 0
            data = registry.encode_abi("commit", args=[rng.randbytes(32)])
        else:
            to, value = htlc.address, 1
            data = htlc.encode_abi("lockEther", args=[receiver, rng.randbytes(32), timelock])
        return {"from": sender, "to": to, "data": HexStr(data), "value": Wei(value),
                "gas": 150_000, "nonce": Nonce(nonce + i), "maxFeePerGas": Wei(fee),
                "maxPriorityFeePerGas": Wei(10**9), "chainId": chain_id}  # fmt: skip

    batch_size = _batch_size(chain, per_block)
    anvil = isinstance(chain, RpcChain) and isinstance(w3.provider, HTTPProvider)
    try:
        if anvil:
            w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
        for first in range(0, count, batch_size):
            todo = range(first, min(count, first + batch_size))
            if anvil:
                _send_batch(cast(HTTPProvider, w3.provider), [tx(i) for i in todo])
                chain.mine(1)
                mined = len(w3.eth.get_block("latest")["transactions"])
                if mined != len(todo):
                    raise ApiBenchError(f"anvil mined {mined} of {len(todo)} transactions")
            else:
                for i in todo:
                    w3.eth.send_transaction(tx(i))
            on_batch()
    except Web3Exception as exc:
        raise ApiBenchError(f"putting events on chain failed: {exc}") from None
    finally:
        if anvil:
            w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])


def _send_batch(provider: HTTPProvider, txs: Sequence[TxParams]) -> None:
    """``eth_sendTransaction`` for each of ``txs`` in one JSON-RPC batch (web3's own batching
    refuses that method); the node signs for its unlocked dev accounts."""
    raw = [{k: hex(v) if isinstance(v, int) else v for k, v in tx.items()} for tx in txs]
    answers = provider.make_batch_request(
        [(RPCEndpoint("eth_sendTransaction"), [tx]) for tx in raw]
    )
    errors = [a["error"] for a in answers if "error" in a] if isinstance(answers, list) else []
    if not isinstance(answers, list) or errors:
        raise ApiBenchError(f"the node refused transactions: {errors[:1] or answers}")


# -- ingest --------------------------------------------------------------------------------------
class _TimedEth:
    """Stands in for ``w3.eth`` inside an indexer and adds up the seconds of its chain reads."""

    def __init__(self, eth: Any) -> None:
        self._eth = eth
        self.seconds = 0.0

    def _timed(self, read: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        try:
            return read()
        finally:
            self.seconds += time.perf_counter() - began

    @property
    def block_number(self) -> int:
        return int(self._timed(lambda: self._eth.block_number))

    def get_logs(self, query: Any) -> Any:
        return self._timed(lambda: self._eth.get_logs(query))

    def get_block(self, ident: Any) -> Any:
        return self._timed(lambda: self._eth.get_block(ident))


class _TimedProvider:
    """Stands in for the provider: times raw requests (the indexer reads logs raw from nodes)."""

    def __init__(self, provider: Any, eth: _TimedEth) -> None:
        self._provider = provider
        self._eth = eth

    def make_request(self, method: Any, params: Any) -> Any:
        return self._eth._timed(lambda: self._provider.make_request(method, params))


class _TimedWeb3:
    def __init__(self, w3: Web3) -> None:
        self.eth = _TimedEth(w3.eth)
        self.codec = w3.codec
        self.provider = _TimedProvider(w3.provider, self.eth)


def measure_ingest(deployment: Deployment, db_path: Path, *, projections: bool) -> IngestResult:
    """Times one ``poll()`` from scratch into a fresh SQLite file at ``db_path``: the API's
    indexer with its projections, or (``projections=False``) a bare :class:`Indexer`."""
    if db_path.exists():
        raise ApiBenchError(f"{db_path} exists: the ingest needs a fresh database")
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        if projections:
            Base.metadata.create_all(engine)
            indexer = Market(deployment, engine).indexer
        else:
            indexer = Indexer(deployment, engine)
        timed = _TimedWeb3(indexer.w3)
        indexer.w3 = cast(Web3, timed)
        began = time.perf_counter()
        result = indexer.poll()
        seconds = time.perf_counter() - began
    finally:
        engine.dispose()
    return IngestResult(
        indexer="API (projections)" if projections else "bare Indexer",
        events=result.events,
        blocks=result.to_block - result.from_block + 1,
        seconds=seconds,
        chain_read_s=timed.eth.seconds,
    )


# -- the whole benchmark -------------------------------------------------------------------------
@contextmanager
def open_chain(kind: ChainKind, workdir: Path) -> Iterator[Deployment]:
    """A fresh deployment on a new embedded chain or on an anvil started (and stopped) here."""
    if kind == "embedded":
        chain: Chain = EmbeddedChain()
        yield deploy(chain, chain.dev_accounts()[0])
        return
    from ledger.devnet import start_anvil

    dev = start_anvil(workdir / "anvil" / "state.json", state_interval=3600)
    try:
        chain = RpcChain(dev.url, dev=True)
        yield deploy(chain, chain.dev_accounts()[0])
    finally:
        dev.stop()


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


def _check_answers(port: int, tokens: Sequence[str], detail: Any) -> None:
    """The API must answer real data before it is timed (not errors, not an empty page)."""
    page = get_json(port, "/v1/products?limit=20")
    if len(page["items"]) != min(20, len(tokens)) or page["items"][0]["token_id"] != tokens[-1]:
        raise ApiBenchError("GET /v1/products did not list the inserted products, newest first")
    if detail.get("token_id") != tokens[0] or not detail.get("history"):
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
    batches = -(-events // _batch_size(deployment.chain, per_block))
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
    app = create_app(settings, deployment)
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
