// The actions' argument guard (src/params.js): a missing parameter object, required field or
// client is a named AigcSdkError, as a rejected promise, before anything is sent or signed.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as sdk from '../src/index.js'
import { REQUIRED } from '../src/params.js'
import { client, fakeApi, testWallet } from './helpers.js'

test('every guarded action is an export and a method of the client', () => {
  const c = client(fakeApi({}))
  for (const name of Object.keys(REQUIRED)) {
    assert.equal(typeof (/** @type {any} */ (sdk))[name], 'function', name)
    assert.equal(typeof (/** @type {any} */ (c))[name], 'function', name)
  }
})

test('each action with required fields refuses a call without them, sending and signing nothing', async () => {
  const api = fakeApi({})
  const { walletClient, sent } = testWallet()
  const c = /** @type {any} */ (client(api, walletClient))
  for (const [name, fields] of Object.entries(REQUIRED)) {
    if (fields.length === 0) continue
    const none = c[name]()
    assert.ok(none instanceof Promise, name)
    await assert.rejects(none, (/** @type {any} */ e) => e instanceof sdk.AigcSdkError && e.code === 'missing_param', `${name}()`)
    await assert.rejects(c[name]({}), (/** @type {any} */ e) => e.code === 'missing_param' && fields.every((f) => e.message.includes(`params.${f}`)), `${name}({})`)
  }
  assert.deepEqual(api.calls, [])
  assert.deepEqual(sent, [])
})

test('a standalone action without the client first is missing_client', async () => {
  await assert.rejects(/** @type {any} */ (sdk.getTask)({ taskId: `0x${'aa'.repeat(32)}` }), { code: 'missing_client' })
  await assert.rejects(/** @type {any} */ (sdk.signIn)(), { code: 'missing_client' })
})

test('createAigcClient without its options is missing_param', () => {
  assert.throws(() => /** @type {any} */ (sdk.createAigcClient)(), { code: 'missing_param' })
  assert.throws(() => sdk.createAigcClient(/** @type {any} */ ({ publicClient: {} })), { code: 'missing_param' })
  assert.throws(() => sdk.createAigcClient(/** @type {any} */ ({ baseUrl: 'http://api.test' })), { code: 'missing_param' })
})
