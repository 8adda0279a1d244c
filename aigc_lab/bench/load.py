"""`aigc bench load`: the whole paid-generation lifecycle under load, against anvil mining a block
every ``block_time`` seconds, `aigc serve --workers R` and `aigc index` (separate processes on one
database), E ESP workers and P producers, and in the same run the ceiling of the same on-chain
transactions sent straight to the chain (no API, no indexer, no workers).

Each producer runs T tasks end to end through the Python client (:class:`ProducerSession`): post,
lock the fee and acknowledge the quote (pay), wait for the ESP's delivery, wait for its claim, open
the sealed image, register it (commit, reveal); every second product is listed and sold to a
consumer (an atomic swap). ESP workers (:class:`EspWorker`) are threads of this process, or with
``esp_processes`` each its own OS process polling the API (:mod:`aigc_lab.bench._load_esp`).
Every wait is bounded (``step_timeout_s``); a step that runs out is an error, never a hang.

With ``faults`` a standby `aigc index` runs beside the leader, and a third of the way in one API
replica and the leading indexer are SIGKILLed (:mod:`aigc_lab.bench._load_faults`, which also
holds the clients' bounded, idempotent retries); the report gives the takeover time and the
retries, and the end checks below must still hold.

The direct ceiling sends, from P threads, the same transactions per lifecycle (lock, acknowledge,
withdraw, commit, reveal) with the ledger clients. At the end every generation lock must be
withdrawn (or refundable), and the database must hold each of the chain's logs exactly once and one
product per ``Registered`` log.
"""

from __future__ import annotations

import contextlib
import cProfile
import hashlib
import json
import math
import os
import pstats
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from PIL import Image
from web3.types import RPCEndpoint

from aigc_lab.bench._load_esp import spawn as spawn_esp
from aigc_lab.bench._load_faults import Faults, Retries, esp_loop
from ledger import (
    EspRegistryClient,
    HtlcClient,
    LockStatus,
    LockTerms,
    Registration,
    RegistryClient,
    RpcChain,
    Transactor,
    deploy,
    new_secret,
)
from ledger.clients.esp_registry import generation_lock, sign_quote
from ledger.clients.registry import sign_attestation
from ledger.devnet import free_port, start_anvil, write_pidfile
from ledger.errors import LedgerError
from services.content import canonical_hash
from services.esp_worker import EspWorker
from services.exchange import buyer_claim_token, buyer_pay, seller_claim_payment, seller_lock_token
from services.listing import Offer, sign_offer
from services.market_client import MarketClient, MarketError
from services.producer import ProducerSession
from services.provenance import detail_descriptor, fingerprint

STEPS = ("post", "quote", "pay", "deliver", "claim", "open", "register", "list", "sale")
RATIO_GOAL = 0.5
ESP_INTERVAL_S = 0.3  # seconds between an ESP worker's rounds
PRICE = 10**15


class LoadError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class LoadParams:
    """Defaults scaled to a 2-core machine (issue 17 names 50/10/10/4 for a bigger one)."""

    producers: int = 6
    consumers: int = 2
    esps: int = 2
    replicas: int = 2
    tasks: int = 2
    block_time: int = 1
    constant_images: bool = False
    database_url: str | None = None
    step_timeout_s: float = 180.0
    seed: int = 0
    profile: bool = False  # cProfile every producer and ESP thread of the API run (slower)
    faults: bool = False  # SIGKILL one replica and the leading indexer (a standby runs) mid-run
    esp_processes: bool = False  # each ESP worker its own OS process instead of a thread
    replace_timeout_s: float = 200.0  # --faults: how long to wait for the replica's replacement

    def check(self) -> None:
        for name in ("producers", "consumers", "esps", "replicas", "tasks"):
            if getattr(self, name) < 1:
                raise LoadError(f"--{name} must be at least 1")
        if self.faults and self.replicas < 2:
            raise LoadError("--faults kills one replica: --replicas must be at least 2")
        if self.profile and self.esp_processes:
            raise LoadError("--profile sees this process's threads only: drop --esp-processes")
        if not 1 <= self.block_time <= 60:
            raise LoadError("--block-time must be 1 to 60 whole seconds (anvil's interval mining)")


