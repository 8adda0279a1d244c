"""The relay answers a wallet at once: a node's refusal is a 4xx with a stable code and the
node's own reason, an accepted transaction's hash comes back without waiting for a block, and
``GET /v1/tx/{hash}`` follows it (pending, mined, unknown).

The refusals are anvil's real answers to ``eth_sendRawTransaction`` (the embedded py-evm chain
words them differently and mines at once, so it cannot show a pending transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from ledger import new_secret
from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from tests.api.conftest import sign, siwe_text

pytestmark = [pytest.mark.anvil, pytest.mark.parametrize("chain", ["anvil"], indirect=True)]


class Wallet:
    """The API on anvil's deployment, and a producer who signs what it builds."""

    def __init__(self, client: TestClient, world: Any):
        self.client, self.world = client, world
        self.account = world.producer
        nonce = client.post("/v1/auth/nonce").json()["nonce"]
        text = siwe_text(self.account, nonce=nonce, chain_id=world.chain.chain_id)
        r = client.post(
            "/v1/auth/verify", json={"message": text, "signature": sign(self.account, text)}
        )
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}

    def unsigned_lock(self, amount: int = 10**15) -> dict[str, Any]:
        _, hashlock = new_secret()
        body = {
            "receiver": self.world.esp.address,
            "amount": str(amount),
            "hashlock": "0x" + hashlock.hex(),
            "timelock": self.world.chain.timestamp() + 3600,
        }
        r = self.client.post("/v1/tx/locks/ether", json=body, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def sign(self, tx: dict[str, Any], account: Any = None, **override: Any) -> str:
        account = account or self.account
        fields = {
            "to": tx["to"],
            "data": tx["data"],
            "value": int(tx["value"]),
            "chainId": tx["chainId"],
            "gas": tx["gas"],
            "maxFeePerGas": int(tx["maxFeePerGas"]),
            "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"]),
            "nonce": self.world.chain.w3.eth.get_transaction_count(account.address, "pending"),
            **override,
        }
        return "0x" + account.sign_transaction(fields).raw_transaction.hex().removeprefix("0x")

    def relay(self, raw: str) -> Any:
        return self.client.post("/v1/tx/relay", json={"raw": raw}, headers=self.headers)

    def status(self, tx_hash: str) -> dict[str, Any]:
        r = self.client.get(f"/v1/tx/{tx_hash}")
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture
def wallet(world, tmp_path) -> Iterator[Wallet]:
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        blob_dir=tmp_path / "blobs",
        indexer_interval_s=0,
    )
    app = create_app(settings, world.deployment)
    with TestClient(app) as client:
        yield Wallet(client, world)
    app.state.engine.dispose()


def _refused(r: Any, status: int, code: str, reason: str) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    assert reason in err["reason"].lower(), err  # the node's own words


def test_an_accepted_transaction_answers_with_its_hash_and_is_followed(wallet):
    r = wallet.relay(wallet.sign(wallet.unsigned_lock()))
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["state"] == "pending" and len(sent["tx_hash"]) == 66
    # Anvil's automine mines the pooled transaction in the background: the hash can come
    # back before the block exists, so wait for the receipt (as a wallet would) before asking.
    wallet.world.chain.w3.eth.wait_for_transaction_receipt(sent["tx_hash"], timeout=60)
    mined = wallet.status(sent["tx_hash"])
    assert (mined["state"], mined["status"]) == ("mined", 1)
    assert mined["block"] > 0 and mined["gas_used"] > 21_000
    assert [e["event"] for e in mined["events"]] == ["Locked"]
    assert wallet.status("0x" + "ab" * 32) == {
        "tx_hash": "0x" + "ab" * 32,
        "state": "unknown",
        "status": None,
        "block": None,
        "gas_used": None,
        "events": [],
        "error": None,
    }


def test_a_used_nonce_is_a_409_with_the_nodes_reason(wallet):
    used = wallet.world.chain.w3.eth.get_transaction_count(wallet.account.address)
    assert wallet.relay(wallet.sign(wallet.unsigned_lock())).status_code == 200
    again = wallet.sign(wallet.unsigned_lock(), nonce=used)  # another lock, the spent nonce
    _refused(wallet.relay(again), 409, "nonce_too_low", "nonce too low")


def test_a_fee_under_the_base_fee_is_a_422(wallet):
    raw = wallet.sign(wallet.unsigned_lock(), maxFeePerGas=1, maxPriorityFeePerGas=1)
    _refused(wallet.relay(raw), 422, "fee_below_base_fee", "base fee")


def test_insufficient_funds_is_a_422(wallet):
    poor = Account.create()  # no Ether at all: cannot pay the gas, let alone the value
    raw = wallet.sign(wallet.unsigned_lock(), account=poor, nonce=0)
    _refused(wallet.relay(raw), 422, "insufficient_funds", "insufficient funds")


def test_intrinsic_gas_too_low_is_a_422(wallet):
    raw = wallet.sign(wallet.unsigned_lock(), gas=20_000)  # under a transfer's 21,000
    _refused(wallet.relay(raw), 422, "intrinsic_gas_too_low", "intrinsic gas too low")


def test_an_underpriced_replacement_is_a_409_and_pending_is_reported(wallet):
    w3 = wallet.world.chain.w3
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        first = wallet.relay(wallet.sign(wallet.unsigned_lock()))
        assert first.status_code == 200, first.text
        assert wallet.status(first.json()["tx_hash"])["state"] == "pending"
        nonce = w3.eth.get_transaction_count(wallet.account.address)  # the pending one's
        same_fees = wallet.sign(wallet.unsigned_lock(amount=2 * 10**15), nonce=nonce)
        _refused(wallet.relay(same_fees), 409, "replacement_underpriced", "underpriced")
        w3.provider.make_request("evm_mine", [])
        assert wallet.status(first.json()["tx_hash"])["state"] == "mined"
    finally:
        w3.provider.make_request("evm_setAutomine", [True])


def test_a_nonce_gap_does_not_hang_the_request(wallet):
    """A transaction two nonces ahead is queued by the node: the relay answers at once with
    its hash, it stays pending, and it is mined once the gap is filled."""
    w3 = wallet.world.chain.w3
    next_nonce = w3.eth.get_transaction_count(wallet.account.address)
    ahead = wallet.relay(wallet.sign(wallet.unsigned_lock(), nonce=next_nonce + 1))
    assert ahead.status_code == 200, ahead.text
    tx_hash = ahead.json()["tx_hash"]
    assert wallet.status(tx_hash)["state"] == "pending"
    filler = wallet.relay(wallet.sign(wallet.unsigned_lock(), nonce=next_nonce))
    assert filler.status_code == 200, filler.text
    w3.provider.make_request("evm_mine", [])
    assert wallet.status(tx_hash)["state"] == "mined"


def test_a_transaction_the_contract_refuses_is_not_sent(wallet):
    """Simulated before it is sent: the contract's custom error, and the nonce stays unused."""
    tx = wallet.unsigned_lock()
    before = wallet.world.chain.w3.eth.get_transaction_count(wallet.account.address)
    wallet.world.chain.w3.provider.make_request("evm_increaseTime", [7200])
    wallet.world.chain.w3.provider.make_request("evm_mine", [])  # the timelock is now past
    r = wallet.relay(wallet.sign(tx))
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"].startswith("Lock"), r.text
    assert wallet.world.chain.w3.eth.get_transaction_count(wallet.account.address) == before
