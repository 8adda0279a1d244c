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

import os

import httpx
import pytest

from tests.js._node import node_or_skip, run_step

_STEP = """
import { readFileSync } from 'node:fs'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { createAigcClient } from './js/sdk/src/index.js'
const [api, rpc, chainId, key, step, argsFile] = process.argv.slice(1)
const args = JSON.parse(readFileSync(argsFile, 'utf8'))
const chain = { ...anvil, id: Number(chainId), rpcUrls: { default: { http: [rpc] } } }
const publicClient = createPublicClient({ chain, transport: http(rpc), pollingInterval: 50 })
const walletClient = createWalletClient({
  account: privateKeyToAccount(key), chain, transport: http(rpc), pollingInterval: 50,
})
const aigc = createAigcClient({ baseUrl: api, publicClient, walletClient })
await aigc.signIn()
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
"""


class _Party:
    """Runs SDK steps as one wallet against the API at ``port``."""

    def __init__(self, node: str, port: int, world, account, tmp_path):
        self.node, self.port, self.world, self.account, self.tmp = (
            node,
            port,
            world,
            account,
            tmp_path,
        )

    def __call__(self, step: str, **args) -> dict:
        return run_step(
            self.node, _STEP, self.port, self.world, self.account.key, step, args, self.tmp
        )


def _sale(seller: _Party, buyer: _Party, token: int, price: int) -> dict:
    listed = seller("list", tokenId=str(token), price=str(price))
    bought = buyer("buy", listingId=listed["listingId"])
    assert listed["collection"] == bought["collection"]
    trade = bought["tradeId"]
    sale = seller("lock", tradeId=trade)
    paid = buyer("pay", tradeId=trade)
    seller("claimPayment", tradeId=trade, preimage=sale["preimage"])
    done = buyer("claimToken", tradeId=trade)
    assert done["status"] == "completed"
    return {**listed, **paid, **done}


@pytest.mark.anvil
@pytest.mark.slow
def test_a_batched_item_is_sold_and_resold_from_javascript(tmp_path):
    from ledger import RpcChain, deploy
    from ledger.clients.batch_registry import BatchRegistryClient
    from ledger.devnet import anvil_binary, start_anvil, write_pidfile
    from ledger.errors import ChainError
    from tests.cli.test_serve import serve_until
    from tests.conftest import IN_CI, TEST_PARAMS, World
    from tests.contracts.batch_kit import register_batch, tid
    from tests.contracts.helpers import register_esp

    node = node_or_skip()
    try:
        anvil_binary()
    except ChainError as exc:
        if IN_CI:
            pytest.fail(f"anvil is required in CI: {exc}")
        pytest.skip(str(exc))
    dev = start_anvil(tmp_path / "devnet" / "state.json")
    try:
        chain = RpcChain(dev.url, dev=True)
        accounts = chain.dev_accounts()
        world = World(chain, deploy(chain, accounts[0], TEST_PARAMS), TEST_PARAMS, accounts)
        world.deployment.manifest.save(tmp_path / "deployments" / f"{chain.chain_id}.json")
        write_pidfile(tmp_path / "devnet" / "anvil.json", dev)
        register_esp(world)
        batch_id, _ = register_batch(world, world.producer, n=2)
        token = tid(batch_id, 1)
        batch = BatchRegistryClient(world.deployment)
        collector = world.accounts[5]
        env = {
            **os.environ,
            "AIGC_CHAIN": "devnet",
            "AIGC_DATA_DIR": str(tmp_path),
            "AIGC_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
            "AIGC_BLOB_DIR": str(tmp_path / "blobs"),
            "AIGC_INDEXER_INTERVAL_S": "0.3",
        }
        price, resale = 5 * 10**16, 8 * 10**16

        def drive(port: int) -> dict | None:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code != 200:
                return None
            producer, buyer, third = (
                _Party(node, port, world, who, tmp_path)
                for who in (world.producer, world.buyer, collector)
            )
            first = _sale(producer, buyer, token, price)
            owner_after_first = batch.owner_of(token)
            before = world.balance(world.producer.address)
            second = _sale(buyer, third, token, resale)
            return {
                "first": first,
                "second": second,
                "owner_after_first": owner_after_first,
                "owner_after_second": batch.owner_of(token),
                "royalty_paid": world.balance(world.producer.address) - before,
            }

        code, out = serve_until(env, tmp_path, drive)
        assert code is None, f"aigc serve exited ({code}): {str(out)[-3000:]}"
    finally:
        dev.stop()
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
