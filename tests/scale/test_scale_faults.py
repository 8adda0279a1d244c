"""`aigc serve --workers 2` beside `aigc index` on an anvil devnet (processes that share only the
database), then faults while serving.

First the shared database: tokens issued by one worker are good on every worker, and a product
registered on chain is indexed by the indexer process and served by every worker. Then the
active indexer and one API replica are killed (SIGKILL) while a client keeps reading. The
standby indexer (kept out by the single-indexer lock until then: SQLite's lock file,
PostgreSQL's advisory lock) takes over from the checkpoint, uvicorn replaces the replica, the
client's idempotent retries succeed, no answer is a 5xx, and the database ends holding exactly
the chain's logs, each once, and one product per registered token.

(The shared database's checks were test_workers.py's test, the takeover's
test_indexer_takeover.py's, each on a stack of its own: one start of the stack now serves all.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from ledger.devnet import free_port
from ledger.indexer import ChainEvent
from marketplace_api.models import Product
from tests.api.conftest import sign, siwe_text
from tests.contracts.helpers import register_esp, register_image

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aigc_cli.main", *args],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=log.parent,
    )


def _until(what: str, condition, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited\n{log.read_text()}")
        try:
            if condition():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting: {what}\n{log.read_text()}")


def _chain_logs(world) -> set[tuple[str, int]]:
    manifest = world.deployment.manifest
    logs = world.chain.w3.eth.get_logs(
        {
            "fromBlock": manifest.block,
            "toBlock": "latest",
            "address": [manifest.address(n) for n in manifest.contracts],
        }
    )
    return {("0x" + bytes(log["transactionHash"]).hex(), int(log["logIndex"])) for log in logs}


def _children(pid: int) -> list[int]:
    """The uvicorn worker processes under ``pid`` (not multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in path.read_text().split()] if path.exists() else []
    workers = []
    for kid in kids:
        try:
            if b"spawn_main" in Path(f"/proc/{kid}/cmdline").read_bytes():
                workers.append(kid)
        except OSError:
            pass  # gone meanwhile
    return workers


def test_indexer_and_replica_killed_under_reads(devnet, database_url, tmp_path):
    world = devnet.world
    port = free_port()
    env = devnet.env(database_url, AIGC_BLOB_STORE="db", AIGC_FOLLOW_INTERVAL_S="0.2")
    logs = {n: tmp_path / f"{n}.log" for n in ("serve", "a", "b")}
    server = _spawn(["serve", "--workers", "2", "--port", str(port)], env, logs["serve"])
    procs = [server]
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, timeout=30)
    statuses: list[int] = []
    retried = [0]
    stop = threading.Event()
    try:
        _until(
            "the API serves", lambda: http.get("/healthz").status_code == 200, server, logs["serve"]
        )
        leader = _spawn(["index", "--interval", "0.2"], env, logs["a"])
        procs.append(leader)
        _until("indexer a leads", lambda: "leading" in logs["a"].read_text(), leader, logs["a"])
        standby = _spawn(["index", "--interval", "0.2"], env, logs["b"])
        procs.append(standby)

        def sign_in() -> dict[str, str]:
            nonce = http.post("/v1/auth/nonce").json()["nonce"]
            text = siwe_text(
                world.producer,
                nonce=nonce,
                chain_id=world.chain.chain_id,
                domain=f"127.0.0.1:{port}",
                uri=base,
            )
            r = http.post(
                "/v1/auth/verify", json={"message": text, "signature": sign(world.producer, text)}
            )
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['token']}"}

        # Requests land on either worker: with a secret per process half of these would be 401.
        for _ in range(5):
            headers = sign_in()
            assert {http.get("/v1/auth/me", headers=headers).status_code for _ in range(8)} == {200}

        register_esp(world)
        first = f"0x{register_image(world, world.producer, fingerprint=os.urandom(32)):064x}"
        _until(
            "the indexer process indexes the registration",
            lambda: http.get(f"/v1/products/{first}").status_code == 200,
            leader,
            logs["a"],
        )
        assert {http.get(f"/v1/products/{first}").status_code for _ in range(8)} == {200}
        started = "indexer (pid"
        _until("the standby starts", lambda: started in logs["b"].read_text(), standby, logs["b"])
        assert "leading" not in logs["b"].read_text()  # the lock kept the standby out

        def reader() -> None:
            """GETs are idempotent: a connection cut by the dying replica is retried."""
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop.is_set():
                    for path in ("/v1/auth/me", f"/v1/products/{first}"):
                        for _ in range(20):
                            try:
                                statuses.append(client.get(path, headers=headers).status_code)
                                break
                            except httpx.TransportError:
                                retried[0] += 1
                                stop.wait(0.1)
                        else:
                            raise AssertionError(f"{path}: no answer after 20 tries")

        thread = threading.Thread(target=reader)
        thread.start()
        # /healthz answers once one replica is up; the second may still be starting under load
        _until(
            "both replicas are up", lambda: len(_children(server.pid)) == 2, server, logs["serve"]
        )
        workers = _children(server.pid)
        os.kill(workers[0], signal.SIGKILL)  # one replica ...
        leader.send_signal(signal.SIGKILL)  # ... and the active indexer
        leader.wait(timeout=30)
        second = f"0x{register_image(world, world.producer, fingerprint=os.urandom(32)):064x}"
        _until(
            "the standby takes over", lambda: "leading" in logs["b"].read_text(), standby, logs["b"]
        )
        _until(
            "the second product is served",
            lambda: http.get(f"/v1/products/{second}").status_code == 200,
            standby,
            logs["b"],
        )
        _until(
            "uvicorn replaces the killed replica",
            lambda: len(_children(server.pid)) == 2 and workers[0] not in _children(server.pid),
            server,
            logs["serve"],
        )
        stop.set()
        thread.join(timeout=60)
        assert statuses and set(statuses) == {200}, sorted(set(statuses))  # no 5xx, no 401

        engine = create_engine(database_url)
        with Session(engine) as s:
            stored = s.execute(select(ChainEvent.tx_hash, ChainEvent.log_index)).all()
            products = s.scalar(select(func.count()).select_from(Product))
        engine.dispose()
        assert len(stored) == len(set(stored))  # nothing written twice
        assert set(stored) == _chain_logs(world)  # nothing missed
        assert products == 2  # first, second
    finally:
        stop.set()
        http.close()
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:  # a slow graceful shutdown must not hide
                    proc.kill()  # the test's own outcome
                    proc.wait(timeout=30)
