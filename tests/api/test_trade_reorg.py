"""A reorg that drops a trade's payment lock moves the trade back to what the chain still shows."""

from __future__ import annotations

from services.exchange import SAFETY_MARGIN_S
from tests.api._trading import PRICE, lock_token, start_trade
from tests.contracts.helpers import register_esp, register_image


def test_a_reorged_payment_lock_is_forgotten_and_the_new_branch_followed(api):
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    _, trade, buyer = start_trade(api, world.producer, world.buyer, token)
    offer = lock_token(api, world.producer, world.buyer, token)
    api.index()
    fork_point = world.chain.snapshot()
    t2 = offer.asset_lock.timelock - SAFETY_MARGIN_S
    htlc = world.htlc(world.buyer)
    htlc.lock_ether(
        world.producer.address, amount=PRICE, hashlock=offer.asset_lock.hashlock, timelock=t2
    )
    api.index()
    assert buyer.get(f"/v1/trades/{trade['id']}")["status"] == "payment_locked"
    world.chain.revert(fork_point)  # the block with the payment lock is orphaned...
    world.chain.mine(2)  # ...and another branch grows instead
    api.index()
    state = buyer.get(f"/v1/trades/{trade['id']}")
    assert (state["status"], state["payment_lock"]) == ("asset_locked", None)
    assert state["asset_lock"]["id"] == "0x" + offer.asset_lock.id.hex()
    htlc.lock_ether(
        world.producer.address, amount=PRICE, hashlock=offer.asset_lock.hashlock, timelock=t2 - 1
    )
    api.index()
    state = buyer.get(f"/v1/trades/{trade['id']}")
    assert state["status"] == "payment_locked" and state["payment_lock"]["timelock"] == t2 - 1
