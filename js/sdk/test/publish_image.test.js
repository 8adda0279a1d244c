import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AigcApiError, AigcSdkError, publishImage } from '../src/index.js'
import { client, fakeApi } from './helpers.js'

const TOKEN = 2n ** 255n + 7n
const HASH = `0x${TOKEN.toString(16).padStart(64, '0')}`
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])
const PRODUCER = '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A'
/** @param {Record<string, unknown>} [extra] */
const product = (extra = {}) => ({
  token_id: TOKEN.toString(10), producer: PRODUCER, owner: PRODUCER, esp: PRODUCER, seed: '1',
  registered_block: 3, priority_block: 2, status: 'active', has_image: true, attestation: 'matches', ...extra,
})

test('publishImage PUTs the PNG bytes as the multipart field "image", signed in, and reads the product back', async () => {
  /** @type {Blob[]} */
  const sent = []
  const api = fakeApi({
    [`PUT /v1/products/${TOKEN}/image`]: ({ body }) => {
      assert.ok(body instanceof FormData, 'a multipart body')
      const file = body.get('image')
      assert.ok(file instanceof Blob)
      assert.equal(file.type, 'image/png')
      sent.push(file)
      return [200, product()]
    },
  })
  const out = await publishImage(client(api), { tokenId: HASH, image: PNG })
  assert.equal(out.tokenId, TOKEN)
  assert.equal(out.hasImage, true)
  assert.equal(out.raw.attestation, 'matches')
  const [put] = api.calls
  assert.equal(put.method, 'PUT')
  assert.equal(put.path, `/v1/products/${TOKEN}/image`)
  assert.ok(put.headers.authorization.startsWith('Bearer '))
  assert.equal(put.headers['content-type'], undefined, 'fetch sets the multipart boundary itself')
  assert.deepEqual(new Uint8Array(await sent[0].arrayBuffer()), PNG)
})

test('publishImage takes a Blob too', async () => {
  const api = fakeApi({ [`PUT /v1/products/${TOKEN}/image`]: () => [200, product()] })
  const out = await publishImage(client(api), { tokenId: TOKEN, image: new Blob([PNG], { type: 'image/png' }) })
  assert.equal(out.tokenId, TOKEN)
  const file = /** @type {Blob} */ (api.calls[0].body.get('image'))
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), PNG)
})

test('publishImage refuses bytes that are not a PNG before sending anything', async () => {
  const api = fakeApi({})
  await assert.rejects(publishImage(client(api), { tokenId: TOKEN, image: new Uint8Array([0xff, 0xd8, 0xff, 0xe0]) }), (err) => {
    assert.ok(err instanceof AigcSdkError)
    assert.equal(err.code, 'not_png')
    return true
  })
  assert.equal(api.calls.length, 0)
})

for (const [status, code] of /** @type {const} */ ([[422, 'hash_mismatch'], [404, 'not_found'], [401, 'unauthorized'], [413, 'payload_too_large']])) {
  test(`publishImage passes the API's ${status} ${code} on as an AigcApiError`, async () => {
    const api = fakeApi({
      [`PUT /v1/products/${TOKEN}/image`]: () => [status, { error: { code, message: `refused: ${code}` } }],
    })
    await assert.rejects(publishImage(client(api), { tokenId: TOKEN, image: PNG }), (err) => {
      assert.ok(err instanceof AigcApiError)
      assert.equal(err.status, status)
      assert.equal(err.code, code)
      return true
    })
  })
}

test('publishImage refuses an answer about another token', async () => {
  const api = fakeApi({ [`PUT /v1/products/${TOKEN}/image`]: () => [200, product({ token_id: '5' })] })
  await assert.rejects(publishImage(client(api), { tokenId: TOKEN, image: PNG }), (err) => {
    assert.ok(err instanceof AigcSdkError)
    assert.equal(err.code, 'product_mismatch')
    return true
  })
})

test('publishImage needs a session', async () => {
  const api = fakeApi({})
  const c = client(api)
  c.session = null
  await assert.rejects(publishImage(c, { tokenId: TOKEN, image: PNG }), (err) => {
    assert.ok(err instanceof AigcApiError)
    assert.equal(err.code, 'not_signed_in')
    return true
  })
  assert.equal(api.calls.length, 0)
})
