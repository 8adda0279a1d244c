// Listings and swap legs against a fake API: the offer is signed under the deployment's domain
// and sent with exact numbers; a seller step by someone else is refused before any transaction.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { verifyTypedData } from 'viem'
import { defaultDomains, list, lockForSale, OFFER_TYPES, resell, toTrade } from '../src/index.js'
import { ADDRESS, client, ESP_REGISTRY, fakeApi, HEALTH, REGISTRY, testWallet } from './helpers.js'

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
  c.publicClient = /** @type {any} */ ({
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
