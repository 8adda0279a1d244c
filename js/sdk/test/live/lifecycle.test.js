// The whole lifecycle from JavaScript only, against a live stack (anvil + `aigc serve` + an ESP
// worker) started by tests/js/test_sdk_live.py. Three viem WalletClients stand in for injected
// wallets: the producer's and the buyer's over dev keys (privateKeyToAccount), the collector's a
// JSON-RPC account whose key stays in the node, as in a browser wallet. The producer pays for an
// image, opens and registers it, and sells it to the buyer, who resells it to the collector with
// the royalty paid to the producer.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getEip712Domain } from 'viem/actions'
import { anvil } from 'viem/chains'
import { createAigcClient } from '../../src/index.js'

const env = (/** @type {string} */ name) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set: run this through tests/js/test_sdk_live.py`)
  return v
}

const rpc = env('AIGC_RPC_URL')
const chain = { ...anvil, id: Number(env('AIGC_CHAIN_ID')), rpcUrls: { default: { http: [rpc] } } }
const publicClient = createPublicClient({ chain, transport: http(rpc), pollingInterval: 100 })

/** @param {string} key */
function user(key) {
  const walletClient = createWalletClient({
    account: privateKeyToAccount(/** @type {`0x${string}`} */ (key)),
    chain,
    transport: http(rpc),
    pollingInterval: 100,
  })
  return createAigcClient({ baseUrl: env('AIGC_API_URL'), publicClient, walletClient })
}

/**
 * A wallet that holds no key in this process at all: a JSON-RPC account the node (anvil) signs
 * for, as an injected EIP-1193 wallet does (personal_sign, eth_signTypedData_v4,
 * eth_sendTransaction).
 * @param {string} address
 */
function rpcUser(address) {
  const walletClient = createWalletClient({
    account: /** @type {`0x${string}`} */ (address),
    chain,
    transport: http(rpc),
    pollingInterval: 100,
  })
  return createAigcClient({ baseUrl: env('AIGC_API_URL'), publicClient, walletClient })
}

const timing = { intervalMs: 200, timeoutMs: 120_000 }

/**
 * lockForSale as a seller does it right after buying: the Registry refuses the token's return to
 * the swap escrow within commitTtl + 1 blocks of its release (RegistryRelistTooSoon, whose
 * `untilBlock` the API's 409 carries), so the seller waits for the block after it (mined here:
 * anvil makes blocks only for transactions).
 * @param {ReturnType<typeof createAigcClient>} seller
 * @param {any} trade
 */
async function lockAfterRelistBound(seller, trade) {
  try {
    return await seller.lockForSale({ trade })
  } catch (e) {
    const err = /** @type {any} */ (e)
    if (err.code !== 'RegistryRelistTooSoon') throw e
    const until = BigInt(err.fields.untilBlock)
    while ((await publicClient.getBlockNumber()) <= until) await publicClient.request(/** @type {any} */ ({ method: 'evm_mine', params: [] }))
    return seller.lockForSale({ trade })
  }
}

/**
 * list as a producer does it once the token may be sold: the Registry's escrow refuses a token
 * within registrationWindow + commitTtl blocks of its reveal (RegistryTokenReclaimable: an
 * earlier payer of the bytes could still reclaim it from a buyer), and the API answers 409
 * `token_reclaimable` until then; the product says the block (`reclaimable_until`). The test
 * mines past it in one call (anvil_mine) and retries while the API's index catches up.
 * @param {ReturnType<typeof createAigcClient>} seller
 * @param {bigint} tokenId
 * @param {bigint} price
 */
async function listAfterReclaimWindow(seller, tokenId, price) {
  const until = (await seller.getProduct({ tokenId })).raw.reclaimable_until
  if (until !== null && until !== undefined) {
    const head = await publicClient.getBlockNumber()
    const blocks = BigInt(until) + 1n - head
    if (blocks > 0n) await publicClient.request(/** @type {any} */ ({ method: 'anvil_mine', params: [`0x${blocks.toString(16)}`] }))
  }
  for (let i = 0; ; i++) {
    try {
      return await seller.list({ tokenId, price })
    } catch (e) {
      if (/** @type {any} */ (e).code !== 'token_reclaimable' || i >= 600) throw e
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

test('post, pay, open, register, list, buy, resell with royalty, feedback: JavaScript only', { timeout: 600_000 }, async () => {
  const producer = user(env('AIGC_PRODUCER_KEY'))
  const buyer = user(env('AIGC_BUYER_KEY'))
  const collector = rpcUser(env('AIGC_COLLECTOR_ADDRESS'))
  const espAddress = env('AIGC_ESP_ADDRESS')
  const me = /** @type {`0x${string}`} */ (producer.walletClient?.account?.address)
  const buyerAddress = /** @type {`0x${string}`} */ (buyer.walletClient?.account?.address)
  const collectorAddress = /** @type {`0x${string}`} */ (collector.walletClient?.account?.address)

  // Sign in (EIP-4361) and look at the deployment and the ESPs.
  for (const c of [producer, buyer, collector]) await c.signIn()
  assert.equal(producer.session?.address, me)
  // The delivery key: derived from one wallet signature, registered with a proof of possession.
  const registered = await producer.registerDeliveryKey()
  assert.ok(registered.registered)
  assert.equal((await producer.registerDeliveryKey()).registered, false, 'the same key is not registered twice')
  const dep = await producer.getDeployment()
  assert.equal(dep.chainId, chain.id)
  assert.equal(dep.source, 'api', 'GET /v1/deployment serves addresses, ABIs and domains')
  // The offer domain the API serves is the one the Registry reports (ERC-5267).
  const onChain = await getEip712Domain(publicClient, { address: dep.addresses.registry })
  assert.equal(dep.domains.offer.name, onChain.domain.name)
  assert.equal(dep.domains.offer.version, onChain.domain.version)
  const esps = await producer.listEsps()
  assert.ok(esps.items.some((e) => e.address === espAddress), 'the ESP worker is listed')

  // Post a task, pay the quoted fee (lock + acknowledge through the wallet), wait for delivery.
  let task = await producer.postTask({ prompt: 'a red circle on a blue background', maxPrice: 2n * 10n ** 15n, seed: 7n, esp: /** @type {`0x${string}`} */ (espAddress) })
  assert.equal(task.status, 'posted')
  task = await producer.waitForTask({ taskId: task.id, status: 'quoted', ...timing })
  assert.ok(task.price !== null && task.price <= 2n * 10n ** 15n)
  const paid = await producer.payFee({ task })
  task = await producer.waitForDelivery({ taskId: task.id, ...timing })
  assert.equal(task.lockId, paid.lockId)

  // Open the sealed delivery (sealed by the ESP to the registered delivery key) and check it
  // against the attestation: the key commitment and the content hash of the decoded pixels.
  const opened = await producer.openDelivery({ task })
  assert.equal(opened.contentHash, String(task.delivery?.content_hash).toLowerCase())
  assert.deepEqual([...opened.image.subarray(1, 4)].map((b) => String.fromCharCode(b)), ['P', 'N', 'G'])

  // Register (commit, then reveal), then feedback on the ESP for the withdrawn fee lock.
  const { tokenId } = await producer.register({ task, contentHash: opened.contentHash })
  await producer.waitForTask({ taskId: task.id, status: 'registered', ...timing })
  await producer.feedback({ task, positive: true })
  const owner = (/** @type {bigint} */ a) => publicClient.readContract({ address: dep.addresses.registry, abi: dep.abis.registry, functionName: 'ownerOf', args: [a] })
  assert.equal(await owner(tokenId), me)

  // Primary sale: the producer lists (signed offer), the buyer buys through the HTLC swap.
  const price = 10n ** 16n
  const listing = await listAfterReclaimWindow(producer, tokenId, price)
  assert.equal(listing.price, price)
  const trade = await buyer.buy({ listingId: listing.id })
  const sale = await producer.lockForSale({ trade })
  const payment = await buyer.payTrade({ tradeId: trade.id, ...timing })
  assert.deepEqual(payment.locks.map((l) => [l.role, l.receiver, l.amount]), [['payment', me, price]])
  await producer.claimPayment({ tradeId: trade.id, preimage: sale.preimage, ...timing })
  const got = await buyer.claimToken({ tradeId: trade.id, ...timing })
  assert.equal(got.preimage, sale.preimage)
  assert.equal(got.royaltyTx, null)
  await buyer.waitForTrade({ tradeId: trade.id, status: 'completed', ...timing })
  assert.equal(await owner(tokenId), buyerAddress)

  // Resale: the buyer resells to a collector; the ERC-2981 royalty goes to the producer.
  const resalePrice = 3n * 10n ** 16n
  const { listing: relisting, royalty } = await buyer.resell({ tokenId, price: resalePrice })
  assert.equal(royalty.receiver, me)
  assert.ok(royalty.amount > 0n && royalty.amount < resalePrice)
  const producerBefore = await publicClient.getBalance({ address: me })
  const resale = await collector.buy({ listingId: relisting.id })
  const held = await lockAfterRelistBound(buyer, resale)
  const legs = await collector.payTrade({ tradeId: resale.id, ...timing })
  assert.deepEqual(
    legs.locks.map((l) => [l.role, l.receiver, l.amount]),
    [['payment', buyerAddress, resalePrice - royalty.amount], ['royalty', me, royalty.amount]],
  )
  await buyer.claimPayment({ tradeId: resale.id, preimage: held.preimage, ...timing })
  const claimed = await collector.claimToken({ tradeId: resale.id, ...timing })
  assert.ok(claimed.royaltyTx, 'the royalty lock was released to the producer')
  const done = await collector.waitForTrade({ tradeId: resale.id, status: 'completed', ...timing })
  assert.equal(await owner(tokenId), collectorAddress)
  const product = await collector.getProduct({ tokenId })
  assert.equal(product.producer, me)
  assert.equal(product.status, 'active')
  assert.equal(await publicClient.getBalance({ address: me }) - producerBefore, royalty.amount)

  const out = process.env.AIGC_SDK_LIVE_OUT
  if (out) {
    writeFileSync(out, JSON.stringify({
      tokenId: tokenId.toString(10),
      taskId: task.id,
      lockId: paid.lockId,
      producer: me,
      buyer: buyerAddress,
      collector: collectorAddress,
      royalty: royalty.amount.toString(10),
      resaleTrade: done.id,
    }))
  }
})