@dataclass
class LoadReport:
    params: dict[str, Any]
    lifecycles: int
    completed: int
    sales: int
    api_seconds: float
    direct_lifecycles: int
    direct_seconds: float
    latency_ms: dict[str, list[float]]
    errors: dict[str, int]
    status_5xx: int
    locks: dict[str, int]
    chain_logs: int
    indexed_events: int
    duplicate_events: int
    missing_events: int
    registered_logs: int
    indexed_products: int
    direct_tx_errors: dict[str, int] = field(default_factory=dict)
    generator_images: int = 0
    generator_seconds: float = 0.0
    profile: list[dict[str, Any]] = field(default_factory=list)
    retries: dict[str, int] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)
    duplicate_tasks: int = 0

    @property
    def faults_ok(self) -> bool:
        """No fault run, or both faults happened and the standby indexer took over and caught up
        (the run itself shows that the surviving replicas served; ``replica_replaced_s`` is
        uvicorn's, reported but not required)."""
        f = self.faults
        return not f or all(f.get(k) is not None for k in ("takeover_s", "caught_up_s"))

    @property
    def per_minute(self) -> float:
        return 60 * self.completed / self.api_seconds if self.api_seconds else 0.0

    @property
    def direct_per_minute(self) -> float:
        return 60 * self.direct_lifecycles / self.direct_seconds if self.direct_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.per_minute / self.direct_per_minute if self.direct_per_minute else 0.0

    @property
    def locks_settled(self) -> bool:
        return self.locks.get("open_not_refundable", 0) == 0 and self.locks.get("none", 0) == 0

    @property
    def events_exact(self) -> bool:
        return (
            self.missing_events == 0
            and self.duplicate_events == 0
            and self.registered_logs == self.indexed_products
            and self.duplicate_tasks == 0
        )

    def percentiles(self, step: str) -> tuple[float, float, float]:
        xs = sorted(self.latency_ms.get(step, []))
        if not xs:
            return (0.0, 0.0, 0.0)

        def pick(q: float) -> float:
            return xs[max(0, math.ceil(q * len(xs)) - 1)]  # nearest rank

        return pick(0.5), pick(0.95), pick(0.99)

    def to_json(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "lifecycles": self.lifecycles,
            "completed": self.completed,
            "sales": self.sales,
            "api_seconds": round(self.api_seconds, 3),
            "lifecycles_per_minute": round(self.per_minute, 2),
            "direct": {
                "lifecycles": self.direct_lifecycles,
                "seconds": round(self.direct_seconds, 3),
                "lifecycles_per_minute": round(self.direct_per_minute, 2),
                "errors": self.direct_tx_errors,
            },
            "ratio": round(self.ratio, 3),
            "ratio_goal": RATIO_GOAL,
            "generator_alone": {
                "images": self.generator_images,
                "seconds": round(self.generator_seconds, 3),
                "images_per_minute": round(60 * self.generator_images / self.generator_seconds, 1)
                if self.generator_seconds
                else 0.0,
            },
            "latency_ms": {
                s: dict(
                    zip(
                        ("p50", "p95", "p99"),
                        [round(v, 1) for v in self.percentiles(s)],
                        strict=True,
                    )
                )
                | {"n": len(self.latency_ms.get(s, []))}
                for s in STEPS
            },
            "errors": self.errors,
            "status_5xx": self.status_5xx,
            "locks": self.locks,
            "locks_settled": self.locks_settled,
            "events": {
                "chain_logs": self.chain_logs,
                "indexed": self.indexed_events,
                "missing": self.missing_events,
                "duplicate": self.duplicate_events,
                "registered_logs": self.registered_logs,
                "indexed_products": self.indexed_products,
                "duplicate_tasks": self.duplicate_tasks,
                "exact": self.events_exact,
            },
            "retries": self.retries,
            "faults": self.faults,
            "profile": self.profile,
        }


# -- images ------------------------------------------------------------------------------------
def constant_image_maker() -> Callable[[str, int], tuple[Image.Image, dict[str, Any]]]:
    """A deterministic per-seed random 64x64 picture in constant time (no model)."""

    def make(prompt: str, seed: int) -> tuple[Image.Image, dict[str, Any]]:
        digest = hashlib.sha256(f"{prompt}|{seed}".encode()).digest()
        rng = random.Random(digest)
        blocks = Image.frombytes("RGB", (8, 8), rng.randbytes(8 * 8 * 3))
        return blocks.resize((64, 64), Image.Resampling.BILINEAR), {"model_id": "constant"}

    return make


def fp32(image: Image.Image) -> bytes:
    return fingerprint(image).to_bytes32()


