// Listings and swap legs against a fake API: the offer is signed under the deployment's domain
// and sent with exact numbers; a seller step by someone else is refused before any transaction.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { encodeFunctionData, toFunctionSelector, verifyTypedData } from 'viem'
import {
  CLAIM_MARGIN_S, claimPayment, ClaimTooLateError, collectionAbi, collectionOf, defaultDomains, list, lockForSale, OFFER_TYPES, PaymentAmountError,
  payTrade, resell, toLock, toTrade,
} from '../src/index.js'
import { hashTimeLockAbi } from '../src/abis.js'
import { fromApi } from '../src/deployment.js'
import { ADDRESS, client, ESP_REGISTRY, fakeApi, HEALTH, HTLC, REGISTRY, testWallet } from './helpers.js'

const BIG = 2n ** 255n + 7n

/** @param {any} body */
function listingOut(body) {
  return { id: 3, token_id: BigInt(body.token_id).toString(10), seller: ADDRESS, price: body.price, expiry: body.expiry, nonce: body.nonce, signature: body.signature, status: 'open' }
}

test('list signs the Offer under the Registry\'s domain and sends exact decimal numbers', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/listings': ({ body }) => [201, listingOut(body)] })
  const listing = await list(client(api), { tokenId: BIG, price: 1234567890123456789n, expiry: 1800000000n, nonce: 42n })
  const body = api.calls.find((c) => c.path === '/v1/listings')?.body
  assert.equal(body.token_id, `0x${BIG.toString(16)}`)
  assert.equal(body.price, '1234567890123456789')
  assert.equal(body.nonce, '42')
  const ok = await verifyTypedData({
    address: ADDRESS,
    domain: defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).offer,
    types: OFFER_TYPES,
    primaryType: 'Offer',
    message: { tokenId: BIG, seller: ADDRESS, price: 1234567890123456789n, expiry: 1800000000n, nonce: 42n },
    signature: body.signature,
  })
  assert.ok(ok)
  assert.equal(listing.tokenId, BIG)
  assert.equal(listing.price, 1234567890123456789n)
})

test('list defaults the expiry to the chain\'s time + 1 day and picks a random nonce', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/listings': ({ body }) => [201, listingOut(body)] })
  const a = await list(client(api), { tokenId: 1n, price: 5n })
  const b = await list(client(api), { tokenId: 1n, price: 5n })
  assert.equal(a.expiry, 1_700_000_000n + 86_400n)
  assert.notEqual(a.nonce, b.nonce)
})

test('resell reports the ERC-2981 royalty the buyer will lock for the producer', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/listings': ({ body }) => [201, listingOut(body)] })
  const c = client(api)
  const producer = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
  c.publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    getBlock: async () => ({ timestamp: 1n }),
    readContract: async (/** @type {any} */ args) => {
      assert.equal(args.functionName, 'royaltyInfo')
      assert.deepEqual(args.args, [7n, 1000n])
      return [producer, 50n]
    },
  })
  const { royalty, listing } = await resell(c, { tokenId: 7n, price: 1000n })
  assert.deepEqual(royalty, { receiver: producer, amount: 50n })
  assert.equal(listing.price, 1000n)
})

test('lockForSale by someone other than the seller is refused before any transaction', async () => {
  const api = fakeApi({})
  const { walletClient, sent } = testWallet(`0x${'33'.repeat(32)}`)
  const trade = toTrade({
    id: 1, listing_id: 1, token_id: '7', seller: ADDRESS, buyer: ADDRESS, price: '5', status: 'requested',
    hashlock: null, asset_lock: null, payment_lock: null, royalty_lock: null, secret: null,
  })
  await assert.rejects(lockForSale(client(api, walletClient), { trade }), { code: 'not_seller' })
  assert.equal(api.calls.length, 0)
  assert.equal(sent.length, 0)
})

// --- batched items (a BatchRegistry token is its own collection) -----------------------------

const BATCH = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9'
const HEALTH_WITH_BATCH = { ...HEALTH, contracts: { ...HEALTH.contracts, BatchRegistry: BATCH } }
const ADDRESSES = { registry: REGISTRY, espRegistry: ESP_REGISTRY, batchRegistry: BATCH }
const ITEM = (5n << 32n) | 2n // batch 5, index 2

