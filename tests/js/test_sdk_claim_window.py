"""The JavaScript SDK's ``claimPayment`` refuses a claim that could be mined past the payment
lock's claim window (``claim_window_closed``), before the secret leaves the SDK.

The payment is an Ether lock: the HashTimeLock accepts its withdrawal only within
``claimWindow`` blocks of the lock's own block, while the token leg (an ERC-721 lock) has no
window. The API builds the withdrawal with its gas (estimated against the next block), so the
wallet sends it as built, whenever the user confirms: mined past the window it reverts, but its
calldata has published the secret; the buyer takes the token and refunds the payment at T2.
Before the guard claimPayment checked only the payment lock's timelock: one block before the
window's end it sent the withdrawal (the secret in the signed calldata), and the chain, mining
it a block later, reverted it. Now it reads the lock's block and ``claimWindow`` from the chain
and refuses within ``CLAIM_MARGIN_BLOCKS`` (five) blocks of the window's end, as the Python
seller (``services.exchange.swap.CLAIM_MARGIN_BLOCKS``) and the API (409
``claim_window_closed``) do; and it refuses a payment lock that is not open on chain
(``lock_not_open``: a failed claim publishes the secret just the same).
"""

from __future__ import annotations

import json

from services.exchange.swap import CLAIM_MARGIN_BLOCKS
from tests.js._node import last_json, node_or_skip, run_node

LOCKED_AT = 100
WINDOW = 36
LAST = LOCKED_AT + WINDOW

# A trade at price 5 (a primary sale: no royalty) whose payment lock pays the signed-in seller,
# against a fake API and a chain reader that answers the lock's block, the window and the head;
# the "chain" mines a sent claim two blocks after the head (a block after the API's estimate) and
# reverts it past the window.
SCRIPT = r"""
import { encodeFunctionData, verifyTypedData } from 'viem'
import * as sdk from './js/sdk/src/index.js'
import { hashTimeLockAbi } from './js/sdk/src/abis.js'
import {
  ADDRESS, client, ESP_REGISTRY, fakeApi, HTLC, REGISTRY, testWallet,
} from './js/sdk/test/helpers.js'

const [cases, lockedAt, window] = process.argv.slice(1)
const BUYER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const PREIMAGE = `0x${'cd'.repeat(32)}`
const NOW = 1_700_000_000n
const hashlock = `0x${'ab'.repeat(32)}`
const message = { tokenId: 7n, seller: ADDRESS, price: 5n, expiry: 1_800_000_000n, nonce: 1n }
const signature = await testWallet().walletClient.account.signTypedData({
  domain: sdk.defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).offer,
  types: sdk.OFFER_TYPES, primaryType: 'Offer', message,
})
const offer = {
  id: 1, token_id: '7', collection: REGISTRY, seller: ADDRESS, price: '5',
  expiry: '1800000000', nonce: '1', signature, status: 'sold',
}
const ZERO = `0x${'00'.repeat(20)}`
const out = {}
for (const { name, head, status } of JSON.parse(cases)) {
  const assetLock = {
    sender: ADDRESS, receiver: BUYER, asset: 2, token: REGISTRY, amount: '7', hashlock,
    timelock: String(NOW + 7200n),
  }
  const paymentLock = {
    sender: BUYER, receiver: ADDRESS, asset: 0, token: ZERO, amount: '5', hashlock,
    timelock: String(NOW + 3600n),
  }
  const trade = {
    id: 4, listing_id: 1, token_id: '7', seller: ADDRESS, buyer: BUYER, price: '5',
    status: 'payment_locked', hashlock, asset_lock: assetLock, payment_lock: paymentLock,
    royalty_lock: null, secret: null,
  }
  const api = fakeApi({
    'GET /v1/trades/4': () => [200, trade],
    'GET /v1/listings/1': () => [200, offer],
    'POST /v1/tx/locks/withdraw': ({ body }) => [200, {
      to: HTLC,
      data: encodeFunctionData({
        abi: hashTimeLockAbi, functionName: 'withdraw',
        args: [sdk.toLock(body.lock), body.preimage],
      }),
      value: '0', chainId: 31337, from: ADDRESS, gas: '90000',
    }],
  })
  const sent = []
  const walletClient = { getChainId: async () => 31337, account: testWallet().walletClient.account,
    sendTransaction: async (req) => { sent.push(req); return `0x${'01'.repeat(32)}` } }
  const c = client(api, walletClient)
  const last = BigInt(lockedAt) + BigInt(window)
  c.publicClient = { getChainId: async () => 31337,
    verifyTypedData: (args) => verifyTypedData(args),
    getBlock: async () => ({ timestamp: NOW }),
    getBlockNumber: async () => BigInt(head),
    readContract: async (call) => {
      if (call.functionName === 'lockInfo') return [status ?? 1, BigInt(lockedAt)]
      if (call.functionName === 'claimWindow') return BigInt(window)
      if (call.functionName === 'royaltyInfo') return [ADDRESS, 0n]
      throw new Error(`unexpected read ${call.functionName}`)
    },
    // the API estimated the claim against the next block; the wallet's send is mined a block
    // after that: past the window it reverts
    waitForTransactionReceipt: async () => ({
      status: BigInt(head) + 2n > last ? 'reverted' : 'success', logs: [],
    }),
  }
  let r = 'done'
  let fields = null
  try {
    await sdk.claimPayment(c, { tradeId: 4, preimage: PREIMAGE, intervalMs: 1 })
  } catch (e) {
    r = e.code ?? String(e)
    if (e.lastBlock !== undefined) {
      fields = { lastBlock: String(e.lastBlock), block: String(e.block), margin: String(e.margin) }
    }
  }
  out[name] = {
    r, fields,
    sent: sent.length,
    secretToApi: api.calls.filter((x) => x.path === '/v1/tx/locks/withdraw').length,
    secretInCalldata: sent.some((t) => t.data.toLowerCase().includes(PREIMAGE.slice(2))),
  }
}
out.margin = String(sdk.CLAIM_MARGIN_BLOCKS)
console.log(JSON.stringify(out))
"""


