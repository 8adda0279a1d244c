import assert from 'node:assert/strict'
import { test } from 'node:test'
import { getProduct, listListings } from '../src/index.js'
import { ADDRESS, client, fakeApi } from './helpers.js'

const BIG = 2n ** 255n + 7n

test('getProduct asks for the decimal id, anonymously, and reads a decimal or hex id back', async () => {
  const product = {
    token_id: BIG.toString(10), fingerprint: '0x01', producer: ADDRESS.toLowerCase(), owner: ADDRESS, esp: ADDRESS,
    task_id: '0x02', model_id: '0x03', seed: '9007199254740993', registered_block: 5, priority_block: 4,
    detail_hash: null, status: 'active', has_image: true, metadata_uri: '', history: [],
  }
  const api = fakeApi({ [`GET /v1/products/${BIG}`]: () => [200, product] })
  const c = client(api)
  c.session = null
  const p = await getProduct(c, { tokenId: `0x${BIG.toString(16)}` })
  assert.equal(p.tokenId, BIG)
  assert.equal(p.seed, 9007199254740993n)
  assert.equal(p.producer, ADDRESS)
  assert.ok(!('authorization' in api.calls[0].headers))
})

test('listListings passes the status filter and normalises each listing', async () => {
  const api = fakeApi({
    'GET /v1/listings': ({ url }) => [200, { items: [{ id: 1, token_id: `0x${'0'.repeat(63)}7`, seller: ADDRESS, price: 5, expiry: '9', nonce: '1', signature: '0x12', status: url.searchParams.get('status') }] }],
  })
  const [l] = await listListings(client(api), { status: 'sold' })
  assert.equal(l.status, 'sold')
  assert.equal(l.tokenId, 7n)
  assert.equal(l.price, 5n)
})