test('list signs a batched item\'s Offer under the BatchRegistry\'s domain, and names the collection', async () => {
  const api = fakeApi({
    'GET /healthz': () => [200, HEALTH_WITH_BATCH],
    'POST /v1/listings': ({ body }) => [201, { ...listingOut(body), collection: body.collection }],
  })
  const listing = await list(client(api), { tokenId: ITEM, price: 1000n, expiry: 1800000000n, nonce: 9n, collection: 'batch' })
  const body = api.calls.find((c) => c.path === '/v1/listings')?.body
  assert.equal(body.collection, BATCH)
  assert.equal(listing.collection, BATCH)
  const message = { tokenId: ITEM, seller: ADDRESS, price: 1000n, expiry: 1800000000n, nonce: 9n }
  const domains = defaultDomains(31337, ADDRESSES)
  const under = (/** @type {any} */ domain) => verifyTypedData({
    address: ADDRESS, domain, types: OFFER_TYPES, primaryType: 'Offer', message, signature: body.signature,
  })
  assert.deepEqual(domains.batchOffer, { name: 'AIGC BatchRegistry', version: '1', chainId: 31337, verifyingContract: BATCH })
  assert.ok(await under(domains.batchOffer))
  assert.equal(await under(domains.offer), false) // not usable as a Registry offer
})

test('a Registry listing is signed and sent as before batches (the Registry\'s domain)', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH_WITH_BATCH], 'POST /v1/listings': ({ body }) => [201, listingOut(body)] })
  await list(client(api), { tokenId: 7n, price: 5n, expiry: 1800000000n, nonce: 1n })
  const body = api.calls.find((c) => c.path === '/v1/listings')?.body
  assert.equal(body.collection, REGISTRY)
  const ok = await verifyTypedData({
    address: ADDRESS,
    domain: defaultDomains(31337, ADDRESSES).offer,
    types: OFFER_TYPES,
    primaryType: 'Offer',
    message: { tokenId: 7n, seller: ADDRESS, price: 5n, expiry: 1800000000n, nonce: 1n },
    signature: body.signature,
  })
  assert.ok(ok)
})

test('collectionOf knows the Registry and the BatchRegistry by name or address, nothing else', () => {
  const dep = fromApi({ chain_id: 31337, contracts: HEALTH_WITH_BATCH.contracts })
  assert.equal(collectionOf(dep, undefined).address, REGISTRY)
  assert.equal(collectionOf(dep, 'registry').kind, 'registry')
  assert.equal(collectionOf(dep, BATCH.toLowerCase()).kind, 'batch')
  assert.equal(collectionOf(dep, 'batch').domain.verifyingContract, BATCH)
  assert.throws(() => collectionOf(dep, HTLC), { code: 'unknown_collection' })
  const old = fromApi({ chain_id: 31337, contracts: HEALTH.contracts }) // before batches
  assert.equal(old.addresses.batchRegistry, null)
  assert.throws(() => collectionOf(old, 'batch'), { code: 'unknown_collection' })
})

test('the BatchRegistry\'s domain is taken from what the API serves for it', () => {
  const served = { name: 'AIGC BatchRegistry', version: '1', chainId: 31337, verifyingContract: BATCH }
  const dep = fromApi({
    chain_id: 31337,
    contracts: HEALTH_WITH_BATCH.contracts,
    eip712: { BatchAttestation: { contract: 'BatchRegistry', domain: { ...served, version: '9' } } },
  })
  assert.deepEqual(dep.domains.batchOffer, { ...served, version: '9' })
})

test('payTrade refuses a lock of the other collection\'s token with the same id, before paying', async () => {
  const lock = {
    sender: ADDRESS, receiver: ADDRESS, asset: 'ERC721', token: REGISTRY, amount: ITEM.toString(),
    hashlock: `0x${'ab'.repeat(32)}`, timelock: '1800000000',
  }
  const trade = {
    id: 4, listing_id: 1, token_id: ITEM.toString(), collection: BATCH, seller: ADDRESS, buyer: ADDRESS, price: '5',
    status: 'asset_locked', hashlock: lock.hashlock, asset_lock: lock, payment_lock: null, royalty_lock: null, secret: null,
  }
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH_WITH_BATCH], 'GET /v1/trades/4': () => [200, trade] })
  await assert.rejects(payTrade(client(api), { tradeId: 4 }), { code: 'bad_token_lock' })
  assert.ok(!api.calls.some((c) => c.path.endsWith('/payment-tx')))
})

