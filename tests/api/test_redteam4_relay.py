"""Red team 4: the transaction relay is rate limited.

``POST /v1/tx/relay`` simulates each signed transaction on the node (an ``eth_call`` as its
sender, with the gas the signer chose, up to the block's limit) before sending it, and any
signed-in address could ask without limit, from keys that hold nothing: the node ran every
simulation (failed before: 70 relays of one junk transaction were 70 simulations). Now at most
``rate_relay_per_minute`` (60) per signed-in address; beyond, 429 ``rate_limited`` before any
node work.
"""

from __future__ import annotations

import time

from eth_account import Account

from marketplace_api.routers import tx as tx_router


def test_relays_beyond_the_limit_reach_no_node(api, monkeypatch):
    world = api.world
    key = Account.create()
    signed = key.sign_transaction(
        {
            "to": world.deployment.registry.address,
            "data": "0xdeadbeef" + "00" * 64,
            "value": 0,
            "gas": 30_000_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "nonce": 0,
            "chainId": world.chain.chain_id,
            "type": 2,
        }
    )
    raw = "0x" + bytes(signed.raw_transaction).hex()
    calls = []
    real = tx_router.relay

    def counting(chain, data, *, allowed_to):
        calls.append(len(data))
        return real(chain, data, allowed_to=allowed_to)

    monkeypatch.setattr(tx_router, "relay", counting)
    # one instant for the whole burst: the per-minute bucket must not refill because a loaded
    # machine took over a minute to send it (62 of 70 relays reached the node so, in a run
    # beside other jobs)
    frozen = time.time()
    monkeypatch.setattr(api.client.app.state.limiter, "clock", lambda: frozen)
    headers = api.sign_in(world.attacker)
    codes = [
        api.client.post("/v1/tx/relay", json={"raw": raw}, headers=headers).status_code
        for _ in range(70)
    ]
    assert len(calls) == 60  # failed before: 70
    assert all(c != 429 for c in codes[:60]) and codes[60:] == [429] * 10
    assert all(c < 500 for c in codes)