# -- measurement ---------------------------------------------------------------------------------
class Recorder:
    """Latencies per step and errors by code, from every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.status_5xx = 0

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        with self.lock:
            self.latency[name].append(1000 * (time.perf_counter() - t0))

    def error(self, exc: BaseException) -> None:
        with self.lock:
            if isinstance(exc, MarketError):
                self.errors[f"{exc.status} {exc.code}"] += 1  # 5xx: counted per response
            elif isinstance(exc, LedgerError):
                self.errors[f"chain {type(exc).__name__}"] += 1
            else:
                self.errors[f"{type(exc).__name__}"] += 1

    def on_response(self, resp: httpx.Response) -> None:
        """Every answer of the API, retried ones and polls included."""
        if resp.status_code >= 500:
            with self.lock:
                self.status_5xx += 1


def _until(what: str, check: Callable[[], Any], timeout_s: float, poll_s: float = 0.2) -> Any:
    """Polls ``check`` until it returns something truthy; a bounded loop."""
    deadline = time.monotonic() + timeout_s
    while True:
        out = check()
        if out:
            return out
        if time.monotonic() >= deadline:
            raise LoadError(f"timed out: {what}")
        time.sleep(poll_s)


class Profiler:
    """One cProfile per thread (cProfile sees only the thread it runs in), merged at the end."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.profiles: dict[str, list[cProfile.Profile]] = defaultdict(list)
        self.lock = threading.Lock()

    def wrap(self, group: str, target: Callable[..., None]) -> Callable[..., None]:
        if not self.enabled:
            return target

        def run(*args: Any) -> None:
            prof = cProfile.Profile()
            try:
                prof.runcall(target, *args)
            finally:
                with self.lock:
                    self.profiles[group].append(prof)

        return run

    def top(self, n: int = 8) -> list[dict[str, Any]]:
        """Per thread group, the functions with the most cumulative time (wall, summed over
        the group's threads; waits included, which is where a lifecycle's time goes)."""
        rows: list[dict[str, Any]] = []
        for group, profs in sorted(self.profiles.items()):
            stats = pstats.Stats(profs[0])
            for prof in profs[1:]:
                stats.add(prof)
            entries = stats.stats  # type: ignore[attr-defined]
            ranked = sorted(entries.items(), key=lambda kv: kv[1][3], reverse=True)
            for (file, line, name), (_, calls, tottime, cumtime, _) in ranked[:n]:
                rows.append(
                    {
                        "threads": group,
                        "function": f"{Path(file).name}:{line}({name})",
                        "calls": calls,
                        "tottime_s": round(tottime, 3),
                        "cumtime_s": round(cumtime, 3),
                    }
                )
        return rows


# -- the stack -----------------------------------------------------------------------------------
@dataclass
class Stack:
    chain: RpcChain
    deployment: Any
    base_url: str
    db_url: str
    workdir: Path
    procs: list[subprocess.Popen[bytes]]  # serve, the leading indexer, the standby (--faults)
    env: dict[str, str] = field(default_factory=dict)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "aigc_cli.main", *args],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=log.parent,
    )


@contextlib.contextmanager
def open_stack(params: LoadParams, workdir: Path) -> Iterator[Stack]:
    """anvil with interval mining, the contracts, `aigc serve --workers R` and `aigc index`."""
    data = workdir / "data"
    dev = start_anvil(data / "devnet" / "state.json")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        chain = RpcChain(dev.url, dev=True)
        deployment = deploy(chain, chain.dev_accounts()[0])
        deployment.manifest.save(data / "deployments" / f"{chain.chain_id}.json")
        write_pidfile(data / "devnet" / "anvil.json", dev)
        # Interval mining from here on (deploying under automine keeps the start short).
        for method, args in (
            ("evm_setAutomine", [False]),
            ("evm_setIntervalMining", [params.block_time]),
        ):
            answer = chain.w3.provider.make_request(RPCEndpoint(method), args)
            if "error" in answer:
                raise LoadError(f"anvil refused {method}: {answer['error']}")
        db_url = params.database_url or f"sqlite:///{workdir / 'marketplace.db'}"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")} | {
            "AIGC_CHAIN": "devnet",
            "AIGC_DATA_DIR": str(data),
            "AIGC_DATABASE_URL": db_url,
            "AIGC_BLOB_STORE": "db",
            "AIGC_FOLLOW_INTERVAL_S": "0.2",
            "AIGC_RATE_NONCE_PER_MINUTE": "100000",
            "AIGC_RATE_UPLOAD_PER_MINUTE": "100000",
            "AIGC_RATE_TASKS_PER_MINUTE": "100000",
            "AIGC_RATE_LISTINGS_PER_MINUTE": "100000",
            "AIGC_RATE_TRADES_PER_MINUTE": "100000",
        }
        serve_args = ["serve", "--workers", str(params.replicas), "--port", str(port)]
        procs.append(_spawn(serve_args, env, workdir / "serve.log"))
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if procs[0].poll() is not None:
                raise LoadError(f"aigc serve exited:\n{(workdir / 'serve.log').read_text()}")
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(base + "/healthz", timeout=5).status_code == 200
            return False

        _until("the API serves", healthy, 120)
        procs.append(_spawn(["index", "--interval", "0.2"], env, workdir / "index.log"))
        if params.faults:  # a standby, started once the first one leads
            leads = workdir / "index.log"
            _until("the indexer leads", lambda: "leading" in leads.read_text(), 120)
            procs.append(_spawn(["index", "--interval", "0.2"], env, workdir / "standby.log"))
        yield Stack(chain, deployment, base, db_url, workdir, procs, env)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        dev.stop()