test('the collection fragments are in both collections\' compiled ABIs', () => {
  for (const name of ['Registry', 'BatchRegistry']) {
    const url = new URL(`../../../contracts/artifacts/${name}.json`, import.meta.url)
    const compiled = JSON.parse(readFileSync(url, 'utf8')).abi
    for (const item of collectionAbi) {
      const match = compiled.find((/** @type {any} */ c) => c.type === 'function' && toFunctionSelector(c) === toFunctionSelector(item))
      assert.ok(match, `${name}.${item.name}`)
      assert.deepEqual(match.outputs.map((/** @type {any} */ o) => o.type), item.outputs.map((o) => o.type), item.name)
    }
  }
})

// --- the seller's claim of the price: refused too close to the payment lock's expiry ----------

/**
 * A trade at price 5 whose payment lock pays the signed-in seller (ADDRESS) 5 and expires at
 * `timelock`, on a chain whose latest block is at `now`; `over` edits the payment lock,
 * `royalty` is what the Registry's royaltyInfo answers (none by default: a primary sale).
 * @param {{ timelock: bigint, now: bigint, over?: Record<string, unknown>,
 *   royalty?: [`0x${string}`, bigint] }} p
 */
function claimSetup({ timelock, now, over = {}, royalty = [ADDRESS, 0n] }) {
  const hashlock = `0x${'ab'.repeat(32)}`
  const assetLock = { sender: ADDRESS, receiver: BUYER, asset: 2, token: REGISTRY, amount: '7', hashlock, timelock: String(timelock + 3600n) }
  const paymentLock = { sender: BUYER, receiver: ADDRESS, asset: 0, token: '0x0000000000000000000000000000000000000000', amount: '5', hashlock, timelock: String(timelock), ...over }
  const trade = {
    id: 4, listing_id: 1, token_id: '7', seller: ADDRESS, buyer: BUYER, price: '5', status: 'payment_locked', hashlock,
    asset_lock: assetLock, payment_lock: paymentLock, royalty_lock: null, secret: null,
  }
  const api = fakeApi({
    'GET /healthz': () => [200, HEALTH],
    'GET /v1/trades/4': () => [200, trade],
    'GET /v1/listings/1': () => [200, OFFER],
    'POST /v1/tx/locks/withdraw': ({ body }) => [200, {
      to: HTLC, data: encodeFunctionData({ abi: hashTimeLockAbi, functionName: 'withdraw', args: [toLock(body.lock), body.preimage] }),
      value: '0', chainId: 31337, from: ADDRESS,
    }],
  })
  /** @type {any[]} */
  const sent = []
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: testWallet().walletClient.account,
    sendTransaction: async (/** @type {any} */ req) => { sent.push(req); return `0x${'01'.repeat(32)}` },
  })
  const c = client(api, walletClient)
  c.publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    verifyTypedData: (/** @type {any} */ args) => verifyTypedData(args),
    getBlock: async () => ({ timestamp: now }),
    getBlockNumber: async () => 110n, // the payment lock's claim window (block 100 + 36) wide open
    readContract: async (/** @type {any} */ call) => {
      if (call.functionName === 'lockInfo') return [1, 100n]
      if (call.functionName === 'claimWindow') return 36n
      assert.equal(call.functionName, 'royaltyInfo')
      assert.equal(call.address, REGISTRY)
      assert.deepEqual(call.args, [7n, 5n])
      return royalty
    },
    waitForTransactionReceipt: async () => ({ status: 'success', logs: [] }),
  })
  const withdrawals = () => api.calls.filter((x) => x.path === '/v1/tx/locks/withdraw').length
  return { c, sent, withdrawals }
}

const BUYER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
/** The seller's own offer behind trade 4 (listing 1): token 7 for 5 wei, signed by the seller. */
const OFFER = await (async () => {
  const message = { tokenId: 7n, seller: ADDRESS, price: 5n, expiry: 1_800_000_000n, nonce: 1n }
  const signature = await testWallet().walletClient.account.signTypedData({
    domain: defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).offer, types: OFFER_TYPES, primaryType: 'Offer', message,
  })
  return { id: 1, token_id: '7', collection: REGISTRY, seller: ADDRESS, price: '5', expiry: '1800000000', nonce: '1', signature, status: 'sold' }
})()
const PREIMAGE = /** @type {`0x${string}`} */ (`0x${'cd'.repeat(32)}`)

