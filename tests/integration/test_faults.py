"""Faults: the chain node killed mid-swap and restarted from its state file; the API restarted
mid-flow. Funds end withdrawn or refundable, the indexer neither misses nor duplicates events."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ledger import HtlcClient, LockStatus, RegistryClient, RpcChain, Transactor, deploy
from ledger.deploy import Deployment, DeployParams
from ledger.devnet import start_anvil
from ledger.indexer import ChainEvent
from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from services.esp_worker import EspWorker
from services.exchange import buyer_lock_payment, seller_claim_payment, seller_lock_token
from services.market_client import MarketClient
from services.producer import ProducerSession
from tests.api.test_generation_flow import PRICE, _fp, _image
from tests.conftest import require_anvil
from tests.contracts.helpers import past_reclaim, register_esp, register_image

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _wait_for_dump(state: Path, block: int) -> None:
    """Returns once anvil's periodic dump in ``state`` holds ``block`` (it writes every second;
    a half-written file is read again)."""
    deadline = time.monotonic() + 120  # a dead anvil fails here instead of hanging the suite
    while time.monotonic() < deadline:
        try:
            dumped = json.loads(state.read_text())["best_block_number"]
        except (OSError, ValueError, KeyError):
            dumped = -1
        if isinstance(dumped, str):
            dumped = int(dumped, 0)
        if dumped >= block:
            return
        time.sleep(0.1)
    pytest.fail(f"anvil never dumped block {block} to {state}")


def test_anvil_killed_mid_swap_comes_back_from_its_state_file(tmp_path):
    require_anvil()
    state = tmp_path / "state.json"
    dev = start_anvil(state, state_interval=1)
    try:
        chain = RpcChain(dev.url, dev=True)
        seller, buyer = chain.dev_accounts()[1], chain.dev_accounts()[3]
        dep = deploy(chain, chain.dev_accounts()[0])
        from tests.conftest import World

        world = World(chain, dep, DeployParams(), chain.dev_accounts())
        register_esp(world)
        token = register_image(world, seller)
        past_reclaim(world)  # the escrow refuses a fresh token (RegistryTokenReclaimable)
        RegistryClient(dep, Transactor(chain, seller)).approve(dep.htlc.address, token)
        offer = seller_lock_token(
            HtlcClient(dep, Transactor(chain, seller)),
            token=dep.registry.address,
            token_id=token,
            buyer=buyer.address,
            timelock=chain.timestamp() + 7200,
        )
        payment = buyer_lock_payment(
            HtlcClient(dep, Transactor(chain, buyer)),
            offer.asset_lock,
            token=dep.registry.address,
            token_id=token,
            price=10**17,
            timelock=chain.timestamp() + 3600,
        )
        _wait_for_dump(state, chain.w3.eth.block_number)  # a dump holding both locks
    finally:
        dev.kill()  # no clean shutdown: whatever the last dump holds is what survives
    dev = start_anvil(state)
    try:
        chain = RpcChain(dev.url, dev=True)
        dep = Deployment(chain, dep.manifest)
        seller_htlc = HtlcClient(dep, Transactor(chain, seller))
        buyer_htlc = HtlcClient(dep, Transactor(chain, buyer))
        assert seller_htlc.status(offer.asset_lock) is LockStatus.OPEN
        assert buyer_htlc.status(payment) is LockStatus.OPEN  # nothing lost with the crash
        seller_claim_payment(seller_htlc, payment, offer, price=10**17)
        buyer_htlc.withdraw(offer.asset_lock, offer.secret)
        assert RegistryClient(dep).owner_of(token) == buyer.address
    finally:
        dev.stop()


def test_api_restarted_mid_flow_resumes_without_losing_or_duplicating(embedded_world, tmp_path):
    world = embedded_world
    register_esp(world)
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        blob_dir=tmp_path / "blobs",
        indexer_interval_s=0,
    )

    def parties(client):
        worker = EspWorker(
            MarketClient(client, world.esp),
            HtlcClient(world.deployment, world.tx(world.esp)),
            make_image=_image,
            fingerprint=_fp,
            state_path=tmp_path / "esp.json",
            price=PRICE,
        )
        ptx = world.tx(world.producer)
        producer = ProducerSession(
            MarketClient(client, world.producer),
            HtlcClient(world.deployment, ptx),
            RegistryClient(world.deployment, ptx),
            world.esps(world.producer),
            fingerprint=_fp,
        )
        return worker, producer

    with TestClient(create_app(settings, world.deployment)) as client:
        worker, producer = parties(client)
        task = producer.post("a red circle", seed=3, max_price=PRICE)
        worker.step()
        producer.lock_fee(producer.task(task["id"]))
        client.app.state.market.poll()
    # the API goes down here; the chain and the worker's state file stay
    with TestClient(create_app(settings, world.deployment)) as client:  # a new process, same DB
        worker, producer = parties(client)
        client.app.state.market.poll()
        assert producer.task(task["id"])["status"] == "locked"  # state survived the restart
        worker.step()  # delivers (its state file says what it already did)
        worker.step()  # claims
        client.app.state.market.poll()
        claimed = producer.task(task["id"])
        image, attestation = producer.collect(claimed)
        producer.register(claimed, image, attestation)
        client.app.state.market.poll()
        assert producer.task(task["id"])["status"] == "registered"
    engine = create_engine(settings.database_url)
    with Session(engine) as s:
        rows = s.execute(select(ChainEvent.tx_hash, ChainEvent.log_index)).all()
    engine.dispose()
    manifest = world.deployment.manifest
    on_chain = world.chain.w3.eth.get_logs(
        {
            "fromBlock": manifest.block,
            "toBlock": "latest",
            "address": [manifest.address(n) for n in manifest.contracts],
        }
    )
    assert len(rows) == len(set(rows)) == len(on_chain)  # nothing twice, nothing missed
