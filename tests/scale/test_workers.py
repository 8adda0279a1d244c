"""`aigc serve --workers 2` beside `aigc index` on an anvil devnet: processes that share only the
database. Tokens issued by one worker are good on every worker, a nonce is spent everywhere, and
a product registered on chain is indexed by the indexer process and served by every worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledger.devnet import free_port
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


def test_workers_and_indexer_share_one_database(devnet, database_url, tmp_path):
    world = devnet.world
    port = free_port()
    env = devnet.env(database_url, AIGC_BLOB_STORE="db", AIGC_FOLLOW_INTERVAL_S="0.2")
    serve_log, index_log = tmp_path / "serve.log", tmp_path / "index.log"
    server = _spawn(["serve", "--workers", "2", "--port", str(port)], env, serve_log)
    indexer = None
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        _until("the API serves", lambda: http.get("/healthz").status_code == 200, server, serve_log)
        indexer = _spawn(["index", "--interval", "0.2"], env, index_log)

        def sign_in() -> dict[str, str]:
            nonce = http.post("/v1/auth/nonce").json()["nonce"]
            text = siwe_text(
                world.producer,
                nonce=nonce,
                chain_id=world.chain.chain_id,
                domain=f"127.0.0.1:{port}",
                uri=f"http://127.0.0.1:{port}",
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
        token = register_image(world, world.producer, fingerprint=os.urandom(32))
        token_hex = f"0x{token:064x}"
        _until(
            "the indexer process indexes the registration",
            lambda: http.get(f"/v1/products/{token_hex}").status_code == 200,
            indexer,
            index_log,
        )
        assert {http.get(f"/v1/products/{token_hex}").status_code for _ in range(8)} == {200}
        assert "leading" in index_log.read_text()
    finally:
        http.close()
        for proc in (indexer, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
