"""The lifecycle over real HTTP against `aigc serve` on an anvil devnet (its own processes).

anvil and the API server run as separate processes, the API follows the chain with its
background indexer, and the ESP worker and the producer talk to it over HTTP, signing locally.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from ledger import EspRegistryClient, HtlcClient, RegistryClient, RpcChain, Transactor, deploy
from ledger.deploy import DeployParams
from ledger.devnet import free_port, start_anvil
from services.esp_worker import EspWorker
from services.market_client import MarketClient
from services.producer import ProducerSession
from services.provenance import MATCH_THRESHOLD, fingerprint
from tests.conftest import require_anvil

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _image(prompt, seed):
    rng = np.random.default_rng(seed + len(prompt))
    return Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).resize((64, 64)), {
        "model_id": "t"
    }


def _fp(img):
    return fingerprint(img).to_bytes32()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_anvil()
    data = tmp_path_factory.mktemp("stack")
    dev = start_anvil(data / "devnet" / "state.json")
    chain = RpcChain(dev.url, dev=True)
    deployment = deploy(
        chain, chain.dev_accounts()[0], DeployParams(match_threshold=MATCH_THRESHOLD)
    )
    deployment.manifest.save(data / "deployments" / f"{chain.chain_id}.json")
    from ledger.devnet import write_pidfile

    write_pidfile(data / "devnet" / "anvil.json", dev)
    port = free_port()
    env = {
        **os.environ,
        "AIGC_CHAIN": "devnet",
        "AIGC_DATA_DIR": str(data),
        "AIGC_DATABASE_URL": f"sqlite:///{data / 'api.db'}",
        "AIGC_BLOB_DIR": str(data / "blobs"),
        "AIGC_INDEXER_INTERVAL_S": "0.3",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "aigc_cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    for _ in range(300):
        try:
            if http.get("/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            pytest.fail(server.stdout.read().decode()[-3000:])
        time.sleep(0.1)
    yield chain, deployment, http, data
    server.terminate()
    server.wait(timeout=20)
    dev.stop()


def _wait(producer, task_id, status, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = producer.task(task_id)
        if task["status"] == status:
            return task
        time.sleep(0.2)
    raise AssertionError(f"task stayed {task['status']}, expected {status}")


def test_paid_generation_over_http_on_anvil(stack):
    chain, deployment, http, data = stack
    accounts = chain.dev_accounts()
    producer_acct, esp_acct = accounts[1], accounts[2]
    esp_tx = Transactor(chain, esp_acct)
    EspRegistryClient(deployment, esp_tx).register("http://esp.test", price=10**15, stake=10**17)
    worker = EspWorker(
        MarketClient(http, esp_acct),
        HtlcClient(deployment, esp_tx),
        make_image=_image,
        fingerprint=_fp,
        state_path=data / "esp.json",
        price=10**15,
    )
    ptx = Transactor(chain, producer_acct)
    producer = ProducerSession(
        MarketClient(http, producer_acct),
        HtlcClient(deployment, ptx),
        RegistryClient(deployment, ptx),
        EspRegistryClient(deployment, ptx),
        fingerprint=_fp,
    )
    worker.client.sign_in()
    producer.client.sign_in()
    task = producer.post("a red circle on a blue background", seed=5, max_price=10**15)
    worker.step()
    producer.lock_fee(_wait(producer, task["id"], "quoted"))
    _wait(producer, task["id"], "locked")
    worker.step()
    _wait(producer, task["id"], "delivered")
    worker.step()
    claimed = _wait(producer, task["id"], "claimed")
    image, attestation = producer.collect(claimed)
    token = producer.register(claimed, image, attestation)
    producer.feedback(claimed, positive=True)
    _wait(producer, task["id"], "registered")
    product = http.get(f"/v1/products/0x{token:064x}").json()
    assert product["producer"] == producer_acct.address
    for _ in range(100):  # the feedback is indexed a moment later
        # The producer's own view: its local opinion counts. (Anonymously a single producer
        # who paid only this ESP recommends nothing: the Sybil-resistant weighting gives a
        # recommender weight only for Ether paid to other ESPs, so the ESP stays at 0.5.)
        esps = producer.client.get("/v1/esps")["items"]
        if esps[0]["reputation"] > 0.5:
            break
        time.sleep(0.2)
    assert esps[0]["address"] == esp_acct.address and esps[0]["reputation"] > 0.5
    assert http.get("/v1/esps").json()["items"][0]["reputation"] == 0.5
    assert http.get("/openapi.json").status_code == 200 and http.get("/docs").status_code == 200


def test_esp_run_cli_registers_once_and_serves(stack, tmp_path):
    """`aigc esp run` as an ESP operator runs it: registers on first start, not again after."""
    chain, deployment, http, data = stack
    esp = chain.dev_accounts()[5]
    env = {**os.environ, "AIGC_CHAIN": "devnet", "AIGC_DATA_DIR": str(data)}
    base = [sys.executable, "-m", "aigc_cli.main", "esp", "run", "--api", str(http.base_url)]
    options = ["--rounds", "1", "--interval", "0.05", "--state", str(tmp_path / "esp.json")]
    command = [*base, "--dev-account", "5", "--price", str(2 * 10**15), *options]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"registered ESP {esp.address}" in first.stdout
    assert "serving tasks" in first.stdout
    info = EspRegistryClient(deployment).esp_info(esp.address)
    assert info.active and info.price == 2 * 10**15
    assert info.stake == deployment.manifest.params["esp_min_stake"]

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "registered ESP" not in again.stdout and "serving tasks" in again.stdout
    deadline = time.monotonic() + 30
    while esp.address.lower() not in http.get("/v1/esps").text.lower():
        assert time.monotonic() < deadline, "the API never listed the ESP"
        time.sleep(0.2)

    no_key = subprocess.run([*base, *options], env=env, capture_output=True, text=True, timeout=60)
    assert no_key.returncode == 1
    assert "choose --keystore or --dev-account" in no_key.stdout + no_key.stderr
    assert "Traceback" not in no_key.stdout + no_key.stderr
