"""Faults under load for `aigc bench load --faults`: bounded, idempotent client retries, and the
kill of one API replica and of the active indexer in the middle of the run.

What a client may retry, and how (the API has no ``Idempotency-Key`` support; nothing here adds a
request the API does not already answer):

* reads (``GET``) and the sign-in (a fresh nonce each time): retried as they are;
* ``POST /v1/tasks`` creates a task: after a cut connection the client first looks for its own
  task with the same prompt and seed (``GET /v1/tasks``), and posts again only if there is none.
  A SIGKILLed replica either committed the task or did not, so the lookup decides;
* ``POST /v1/listings`` is keyed by the signed offer (a second one answers 409): after a cut, a
  retry that meets 409 finds the listing by its signature;
* ``POST /v1/trades`` creates a trade request: after a cut, the buyer looks for its own request on
  that listing (``GET /v1/me/trades``) and asks again only if there is none;
* the ESP workers' posts (quote, delivery) are retried by their own state machine on the next
  round (services.esp_worker persists each stage before it acts).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ledger.errors import LedgerError
from services.esp_worker import EspWorker
from services.market_client import MarketClient, MarketError

T = TypeVar("T")
TRIES = 8  # per operation: with the back-off below, about 9 s of retrying at most
BACKOFF_S = 0.25


class Retries:
    """Bounded retries of safe operations, counted by kind (every thread shares one)."""

    def __init__(self, tries: int = TRIES, backoff_s: float = BACKOFF_S):
        self.tries, self.backoff_s = tries, backoff_s
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def count(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] += 1

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn`` is idempotent: retried after a cut connection, ``tries`` times at most."""
        for attempt in range(1, self.tries + 1):
            try:
                return fn()
            except httpx.TransportError:
                if attempt == self.tries:
                    raise
                self.count(what)
                time.sleep(self.backoff_s * attempt)
        raise AssertionError("unreachable")

    def post_task(self, client: MarketClient, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/tasks`` at most once in effect: after a cut, adopt the task if it landed."""
        try:
            return dict(client.post("/v1/tasks", json=body))
        except httpx.TransportError:
            self.count("post task: answer lost")

        def again() -> dict[str, Any]:
            for task in client.get("/v1/tasks", role="producer")["items"]:
                if task["prompt"] == body["prompt"] and task["seed"] == body["seed"]:
                    self.count("post task: found, not posted again")
                    return dict(task)
            self.count("post task: posted again")
            return dict(client.post("/v1/tasks", json=body))

        return self.call("post task: retry", again)

    def post_listing(self, client: MarketClient, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/listings``, keyed by the offer's signature."""
        try:
            return dict(client.post("/v1/listings", json=body))
        except httpx.TransportError:
            self.count("list: answer lost")

        def again() -> dict[str, Any]:
            try:
                return dict(client.post("/v1/listings", json=body))
            except MarketError as exc:
                if exc.status != 409:
                    raise
            for item in client.get("/v1/listings", status="open", limit=200)["items"]:
                if item["signature"] == body["signature"].lower():
                    self.count("list: found, not listed again")
                    return dict(item)
            raise _not_listed(body)

        return self.call("list: retry", again)

    def post_trade(self, client: MarketClient, listing_id: int) -> dict[str, Any]:
        """``POST /v1/trades`` at most once in effect: after a cut, adopt the buyer's own request
        on this listing if it landed."""
        body = {"listing_id": listing_id}
        try:
            return dict(client.post("/v1/trades", json=body))
        except httpx.TransportError:
            self.count("trade request: answer lost")

        def again() -> dict[str, Any]:
            for trade in client.get("/v1/me/trades", limit=200)["items"]:
                if trade["listing_id"] == listing_id and trade["buyer"] == client.address:
                    self.count("trade request: found, not asked again")
                    return dict(trade)
            self.count("trade request: asked again")
            return dict(client.post("/v1/trades", json=body))

        return self.call("trade request: retry", again)


def _not_listed(body: dict[str, Any]) -> MarketError:
    return MarketError(409, "listing_conflict", f"offer {body['nonce']} taken, but not listed")


def esp_loop(worker: EspWorker, stop: threading.Event, interval: float, retries: Retries) -> None:
    """The ESP worker's rounds until ``stop``; a round cut by a dying replica is counted and
    retried by the next round (the worker's persisted stages make that safe)."""
    while not stop.is_set():
        try:
            worker.step()
        except (MarketError, LedgerError):
            pass  # transient (a 409 race, a reverted claim): the next round looks again
        except httpx.TransportError:
            retries.count("esp round: connection cut")
        stop.wait(interval)


# -- the faults ------------------------------------------------------------------------------------
def uvicorn_workers(pid: int) -> list[int]:
    """The replica processes under `aigc serve` (multiprocessing spawn children)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in path.read_text().split()] if path.exists() else []
    out = []
    for kid in kids:
        try:
            if b"spawn_main" in Path(f"/proc/{kid}/cmdline").read_bytes():
                out.append(kid)
        except OSError:
            pass  # gone meanwhile
    return out


class Faults:
    """Waits for ``when()``, then SIGKILLs one API replica and the leading indexer, and times
    the standby's takeover and the replica's replacement (bounded waits, polled every 50 ms)."""

    def __init__(
        self,
        *,
        serve: subprocess.Popen[bytes],
        leader: subprocess.Popen[bytes],
        standby_log: Path,
        replicas: int,
        checkpoint: Callable[[], int],
        head: Callable[[], int],
    ):
        self.serve, self.leader, self.standby_log = serve, leader, standby_log
        self.replicas, self.checkpoint, self.head = replicas, checkpoint, head
        self.report: dict[str, Any] = {}

    def run(
        self,
        when: Callable[[], bool],
        stop: threading.Event,
        *,
        started: float,
        replace_timeout_s: float = 200.0,
    ) -> None:
        """``started``: the run's ``time.monotonic()`` start. Times are from the kill."""
        while not when():
            if stop.wait(0.1):
                self.report["skipped"] = "the run ended before the fault point"
                return
        victims = uvicorn_workers(self.serve.pid)
        if not victims:
            self.report["skipped"] = "no replica process found"
            return
        head = self.head()
        t0 = time.monotonic()
        os.kill(victims[0], signal.SIGKILL)
        self.leader.send_signal(signal.SIGKILL)
        self.leader.wait(timeout=30)
        self.report.update(
            seconds_into_run=round(t0 - started, 2),
            replica_pid=victims[0],
            indexer_pid=self.leader.pid,
            head_at_kill=head,
        )
        self.report["takeover_s"] = _until(t0, self._standby_leads)
        self.report["caught_up_s"] = _until(t0, lambda: self.checkpoint() >= head)

        def replaced() -> bool:
            now = uvicorn_workers(self.serve.pid)
            return victims[0] not in now and len(now) == self.replicas

        self.report["replica_replaced_s"] = _until(t0, replaced, timeout_s=replace_timeout_s)

    def _standby_leads(self) -> bool:
        return "leading" in self.standby_log.read_text()


def _until(t0: float, check: Callable[[], bool], *, timeout_s: float = 120.0) -> float | None:
    """Seconds from ``t0`` until ``check()`` holds (polled every 50 ms); None if it never did."""
    while time.monotonic() - t0 < timeout_s:
        if check():
            return round(time.monotonic() - t0, 3)
        time.sleep(0.05)
    return None