test('claimPayment within CLAIM_MARGIN_S of the payment lock\'s T2 keeps the secret: ClaimTooLateError, nothing sent', async () => {
  for (const left of [0n, 1n, 30n, CLAIM_MARGIN_S - 1n, -5n]) {
    const now = 1_700_000_000n
    const { c, sent, withdrawals } = claimSetup({ timelock: now + left, now })
    const err = await claimPayment(c, { tradeId: 4, preimage: PREIMAGE, intervalMs: 1 }).catch((e) => e)
    assert.ok(err instanceof ClaimTooLateError, `${left} s left`)
    assert.equal(err.code, 'claim_too_late')
    assert.equal(err.deadline, now + left)
    assert.equal(err.timeLeft, left)
    assert.equal(err.margin, 60n)
    assert.equal(withdrawals(), 0, 'the secret never left for the API')
    assert.equal(sent.length, 0)
  }
})

test('claimPayment with CLAIM_MARGIN_S or more left claims with the secret', async () => {
  const now = 1_700_000_000n
  const { c, sent, withdrawals } = claimSetup({ timelock: now + CLAIM_MARGIN_S, now })
  const out = await claimPayment(c, { tradeId: 4, preimage: PREIMAGE, intervalMs: 1 })
  assert.equal(out.trade.id, 4)
  assert.equal(withdrawals(), 1)
  assert.equal(sent.length, 1)
})

test('claimPayment refuses a payment lock that pays someone else or under another hashlock', async () => {
  const now = 1_700_000_000n
  for (const over of [{ receiver: BUYER }, { hashlock: `0x${'ef'.repeat(32)}` }]) {
    const { c, sent, withdrawals } = claimSetup({ timelock: now + 3600n, now, over })
    await assert.rejects(claimPayment(c, { tradeId: 4, preimage: PREIMAGE, intervalMs: 1 }), { name: 'AigcSdkError', code: 'bad_payment_lock' })
    assert.equal(withdrawals() + sent.length, 0)
  }
})

test('claimPayment refuses a payment lock short of the price (a primary sale): PaymentAmountError, the secret kept', async () => {
  const now = 1_700_000_000n
  const { c, sent, withdrawals } = claimSetup({ timelock: now + 3600n, now, over: { amount: '4' } })
  const err = await claimPayment(c, { tradeId: 4, preimage: PREIMAGE, intervalMs: 1 }).catch((e) => e)
  assert.ok(err instanceof PaymentAmountError, String(err))
  assert.equal(err.code, 'payment_amount')
  assert.equal(err.expected, 5n)
  assert.equal(err.locked, 4n)
  assert.match(err.message, /expected 5 wei.*locks 4 wei/)
  assert.equal(withdrawals() + sent.length, 0, 'the secret never left for the API')
})

test('claimPayment on a resale wants exactly price - royalty: less (or the whole price to the seller) is refused', async () => {
  const now = 1_700_000_000n
  const royalty = /** @type {[`0x${string}`, bigint]} */ ([HTLC, 1n]) // the producer's, not the seller's
  for (const [amount, ok] of /** @type {const} */ ([['3', false], ['4', true], ['6', false]])) {
    const { c, sent, withdrawals } = claimSetup({ timelock: now + 3600n, now, over: { amount }, royalty })
    const err = await claimPayment(c, { tradeId: 4, preimage: PREIMAGE, intervalMs: 1 }).catch((e) => e)
    if (ok) {
      assert.equal(err.trade.id, 4, String(err))
      assert.equal(withdrawals(), 1)
    } else {
      assert.ok(err instanceof PaymentAmountError, `${amount}: ${err}`)
      assert.equal(err.expected, 4n)
      assert.equal(withdrawals() + sent.length, 0)
    }
  }
})

test('claimPayment refuses a payment lock of a token (not Ether) or from someone other than the buyer', async () => {
  const now = 1_700_000_000n
  for (const over of [{ asset: 1, token: HTLC }, { sender: ADDRESS }]) {
    const { c, sent, withdrawals } = claimSetup({ timelock: now + 3600n, now, over })
    await assert.rejects(claimPayment(c, { tradeId: 4, preimage: PREIMAGE, intervalMs: 1 }), { name: 'AigcSdkError', code: 'bad_payment_lock' })
    assert.equal(withdrawals() + sent.length, 0)
  }
})