@dataclass
class Party:
    account: LocalAccount
    htlc: HtlcClient
    registry: RegistryClient
    esps: EspRegistryClient
    client: MarketClient | None = None


def _party(stack: Stack, key: LocalAccount, http: httpx.Client | None) -> Party:
    tx = Transactor(stack.chain, key)
    dep = stack.deployment
    client = MarketClient(http, key) if http is not None else None
    return Party(
        key, HtlcClient(dep, tx), RegistryClient(dep, tx), EspRegistryClient(dep, tx), client
    )


def _accounts(stack: Stack, n: int, salt: str) -> list[LocalAccount]:
    """Fresh funded accounts (anvil_setBalance: no transactions, no nonces)."""
    keys = []
    for i in range(n):
        acct = Account.from_key(hashlib.sha256(f"aigc-load|{salt}|{i}".encode()).digest())
        stack.chain.w3.provider.make_request(
            RPCEndpoint("anvil_setBalance"), [acct.address, hex(10**22)]
        )
        keys.append(acct)
    return keys


# -- the API run -----------------------------------------------------------------------------------
class ApiRun:
    def __init__(self, stack: Stack, params: LoadParams, rec: Recorder):
        self.stack, self.params, self.rec = stack, params, rec
        self.http_clients: list[httpx.Client] = []
        self.locks: list[LockTerms] = []
        self.tokens: list[int] = []
        # Sales wait until every lifecycle has registered: the escrow takes a token only
        # registrationWindow + commitTtl blocks after its reveal, and mining there while other
        # producers are between their fee lock and its claim (or commit and reveal) expires them.
        self.sales_due: list[tuple[int, int, Party, int]] = []
        self.completed = 0
        self.sales = 0
        self.mutex = threading.Lock()
        self.profiler = Profiler(params.profile)
        self.retries = Retries()
        self.faults: Faults | None = None
        self.fault_thread: threading.Thread | None = None
        make = self.make = constant_image_maker() if params.constant_images else _bundled()
        stake = int(stack.deployment.manifest.params["esp_min_stake"])
        self.esp_parties = [self._signed_in(k) for k in _accounts(stack, params.esps, "esp")]
        self.workers = []
        for i, esp in enumerate(self.esp_parties):
            esp.esps.register(f"http://esp{i}.load", price=PRICE, stake=stake)
            assert esp.client is not None
            self.workers.append(
                EspWorker(
                    esp.client,
                    esp.htlc,
                    make_image=make,
                    fingerprint=fp32,
                    state_path=stack.workdir / "esp" / f"{i}.json",
                    price=PRICE,
                    deadline_s=3600,
                )
            )
        self.producers = [self._signed_in(k) for k in _accounts(stack, params.producers, "p")]
        self.consumers = [self._signed_in(k) for k in _accounts(stack, params.consumers, "c")]
        self.consumer_locks = [threading.Lock() for _ in self.consumers]

    def _signed_in(self, key: LocalAccount) -> Party:
        http = httpx.Client(
            base_url=self.stack.base_url,
            timeout=60,
            event_hooks={"response": [self.rec.on_response]},
        )
        self.http_clients.append(http)
        return _party(self.stack, key, http)

    def close(self) -> None:
        for http in self.http_clients:
            http.close()

    def run(self) -> float:
        stop = threading.Event()
        if self.params.esp_processes:
            esp_procs = self._start_esp_processes()
            esp_threads = []
        else:
            esp_procs = []
            esp_threads = [
                threading.Thread(
                    target=self.profiler.wrap("esp", esp_loop),
                    args=(w, stop, ESP_INTERVAL_S, self.retries),
                    daemon=True,
                )
                for w in self.workers
            ]
        for t in esp_threads:
            t.start()
        t0 = time.perf_counter()
        self.fault_thread = self._start_faults(stop, time.monotonic())
        threads = [
            threading.Thread(target=self.profiler.wrap("producer", self._producer), args=(i,))
            for i in range(len(self.producers))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self._sell_due()
        elapsed = time.perf_counter() - t0
        stop.set()
        for t in esp_threads:
            t.join(timeout=30)
        for proc, log in esp_procs:
            self._stop_esp_process(proc, log)
        return elapsed

    def _start_esp_processes(self) -> list[tuple[subprocess.Popen[bytes], Path]]:
        """One `python -m aigc_lab.bench._load_esp` per ESP, polling the API like the threads;
        the clock starts once every one of them polls (the bundled model loads first)."""
        procs = [
            spawn_esp(
                api=self.stack.base_url,
                key=bytes(party.account.key),
                state=self.stack.workdir / "esp" / f"proc{i}.json",
                constant=self.params.constant_images,
                interval=ESP_INTERVAL_S,
                env=self.stack.env,
            )
            for i, party in enumerate(self.esp_parties)
        ]
        out = [(p, self.stack.workdir / "esp" / f"proc{i}.log") for i, p in enumerate(procs)]
        for proc, log in out:

            def ready(proc: subprocess.Popen[bytes] = proc, log: Path = log) -> bool:
                if proc.poll() is not None:
                    raise LoadError(f"an ESP process exited:\n{log.read_text()}")
                return "ready" in log.read_text()

            _until(f"the ESP process of {log.name} polls", ready, 300)
        return out

    def _stop_esp_process(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        """SIGTERM ends its loop; its last line is its retries, added to the run's."""
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            return
        for line in log.read_text().splitlines():
            if line.startswith('{"retries"'):
                for kind, n in json.loads(line)["retries"].items():
                    for _ in range(n):
                        self.retries.count(kind)

    def _start_faults(self, stop: threading.Event, started: float) -> threading.Thread | None:
        """With ``faults``: once a third of the lifecycles completed (at least one), SIGKILL a
        replica and the leading indexer while the rest are in flight."""
        if not self.params.faults:
            return None
        serve, leader, _standby = self.stack.procs[:3]
        self.faults = Faults(
            serve=serve,
            leader=leader,
            standby_log=self.stack.workdir / "standby.log",
            replicas=self.params.replicas,
            checkpoint=lambda: _checkpoint(self.stack.db_url),
            head=lambda: int(self.stack.chain.w3.eth.block_number),
        )
        point = max(1, self.params.producers * self.params.tasks // 3)
        thread = threading.Thread(
            target=self.faults.run,
            args=(lambda: self.completed >= point, stop),
            kwargs={"started": started, "replace_timeout_s": self.params.replace_timeout_s},
            daemon=True,
        )
        thread.start()
        return thread

    def _producer(self, i: int) -> None:
        p = self.producers[i]
        assert p.client is not None
        session = ProducerSession(p.client, p.htlc, p.registry, p.esps, fingerprint=fp32)
        for t in range(self.params.tasks):
            try:
                self._lifecycle(i, t, session, p)
            except (MarketError, LedgerError, LoadError, httpx.HTTPError) as exc:
                self.rec.error(exc)

    def _lifecycle(self, i: int, t: int, s: ProducerSession, p: Party) -> None:
        rec, timeout, retry = self.rec, self.params.step_timeout_s, self.retries
        seed = self.params.seed * 1_000_003 + i * 1000 + t + 1
        body = {"prompt": f"load test picture {i}/{t}", "seed": seed, "max_price": 2 * PRICE}
        with rec.step("post"):
            task = retry.post_task(s.client, body)
        tid = task["id"]

        def status_in(*wanted: str) -> Callable[[], dict[str, Any] | None]:
            def check() -> dict[str, Any] | None:
                cur = retry.call("get task", lambda: s.task(tid))
                return cur if cur["status"] in wanted else None

            return check

        with rec.step("quote"):
            task = _until("quote", status_in("quoted"), timeout)
        with rec.step("pay"):
            lock = s.lock_fee(task)
        with self.mutex:
            self.locks.append(lock)
        with rec.step("deliver"):
            _until("delivery", status_in("delivered", "claimed"), timeout)
        with rec.step("claim"):
            task = _until("claim", status_in("claimed"), timeout)
        with rec.step("open"):
            image, attestation = retry.call("open", lambda: s.collect(task))
        with rec.step("register"):
            token = s.register(task, image, attestation)
        with self.mutex:
            self.tokens.append(token)
            self.completed += 1
        if (i + t) % 2 == 0:
            with self.mutex:
                self.sales_due.append((i, t, p, token))

    def _sell_due(self) -> None:
        """The sales of the registered tokens, once the chain is past every one's reclaim window
        (mined at once), one thread per producer as before."""
        if not self.sales_due:
            return
        chain, reader = self.stack.chain, self.sales_due[0][2].registry
        last = max(reader.reclaimable_until(token) for *_, token in self.sales_due)
        chain.mine(max(0, last - chain.w3.eth.block_number))

        def sell(i: int) -> None:
            for _, t, p, token in [d for d in self.sales_due if d[0] == i]:
                try:
                    self._sell(i, t, p, token)
                except (MarketError, LedgerError, LoadError, httpx.HTTPError) as exc:
                    self.rec.error(exc)

        threads = [threading.Thread(target=sell, args=(i,)) for i in range(len(self.producers))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    def _sell(self, i: int, t: int, seller: Party, token: int) -> None:
        rec, timeout, dep, chain, retry = (
            self.rec,
            self.params.step_timeout_s,
            self.stack.deployment,
            self.stack.chain,
            self.retries,
        )
        assert seller.client is not None
        c = (i + t) % len(self.consumers)
        buyer = self.consumers[c]
        assert buyer.client is not None
        offer = Offer(
            token, seller.account.address, PRICE, chain.timestamp() + 86400, seed_nonce(i, t)
        )
        sig = sign_offer(
            seller.account, offer, chain_id=chain.chain_id, registry=dep.registry.address
        )
        body = {
            "token_id": str(token),
            "price": str(PRICE),
            "expiry": offer.expiry,
            "nonce": str(offer.nonce),
            "signature": "0x" + sig.hex(),
        }
        with rec.step("list"):
            # The indexer must have seen the registration before the token can be listed, and
            # the market holds a token while an earlier payer of its ESP could still reclaim it
            # (409 token_reclaimable): with several producers at one ESP, another producer's
            # lock older than this token's may not be registered yet. A seller waits as the
            # product page says (``reclaimable_until``), here until that lock is used. The
            # Registry's escrow itself refuses a token for registrationWindow + commitTtl blocks
            # after its reveal (RegistryTokenReclaimable): the bench mines past them.
            wait = seller.registry.reclaimable_until(token) - chain.w3.eth.block_number
            if wait > 0:
                chain.mine(wait)
            _until(
                "the product is indexed and not held",
                lambda: retry.call("get product", lambda: _sellable(seller.client, token)),
                timeout,
            )
            listing = retry.post_listing(seller.client, body)
        with self.consumer_locks[c], rec.step("sale"):
            retry.post_trade(buyer.client, listing["id"])
            sale_locks = swap_on_chain(self.stack, seller, buyer, token)
        with self.mutex:
            self.locks += sale_locks
            self.sales += 1


def _checkpoint(db_url: str) -> int:
    """The indexer's stored checkpoint block (-1 before the first)."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from ledger.indexer import Checkpoint

    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            cp = s.scalar(select(Checkpoint.block_number))
    finally:
        engine.dispose()
    return -1 if cp is None else int(cp)


def swap_on_chain(stack: Stack, seller: Party, buyer: Party, token: int) -> list[LockTerms]:
    """The atomic swap's transactions (services.exchange): approve, lock the token, pay (and the
    royalty on a resale), claim the payment, claim the token. Returns the locks."""
    dep, chain = stack.deployment, stack.chain
    # the escrow takes a token once no earlier payer can reclaim it (RegistryTokenReclaimable)
    wait = seller.registry.reclaimable_until(token) - chain.w3.eth.block_number
    if wait > 0:
        chain.mine(wait)
    seller.registry.approve(dep.htlc.address, token)
    held = seller_lock_token(
        seller.htlc, token=dep.registry.address, token_id=token,
        buyer=buyer.account.address, timelock=chain.timestamp() + 7200,
    )  # fmt: skip
    paid = buyer_pay(
        buyer.htlc, buyer.registry, held.asset_lock, seller=seller.account.address,
        token_id=token, price=PRICE, timelock=held.asset_lock.timelock - 1200,
    )  # fmt: skip
    seller_claim_payment(seller.htlc, paid.payment, held, registry=seller.registry, price=PRICE)
    secret = buyer_claim_token(buyer.htlc, paid.payment, held.asset_lock)
    if paid.royalty is not None:
        buyer.htlc.withdraw(paid.royalty, secret)
    return [held.asset_lock, paid.payment] + ([paid.royalty] if paid.royalty else [])


def seed_nonce(i: int, t: int) -> int:
    return int.from_bytes(hashlib.sha256(f"offer|{i}|{t}".encode()).digest()[:8], "big")


def _sellable(client: MarketClient | None, token: int) -> bool:
    """The product is indexed and no sale hold (``reclaimable_until``) keeps it off the market."""
    assert client is not None
    try:
        product = client.get(f"/v1/products/0x{token:064x}")
    except MarketError as exc:
        if exc.status == 404:
            return False
        raise
    return product.get("reclaimable_until") is None


def _bundled() -> Callable[[str, int], tuple[Image.Image, dict[str, Any]]]:
    from generators.maker import image_maker

    return image_maker("bundled")


# -- the direct ceiling ----------------------------------------------------------------------------
def run_direct(
    stack: Stack, params: LoadParams, n_lifecycles: int
) -> tuple[int, float, dict[str, int], list[LockTerms]]:
    """The same transactions per lifecycle (lock, acknowledge, withdraw, commit, reveal, and the
    swap's for every second one), sent by P producer threads with the ledger clients; the ESPs'
    signatures are made locally (no API, indexer or worker)."""
    stake = int(stack.deployment.manifest.params["esp_min_stake"])
    esps = [_party(stack, k, None) for k in _accounts(stack, params.esps, "direct-esp")]
    for i, e in enumerate(esps):
        e.esps.register(f"http://direct{i}.load", price=PRICE, stake=stake)
    producers = [_party(stack, k, None) for k in _accounts(stack, params.producers, "direct-p")]
    consumers = [_party(stack, k, None) for k in _accounts(stack, params.consumers, "direct-c")]
    consumer_locks = [threading.Lock() for _ in consumers]
    dep, chain = stack.deployment, stack.chain
    reg_addr = str(dep.registry.address)
    done, errors, locks = [0], Counter[str](), []
    mutex = threading.Lock()
    share = [
        n_lifecycles // len(producers) + (i < n_lifecycles % len(producers))
        for i in range(len(producers))
    ]
    # The images' hashes are made before the clock starts: this is the chain's ceiling alone.
    make = constant_image_maker()
    contents: dict[tuple[int, int], tuple[bytes, bytes, bytes]] = {}
    for i, n in enumerate(share):
        for t in range(n):
            image, _ = make(f"direct {i}/{t}", params.seed)
            contents[i, t] = (canonical_hash(image), fp32(image), detail_descriptor(image))

    def producer(i: int) -> None:
        p = producers[i]
        for t in range(share[i]):
            esp = esps[(i + t) % len(esps)]
            try:
                secret, hashlock = new_secret()
                terms = generation_lock(
                    producer=p.account.address, esp=esp.account.address, price=PRICE,
                    hashlock=hashlock, deadline=chain.timestamp() + 3600,
                )  # fmt: skip
                quote = sign_quote(esp.account, terms, chain_id=chain.chain_id,
                                   esp_registry=str(dep.esp_registry.address))  # fmt: skip
                lock = p.htlc.lock_ether(
                    terms.receiver, amount=terms.amount, hashlock=terms.hashlock,
                    timelock=terms.timelock,
                )  # fmt: skip
                with mutex:
                    locks.append(lock)
                p.esps.acknowledge(lock, quote)
                esp.htlc.withdraw(lock, secret)
                content, fp, detail = contents[i, t]
                reg = Registration(
                    content_hash=content, fingerprint=fp, detail=detail,
                    owner=p.account.address, esp=esp.account.address, task_id=lock.id,
                    model_id=hashlib.sha256(b"constant").digest(), seed=i * 1000 + t,
                )  # fmt: skip
                att = sign_attestation(esp.account, reg, chain_id=chain.chain_id, registry=reg_addr)
                p.registry.commit(reg)
                token = p.registry.reveal(reg, lock, att)
                with mutex:
                    if (i + t) % 2 == 0:  # the same share of sales as the API run
                        sales.append((p, consumers[(i + t) % len(consumers)], token))
                    else:
                        done[0] += 1
            except LedgerError as exc:
                with mutex:
                    errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1

    def sell(k: int) -> None:
        # After every registration: the escrow takes a token only registrationWindow +
        # commitTtl blocks after its reveal, and mining there while other producers are between
        # their lock and its claim, or their commit and reveal, would expire those.
        for p, consumer, token in sales[k :: len(consumers)]:
            try:
                with consumer_locks[consumers.index(consumer)]:
                    sold = swap_on_chain(stack, p, consumer, token)
                with mutex:
                    locks.extend(sold)
                    done[0] += 1
            except LedgerError as exc:
                with mutex:
                    errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1

    sales: list[tuple[Party, Party, int]] = []
    t0 = time.perf_counter()
    threads = [threading.Thread(target=producer, args=(i,)) for i in range(len(producers))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if sales:
        wait = max(consumers[0].registry.reclaimable_until(t) for _, _, t in sales)
        chain.mine(max(0, wait - chain.w3.eth.block_number))
    threads = [threading.Thread(target=sell, args=(k,)) for k in range(len(consumers))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return done[0], time.perf_counter() - t0, dict(errors), locks


# -- the end checks --------------------------------------------------------------------------------
def check_locks(stack: Stack, locks: list[LockTerms]) -> dict[str, int]:
    htlc = HtlcClient(stack.deployment, Transactor(stack.chain, stack.chain.dev_accounts()[0]))
    now = stack.chain.timestamp()
    out: Counter[str] = Counter()
    for lock in locks:
        status = htlc.status(lock)
        if status is LockStatus.OPEN:
            out["open_refundable" if lock.timelock <= now else "open_not_refundable"] += 1
        else:
            out[status.name.lower()] += 1
    return dict(out)


def check_events(stack: Stack, timeout_s: float) -> dict[str, int]:
    """Waits until the indexer reached the chain's head, then compares log for log."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from ledger.indexer import ChainEvent, Checkpoint
    from ledger.logs import chunked
    from marketplace_api.models import Product, Task

    chain, manifest = stack.chain, stack.deployment.manifest
    head = chain.w3.eth.block_number
    engine = create_engine(stack.db_url)
    try:

        def caught_up() -> bool:
            with Session(engine) as s:
                cp = s.scalar(select(Checkpoint.block_number))
            return cp is not None and int(cp) >= head

        _until("the indexer reaches the chain head", caught_up, timeout_s)
        addresses = [manifest.address(n) for n in manifest.contracts]
        # in bounded chunks (ledger.logs): a node capping eth_getLogs refuses one whole-range read
        logs = [
            log
            for part in chunked(
                lambda frm, to: chain.w3.eth.get_logs(
                    {"fromBlock": frm, "toBlock": to, "address": addresses}
                ),
                manifest.block,
                head,
            )
            for log in part
        ]
        on_chain = {
            ("0x" + bytes(log["transactionHash"]).hex(), int(log["logIndex"])) for log in logs
        }
        topic = stack.deployment.registry.events.Registered().topic
        registered = sum(
            1
            for log in logs
            if log["address"] == stack.deployment.registry.address
            and "0x" + bytes(log["topics"][0]).hex() == "0x" + topic.removeprefix("0x")
        )
        with Session(engine) as s:
            stored = s.execute(select(ChainEvent.tx_hash, ChainEvent.log_index)).all()
            products = int(s.scalar(select(func.count()).select_from(Product)) or 0)
            # A retried post must not leave two tasks for one (producer, prompt, seed).
            per_task = (
                select(func.count())
                .select_from(Task)
                .group_by(Task.producer, Task.prompt, Task.seed)
            )
            duplicate_tasks = sum(int(n) - 1 for n in s.scalars(per_task))
    finally:
        engine.dispose()
    stored_set = {(str(h).lower(), int(i)) for h, i in stored}
    return {
        "chain_logs": len(on_chain),
        "indexed": len(stored),
        "missing": len(on_chain - stored_set),
        "duplicate": len(stored) - len(stored_set),
        "registered_logs": registered,
        "indexed_products": products,
        "duplicate_tasks": duplicate_tasks,
    }


# -- the whole run ---------------------------------------------------------------------------------
def run_load(
    params: LoadParams, workdir: Path, *, say: Callable[[str], None] = lambda _: None
) -> LoadReport:
    params.check()
    rec = Recorder()
    say("starting anvil, aigc serve, aigc index")
    with open_stack(params, workdir) as stack:
        api = ApiRun(stack, params, rec)
        try:
            say(f"API run: {params.producers} producers x {params.tasks} tasks")
            api_s = api.run()
        finally:
            api.close()
        n = params.producers * params.tasks
        say(f"generator alone: {n} images in one thread")
        t0 = time.perf_counter()
        for k in range(n):
            api.make(f"generator alone {k}", params.seed + k)
        gen_s = time.perf_counter() - t0
        say(f"direct run: {n} lifecycles of raw transactions")
        direct_done, direct_s, direct_err, direct_locks = run_direct(stack, params, n)
        say("checking locks and events")
        locks = check_locks(stack, api.locks + direct_locks)
        events = check_events(stack, params.step_timeout_s)
        if api.fault_thread is not None:
            # uvicorn notices a replica that died under its health ping only when the ping
            # times out (`aigc serve` sets 120 s), so its replacement can outlast the run.
            say("waiting for the killed replica's replacement")
            api.fault_thread.join(timeout=params.replace_timeout_s + 10)
    return LoadReport(
        params=vars(params) | {"database_url": "postgresql" if params.database_url else "sqlite"},
        lifecycles=n,
        completed=api.completed,
        sales=api.sales,
        api_seconds=api_s,
        direct_lifecycles=direct_done,
        direct_seconds=direct_s,
        latency_ms=dict(rec.latency),
        errors=dict(rec.errors),
        status_5xx=rec.status_5xx,
        locks=locks,
        chain_logs=events["chain_logs"],
        indexed_events=events["indexed"],
        duplicate_events=events["duplicate"],
        missing_events=events["missing"],
        registered_logs=events["registered_logs"],
        indexed_products=events["indexed_products"],
        direct_tx_errors=direct_err,
        generator_images=n,
        generator_seconds=gen_s,
        profile=api.profiler.top(),
        retries=dict(api.retries.counts),
        faults=api.faults.report if api.faults else {},
        duplicate_tasks=events["duplicate_tasks"],
    )
