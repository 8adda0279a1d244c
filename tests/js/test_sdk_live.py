"""The whole lifecycle from JavaScript only against a live stack.

anvil, `aigc serve` (with its background indexer) and an ESP worker (`aigc esp run`, the bundled
generator) run as their own processes; `node --test js/sdk/test/live/` then drives sign-in, task,
fee lock, sealed delivery, registration, listing, sale, resale with royalty and feedback through
the SDK with three viem wallets. No Python client acts for a user. Afterwards the chain is read
from Python to check what the JavaScript test claims.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from ledger import EspRegistryClient, RegistryClient, deploy
from ledger.deploy import DeployParams
from ledger.devnet import free_port
from services.provenance import MATCH_THRESHOLD
from tests.js._node import ROOT, SDK, anvil_devnet, node_or_skip, serve_env

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

PRODUCER, BUYER, COLLECTOR, ESP = 1, 3, 4, 2  # dev account indexes


def _wait(probe, what: str, procs, logs, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{what}: a process exited:\n" + "\n".join(map(_tail, logs)))
        try:
            if probe():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _tail(log) -> str:
    """The last lines a stack process logged, without the access log's successes."""
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = [line for line in text.splitlines() if '" 200 OK' not in line and '" 201' not in line]
    return f"--- {log.name}\n" + "\n".join(lines[-40:])


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    node = node_or_skip()
    data = tmp_path_factory.mktemp("sdk-live")
    procs: list[subprocess.Popen] = []
    with anvil_devnet(data) as chain:
        deployment = deploy(
            chain, chain.dev_accounts()[0], DeployParams(match_threshold=MATCH_THRESHOLD)
        )
        env = serve_env(data, deployment)
        try:
            port = free_port()
            api = f"http://127.0.0.1:{port}"
            cli = [sys.executable, "-m", "aigc_cli.main"]
            # Logs go to files, not pipes: nobody drains a pipe while the test runs, and a full one
            # would block the server mid-request.
            logs = [data / "serve.log", data / "esp.log"]
            with logs[0].open("wb") as out:  # the child keeps its own descriptor
                server = subprocess.Popen(
                    [*cli, "serve", "--port", str(port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            procs.append(server)
            http = httpx.Client(base_url=api, timeout=30)
            _wait(lambda: http.get("/healthz").status_code == 200, "the API", procs, logs)
            esp = chain.dev_accounts()[ESP]
            with logs[1].open("wb") as out:
                worker = subprocess.Popen(
                    [
                        *cli,
                        "esp",
                        "run",
                        "--api",
                        api,
                        "--dev-account",
                        str(ESP),
                        "--interval",
                        "0.3",
                        "--state",
                        str(data / "esp-state.json"),
                    ],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            procs.append(worker)
            _wait(lambda: esp.address in http.get("/v1/esps").text, "the ESP worker", procs, logs)
            yield node, chain, deployment, api, data, logs
        finally:
            for proc in reversed(procs):
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def run_live_suite(live, folder: str, out_name: str, **extra: str) -> dict:
    """Runs the SDK's node test folder ``js/sdk/test/<folder>`` against the ``live`` stack (the
    producer's and buyer's keys, the ESP's address, ``extra`` env) and returns what it wrote."""
    node, chain, _deployment, api, data, logs = live
    accounts = chain.dev_accounts()
    out = data / out_name
    env = {
        **os.environ,
        "AIGC_API_URL": api,
        "AIGC_RPC_URL": chain.w3.provider.endpoint_uri,
        "AIGC_CHAIN_ID": str(chain.chain_id),
        "AIGC_PRODUCER_KEY": "0x" + bytes(accounts[PRODUCER].key).hex(),
        "AIGC_BUYER_KEY": "0x" + bytes(accounts[BUYER].key).hex(),
        "AIGC_ESP_ADDRESS": accounts[ESP].address,
        "AIGC_SDK_LIVE_OUT": str(out),
        **extra,
    }
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(SDK / "test" / folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    stack = "\n".join(map(_tail, logs))
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:] + "\n" + stack
    result: dict = json.loads(out.read_text())
    return result


def test_whole_lifecycle_from_javascript(live):
    _node, chain, deployment, _api, _data, _logs = live
    accounts = chain.dev_accounts()
    # The collector's wallet is the node's own (a JSON-RPC account): no key in the test.
    result = run_live_suite(
        live, "live", "sdk-live.json", AIGC_COLLECTOR_ADDRESS=accounts[COLLECTOR].address
    )
    # What the JavaScript test claims, read back from the chain by the Python readers.
    token = int(result["tokenId"])
    registry = RegistryClient(deployment)
    assert registry.owner_of(token) == accounts[COLLECTOR].address
    receiver, amount = registry.royalty_info(token, 3 * 10**16)
    assert receiver == accounts[PRODUCER].address and amount == int(result["royalty"]) > 0
    assert registry.registered(token).producer == accounts[PRODUCER].address
    lock_id = bytes.fromhex(result["lockId"][2:])
    esp_registry = EspRegistryClient(deployment).contract
    assert esp_registry.functions.feedbackRecorded(lock_id).call() is True
