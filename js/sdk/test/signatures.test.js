// What the wallet signs through the SDK is byte-for-byte what the Python side signs and checks.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { recoverMessageAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { parseSiweMessage, validateSiweMessage } from 'viem/siwe'
import { defaultDomains, OFFER_TYPES, QUOTE_TYPES, signIn, toLock } from '../src/index.js'
import { ADDRESS, client, ESP_REGISTRY, fakeApi, KEY, REGISTRY } from './helpers.js'

const domains = defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY })

test('an offer signed by viem equals services.listing.sign_offer for the same key (vector)', async () => {
  const sig = await privateKeyToAccount(KEY).signTypedData({
    domain: domains.offer,
    types: OFFER_TYPES,
    primaryType: 'Offer',
    message: { tokenId: 2n ** 255n + 7n, seller: ADDRESS, price: 1234567890123456789n, expiry: 1800000000n, nonce: 42n },
  })
  assert.equal(sig, '0xe7575ef3fd61a523e03654821b84ae55918d8b5300d9a3f696bdc598b08ee6c822367d538e6a38cadfb36dc5c056e5432ebf5c20e371541a7541fe6d0370b66d1c')
})

test('a quote signed by viem equals ledger sign_quote for the same key (vector)', async () => {
  const lock = toLock({
    sender: ADDRESS,
    receiver: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    asset: 0,
    token: '0x0000000000000000000000000000000000000000',
    amount: '1234567890123456789',
    hashlock: `0x${'ab'.repeat(32)}`,
    timelock: 1700000000,
  })
  const sig = await privateKeyToAccount(KEY).signTypedData({ domain: domains.quote, types: QUOTE_TYPES, primaryType: 'Quote', message: lock })
  assert.equal(sig, '0x6eb69f9b54b0952525de26b8d3c64cdfe6ac43a54558fa6685cf602881ddfd2905f3ab028df876429684d6e648f7b1739adb5f7803b9b8eeeb84ebff4f9314e91c')
})

test('signIn sends an EIP-4361 message for the server\'s nonce, domain, URI and chain, signed by the wallet', async () => {
  /** @type {any} */
  let verified
  const api = fakeApi({
    'POST /v1/auth/nonce': () => [200, { nonce: 'abcdef0123456789', domain: 'api.test', uri: 'http://api.test', chain_id: 31337, expires_at: '' }],
    'POST /v1/auth/verify': ({ body }) => {
      verified = body
      return [200, { token: 'tok', address: ADDRESS, expires_at: '2030-01-01T00:00:00Z' }]
    },
  })
  const c = client(api)
  c.session = null
  const session = await signIn(c)
  assert.equal(session.token, 'tok')
  assert.equal(c.session?.token, 'tok')
  const parsed = parseSiweMessage(verified.message)
  assert.equal(parsed.address, ADDRESS)
  assert.equal(parsed.domain, 'api.test')
  assert.equal(parsed.uri, 'http://api.test')
  assert.equal(parsed.chainId, 31337)
  assert.equal(parsed.nonce, 'abcdef0123456789')
  assert.ok(parsed.expirationTime && parsed.issuedAt && parsed.expirationTime > parsed.issuedAt)
  assert.ok(validateSiweMessage({ message: parsed, domain: 'api.test', nonce: 'abcdef0123456789' }))
  assert.equal(await recoverMessageAddress({ message: verified.message, signature: verified.signature }), ADDRESS)
  assert.ok(!('authorization' in api.calls[0].headers), 'the nonce request carries no token')
})

test('a refused sign-in surfaces the API\'s stable error code and keeps no session', async () => {
  const api = fakeApi({
    'POST /v1/auth/nonce': () => [200, { nonce: 'abcdef0123456789', domain: 'api.test', uri: 'http://api.test', chain_id: 31337 }],
    'POST /v1/auth/verify': () => [401, { error: { code: 'unauthorized', message: 'nonce is unknown', details: null } }],
  })
  const c = client(api)
  c.session = null
  await assert.rejects(signIn(c), { name: 'AigcApiError', status: 401, code: 'unauthorized' })
  assert.equal(c.session, null)
})
