import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AigcApiError, AigcSdkError, generationOpening, publishGenerationOpening } from '../src/index.js'
import { client, fakeApi } from './helpers.js'

const TOKEN = 2n ** 255n + 7n
const HASH = `0x${TOKEN.toString(16).padStart(64, '0')}`
const PROMPT = 'a green star on a black background'
const SEED = '9007199254740993' // above 2**53: read as a string, never a float

/** @param {string} id @param {string} contentHash @param {Record<string, unknown>} [extra] */
const task = (id, contentHash, extra = {}) => ({
  id, prompt: PROMPT, status: 'registered', delivery: { content_hash: contentHash, generation_seed: SEED }, ...extra,
})
const opening = { token_id: TOKEN.toString(10), model_id: 'bundled-v1', prompt: PROMPT, seed: SEED }
const other = (/** @type {number} */ i) => task(`0x${String(i).padStart(64, '0')}`, `0x${'ab'.repeat(32)}`)

test('publishGenerationOpening pages through your delivered tasks and PUTs the matching one\'s prompt and generation seed', async () => {
  const mine = task(`0x${'cd'.repeat(32)}`, HASH.toUpperCase().replace('0X', '0x'))
  const api = fakeApi({
    'GET /v1/tasks': ({ url }) => (url.searchParams.get('after') === null
      ? [200, { items: [other(1), other(2)], next: '5-0xnext' }]
      : [200, { items: [other(3), mine], next: null }]),
    [`PUT /v1/products/${TOKEN}/generation`]: ({ body }) => [200, { ...opening, prompt: body.prompt, seed: body.seed }],
  })
  const out = await publishGenerationOpening(client(api), { tokenId: HASH })
  assert.equal(out.taskId, mine.id)
  assert.equal(out.opening.tokenId, TOKEN)
  assert.equal(out.opening.seed, 9007199254740993n)
  assert.equal(out.opening.modelId, 'bundled-v1')
  const [first, second, put] = api.calls
  assert.equal(first.method, 'GET')
  assert.equal(first.path, '/v1/tasks')
  assert.ok(first.headers.authorization.startsWith('Bearer '), 'the tasks are the signed-in producer\'s')
  assert.equal(second.path, '/v1/tasks')
  assert.deepEqual(put.body, { prompt: PROMPT, seed: SEED })
  assert.equal(api.calls.length, 3)
})

test('publishGenerationOpening asks for the delivered statuses, the producer\'s role, full pages and the next cursor', async () => {
  /** @type {URLSearchParams[]} */
  const asked = []
  const api = fakeApi({
    'GET /v1/tasks': ({ url }) => {
      asked.push(url.searchParams)
      return asked.length === 1 ? [200, { items: [other(1)], next: '7-0xcursor' }] : [200, { items: [], next: null }]
    },
  })
  await assert.rejects(publishGenerationOpening(client(api), { tokenId: TOKEN }), (err) => {
    assert.ok(err instanceof AigcSdkError)
    assert.equal(err.code, 'no_generation')
    return true
  })
  assert.equal(asked.length, 2)
  assert.equal(asked[0].get('status'), 'delivered,claimed,registered')
  assert.equal(asked[0].get('role'), 'producer')
  assert.equal(asked[0].get('limit'), '200')
  assert.equal(asked[0].get('after'), null)
  assert.equal(asked[1].get('after'), '7-0xcursor')
  assert.ok(!api.calls.some((c) => c.method === 'PUT'), 'nothing was published')
})

test('a delivery without a generation seed (an older ESP worker) is no_generation_seed, nothing published', async () => {
  const api = fakeApi({
    'GET /v1/tasks': () => [200, { items: [task('0x01', HASH, { delivery: { content_hash: HASH } })], next: null }],
  })
  await assert.rejects(publishGenerationOpening(client(api), { tokenId: TOKEN }), { code: 'no_generation_seed' })
  assert.equal(api.calls.length, 1)
})

test('the API\'s refusals come back as AigcApiError with its code', async () => {
  for (const [status, code] of /** @type {const} */ ([[409, 'image_missing'], [409, 'opening_exists'], [422, 'not_reproduced'], [422, 'model_not_runnable']])) {
    const api = fakeApi({
      'GET /v1/tasks': () => [200, { items: [task('0x01', HASH)], next: null }],
      [`PUT /v1/products/${TOKEN}/generation`]: () => [status, { error: { code, message: 'refused' } }],
    })
    await assert.rejects(publishGenerationOpening(client(api), { tokenId: TOKEN }), (err) => {
      assert.ok(err instanceof AigcApiError)
      assert.equal(err.status, status)
      assert.equal(err.code, code)
      return true
    })
  }
})

test('an answer naming another opening than the one sent is opening_mismatch', async () => {
  const api = fakeApi({
    'GET /v1/tasks': () => [200, { items: [task('0x01', HASH)], next: null }],
    [`PUT /v1/products/${TOKEN}/generation`]: () => [200, { ...opening, prompt: 'something else' }],
  })
  await assert.rejects(publishGenerationOpening(client(api), { tokenId: TOKEN }), { code: 'opening_mismatch' })
})

test('publishGenerationOpening needs a session (the tasks are the signed-in producer\'s)', async () => {
  const api = fakeApi({})
  const c = client(api)
  c.session = null
  await assert.rejects(publishGenerationOpening(c, { tokenId: TOKEN }), { code: 'not_signed_in' })
  assert.equal(api.calls.length, 0)
})

test('generationOpening reads the published opening anonymously, null on 404', async () => {
  const api = fakeApi({ [`GET /v1/products/${TOKEN}/generation`]: () => [200, opening] })
  const c = client(api)
  c.session = null
  const got = await generationOpening(c, { tokenId: HASH })
  assert.equal(got?.prompt, PROMPT)
  assert.equal(got?.seed, 9007199254740993n)
  assert.equal(got?.tokenId, TOKEN)
  assert.ok(!('authorization' in api.calls[0].headers))
  assert.equal(await generationOpening(c, { tokenId: 5n }), null) // the fake API's 404 not_found
  const broken = fakeApi({ [`GET /v1/products/${TOKEN}/generation`]: () => [500, { error: { code: 'internal', message: 'x' } }] })
  await assert.rejects(generationOpening(client(broken), { tokenId: TOKEN }), { code: 'internal' })
})

test('the client binds both as methods', async () => {
  const api = fakeApi({ [`GET /v1/products/${TOKEN}/generation`]: () => [200, opening] })
  const c = client(api)
  assert.equal((await c.generationOpening({ tokenId: TOKEN }))?.modelId, 'bundled-v1')
  assert.equal(typeof c.publishGenerationOpening, 'function')
})
