"""A batched item sold and resold from JavaScript only, on anvil behind `aigc serve`.

The producer's batch is registered on chain; then every step is the SDK's, each in the wallet of
the party that takes it (its own node process): the producer lists the item (``collection:
'batch'``: the Offer signed under the BatchRegistry's domain), a buyer asks for it, the producer
approves and locks the BatchRegistry's token (``lockForSale``), the buyer checks that lock and
pays (``payTrade``), the producer claims the payment, the buyer the token. The buyer then resells
it (``resell``: the BatchRegistry's royalty) to a collector, and the producer is paid its
ERC-2981 royalty without taking a step.
"""

from __future__ import annotations

import pytest

from tests.js._node import (
    Steps,
    anvil_devnet,
    deployed_world,
    node_or_skip,
    serve_and_drive,
    serve_env,
    step_script,
)

_STEP = step_script("""
const timing = { intervalMs: 200, timeoutMs: 120_000 }
let out
if (step === 'list') {
  const item = { tokenId: BigInt(args.tokenId), price: BigInt(args.price), collection: 'batch' }
  const r = await aigc.resell(item)
  out = { listingId: r.listing.id, collection: r.listing.collection,
    royalty: [r.royalty.receiver, String(r.royalty.amount)] }
} else if (step === 'buy') {
  const t = await aigc.buy({ listingId: args.listingId })
  out = { tradeId: t.id, collection: t.collection }
} else if (step === 'lock') {
  const trade = await aigc.getTrade({ tradeId: args.tradeId })
  const sale = await aigc.lockForSale({ trade })
  out = { preimage: sale.preimage }
} else if (step === 'pay') {
  const paid = await aigc.payTrade({ tradeId: args.tradeId, ...timing })
  out = { legs: paid.locks.map((l) => [l.role, l.receiver, String(l.amount)]) }
} else if (step === 'claimPayment') {
  await aigc.claimPayment({ tradeId: args.tradeId, preimage: args.preimage, ...timing })
  out = {}
} else {
  const r = await aigc.claimToken({ tradeId: args.tradeId, ...timing })
  const done = await aigc.waitForTrade({ tradeId: args.tradeId, status: 'completed', ...timing })
  out = { status: done.status, royaltyTx: r.royaltyTx }
}
console.log(JSON.stringify(out))
""")


def _sale(steps: Steps, seller, buyer, token: int, price: int) -> dict:
    """One sale of ``token`` at ``price``, each step in the wallet of the party that takes it."""
    listed = steps(seller, "list", tokenId=str(token), price=str(price))
    bought = steps(buyer, "buy", listingId=listed["listingId"])
    assert listed["collection"] == bought["collection"]
    trade = bought["tradeId"]
    sale = steps(seller, "lock", tradeId=trade)
    paid = steps(buyer, "pay", tradeId=trade)
    steps(seller, "claimPayment", tradeId=trade, preimage=sale["preimage"])
    done = steps(buyer, "claimToken", tradeId=trade)
    assert done["status"] == "completed"
    return {**listed, **paid, **done}


@pytest.mark.anvil
@pytest.mark.slow
def test_a_batched_item_is_sold_and_resold_from_javascript(tmp_path):
    from ledger.clients.batch_registry import BatchRegistryClient
    from tests.contracts.batch_kit import register_batch, tid
    from tests.contracts.helpers import past_reclaim, register_esp

    node = node_or_skip()
    with anvil_devnet(tmp_path) as chain:
        world = deployed_world(chain)
        register_esp(world)
        batch_id, _ = register_batch(world, world.producer, n=2)
        token = tid(batch_id, 1)
        past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
        batch = BatchRegistryClient(world.deployment)
        collector = world.accounts[5]
        price, resale = 5 * 10**16, 8 * 10**16

        def drive(port: int) -> dict:
            steps = Steps(node, _STEP, port, chain, tmp_path)
            first = _sale(steps, world.producer, world.buyer, token, price)
            owner_after_first = batch.owner_of(token)
            before = world.balance(world.producer.address)
            second = _sale(steps, world.buyer, collector, token, resale)
            return {
                "first": first,
                "second": second,
                "owner_after_first": owner_after_first,
                "owner_after_second": batch.owner_of(token),
                "royalty_paid": world.balance(world.producer.address) - before,
            }

        out = serve_and_drive(serve_env(tmp_path, world.deployment), tmp_path, drive)
    batch_address = world.deployment.batch_registry.address
    first, second = out["first"], out["second"]
    assert first["collection"] == second["collection"] == batch_address
    assert first["legs"] == [["payment", world.producer.address, str(price)]]  # a primary sale
    assert out["owner_after_first"] == world.buyer.address
    receiver, royalty = second["royalty"]
    assert receiver == world.producer.address and 0 < int(royalty) < resale
    assert second["legs"] == [
        ["payment", world.buyer.address, str(resale - int(royalty))],
        ["royalty", world.producer.address, royalty],
    ]
    assert second["royaltyTx"] is not None
    assert out["royalty_paid"] == int(royalty)  # the producer took no step: no gas spent
    assert out["owner_after_second"] == collector.address
