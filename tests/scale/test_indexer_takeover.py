"""One indexer writes at a time; a standby takes over when the leader is killed.

Two `aigc index` processes follow one anvil chain into one database (SQLite: a lock file;
PostgreSQL: an advisory lock). The first leads; the second stands by. The leader is killed with
SIGKILL (no clean shutdown, no unlock) between two batches of transactions; the standby takes the
lock and resumes from the stored checkpoint. At the end the database holds exactly the chain's
logs, each once, and one product per registered token.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from ledger.indexer import ChainEvent, Checkpoint
from marketplace_api.models import Product
from tests.contracts.helpers import register_esp, register_image

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _start_indexer(env: dict[str, str], log: Path) -> subprocess.Popen:
    out = log.open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "aigc_cli.main", "index", "--interval", "0.2"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=log.parent,
    )


def _wait(what: str, condition, proc: subprocess.Popen | None = None, log: Path | None = None):
    """Polls ``condition`` (bounded: a stuck process fails the test instead of hanging it)."""
    for _ in range(600):
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited\n{log.read_text() if log else ''}")
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting: {what}\n{log.read_text() if log else ''}")


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


def test_standby_indexer_takes_over_from_the_checkpoint(devnet, database_url, tmp_path):
    world = devnet.world
    env = devnet.env(database_url)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    leader = _start_indexer(env, log_a)
    standby = None
    engine = create_engine(database_url)

    def indexed_to_head() -> bool:
        with Session(engine) as s:
            cp = s.scalar(select(Checkpoint.block_number))
        return cp is not None and cp >= world.chain.w3.eth.block_number

    try:
        _wait("the first indexer leads", lambda: "leading" in log_a.read_text(), leader, log_a)
        standby = _start_indexer(env, log_b)
        _wait("the second indexer starts", lambda: "indexer (pid" in log_b.read_text())
        register_esp(world)
        tokens = [
            register_image(world, world.producer, fingerprint=os.urandom(32)) for _ in range(2)
        ]
        _wait("the leader indexes the first batch", indexed_to_head, leader, log_a)
        assert "leading" not in log_b.read_text()  # the lock kept the standby out

        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        tokens += [
            register_image(world, world.producer, fingerprint=os.urandom(32)) for _ in range(2)
        ]
        _wait("the standby takes over", lambda: "leading" in log_b.read_text(), standby, log_b)
        _wait("the standby indexes the second batch", indexed_to_head, standby, log_b)

        with Session(engine) as s:
            stored = s.execute(select(ChainEvent.tx_hash, ChainEvent.log_index)).all()
            products = s.scalar(select(func.count()).select_from(Product))
        assert len(stored) == len(set(stored))  # nothing written twice
        assert set(stored) == _chain_logs(world)  # nothing missed
        assert products == len(tokens) == 4
    finally:
        for proc in (leader, standby):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        engine.dispose()
