"""Unsigned transactions for wallets and the relay for signed ones."""

from __future__ import annotations

from ledger import LockStatus, new_secret
from tests.contracts.helpers import register_esp


def _sign_and_relay(api, account, tx: dict, headers) -> dict:
    w3 = api.world.chain.w3
    signed = account.sign_transaction(
        {
            "to": tx["to"],
            "data": tx["data"],
            "value": int(tx["value"]),
            "chainId": tx["chainId"],
            "gas": tx["gas"],
            "maxFeePerGas": int(tx["maxFeePerGas"]),
            "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"]),
            "nonce": w3.eth.get_transaction_count(account.address),
        }
    )
    r = api.client.post(
        "/v1/tx/relay",
        json={"raw": "0x" + signed.raw_transaction.hex().removeprefix("0x")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["state"] == "pending" and sent["tx_hash"].startswith("0x")
    r = api.client.get(f"/v1/tx/{sent['tx_hash']}")  # the embedded chain mines at once
    assert r.status_code == 200, r.text
    return r.json()


def test_lock_through_unsigned_tx_and_relay(api):
    world = api.world
    register_esp(world)
    headers = api.sign_in(world.producer)
    _, hashlock = new_secret()
    body = {
        "receiver": world.esp.address,
        "amount": 10**15,
        "hashlock": "0x" + hashlock.hex(),
        "timelock": world.chain.timestamp() + 3600,
    }
    r = api.client.post("/v1/tx/locks/ether", json=body, headers=headers)
    assert r.status_code == 200, r.text
    tx = r.json()
    assert tx["from"] == world.producer.address and tx["to"] == world.deployment.htlc.address
    assert (
        int(tx["value"]) == 10**15 and tx["chainId"] == world.chain.chain_id and tx["gas"] > 21_000
    )
    out = _sign_and_relay(api, world.producer, tx, headers)
    assert out["status"] == 1 and [e["event"] for e in out["events"]] == ["Locked"]
    assert world.balance(world.deployment.htlc.address) == 10**15


def test_a_transaction_the_contract_would_refuse_is_refused_before_signing(api):
    world = api.world
    headers = api.sign_in(world.producer)
    _, hashlock = new_secret()
    body = {
        "receiver": world.esp.address,
        "amount": 10**15,
        "hashlock": "0x" + hashlock.hex(),
        "timelock": world.chain.timestamp() + 5,
    }  # shorter than the minimum lock duration
    r = api.client.post("/v1/tx/locks/ether", json=body, headers=headers)
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "LockTimelockTooShort" and "earliestAllowed" in err["fields"]


def test_relay_refuses_foreign_targets_and_garbage(api):
    world = api.world
    headers = api.sign_in(world.producer)
    w3 = world.chain.w3
    signed = world.producer.sign_transaction(
        {
            "to": world.buyer.address,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "chainId": world.chain.chain_id,
            "nonce": w3.eth.get_transaction_count(world.producer.address),
        }
    )
    raw = "0x" + signed.raw_transaction.hex().removeprefix("0x")
    r = api.client.post("/v1/tx/relay", json={"raw": raw}, headers=headers)
    assert r.status_code == 422 and "refusing to relay" in r.json()["error"]["message"]
    r = api.client.post("/v1/tx/relay", json={"raw": "0x1234"}, headers=headers)
    assert r.status_code == 422 and "not a signed transaction" in r.json()["error"]["message"]


def test_writes_need_sign_in_and_valid_bodies(api):
    r = api.client.post("/v1/tx/registry/commit", json={"commitment": "0x" + "11" * 32})
    assert r.status_code == 401
    headers = api.sign_in(api.world.producer)
    r = api.client.post("/v1/tx/registry/commit", json={"commitment": "0x11"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = api.client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_withdraw_built_by_the_api_settles_the_lock(api):
    world = api.world
    register_esp(world)
    preimage, hashlock = new_secret()
    lock = world.htlc(world.producer).lock_ether(
        world.esp.address, amount=10**15, hashlock=hashlock, timelock=world.chain.timestamp() + 3600
    )
    headers = api.sign_in(world.esp)
    lock_json = {**lock.to_json(), "amount": lock.amount}
    r = api.client.post(
        "/v1/tx/locks/withdraw",
        json={"lock": lock_json, "preimage": "0x" + preimage.hex()},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    _sign_and_relay(api, world.esp, r.json(), headers)
    assert world.htlc(world.esp).status(lock) is LockStatus.WITHDRAWN


def test_control_characters_in_free_text_are_a_422(api):
    headers = api.sign_in(api.world.producer)
    r = api.client.post(
        "/v1/tasks", json={"prompt": "a red\x00circle", "seed": 1, "max_price": 1}, headers=headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def test_a_challenge_built_and_finalized_through_the_api_revokes_the_copy(api):
    """Every registry builder encodes its call through ledger's typed client (the finalize
    builder once passed a third argument the contract does not take)."""
    from tests.api._trading import sign_and_relay
    from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_image

    world = api.world
    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    api.index()
    headers = api.sign_in(world.producer)
    body = {"original": str(original), "duplicate": hex(copy)}  # decimal or hex
    r = api.client.post("/v1/tx/registry/challenge", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert int(r.json()["value"]) == world.registry(world.producer).params()["challenge_deposit"]
    assert sign_and_relay(api, world.producer, r.json())["status"] == 1
    world.chain.mine(world.params.dispute_window_blocks + 1)
    r = api.client.post("/v1/tx/registry/finalize", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert sign_and_relay(api, world.producer, r.json())["status"] == 1
    api.index()
    assert api.client.get(f"/v1/products/{copy}").json()["status"] == "revoked"