def drive(**cases: dict) -> dict:
    node = node_or_skip()
    spec = json.dumps([{"name": k, **v} for k, v in cases.items()])
    return last_json(
        run_node(node, SCRIPT, spec, str(LOCKED_AT), str(WINDOW), what="claimPayment window")
    )


def test_a_claim_that_could_land_past_the_window_is_refused_before_the_secret_leaves():
    """The attack: one block before the window's end (the head ``LAST - 1``) claimPayment sent
    the withdrawal, the secret in its calldata, and the chain reverted it a block later. Now it
    is refused within the margin, with the window's last block and the head."""
    out = drive(
        one_before=dict(head=LAST - 1),
        within_margin=dict(head=LAST - CLAIM_MARGIN_BLOCKS + 1),
        at_the_end=dict(head=LAST),
        past_it=dict(head=LAST + 3),
    )
    for name in ("one_before", "within_margin", "at_the_end", "past_it"):
        got = out[name]
        assert got["r"] == "claim_window_closed", (name, got)
        assert (got["sent"], got["secretToApi"], got["secretInCalldata"]) == (0, 0, False), got
    assert out["one_before"]["fields"] == {
        "lastBlock": str(LAST),
        "block": str(LAST - 1),
        "margin": str(CLAIM_MARGIN_BLOCKS),
    }


def test_a_claim_with_the_margin_left_goes_through():
    out = drive(margin_left=dict(head=LAST - CLAIM_MARGIN_BLOCKS), early=dict(head=LOCKED_AT + 1))
    for got in (out["margin_left"], out["early"]):
        assert got["r"] == "done", got
        assert (got["sent"], got["secretToApi"], got["secretInCalldata"]) == (1, 1, True), got


def test_a_payment_lock_not_open_on_chain_is_not_claimed():
    """The API says ``payment_locked``; the chain says the lock is refunded (or was never made):
    a claim would revert and publish the secret all the same."""
    out = drive(refunded=dict(head=LOCKED_AT + 1, status=3), never=dict(head=LOCKED_AT, status=0))
    for got in (out["refunded"], out["never"]):
        assert got["r"] == "lock_not_open", got
        assert got["sent"] + got["secretToApi"] == 0, got


def test_the_sdk_margin_is_the_python_one():
    out = drive()
    assert int(out["margin"]) == CLAIM_MARGIN_BLOCKS == 5
