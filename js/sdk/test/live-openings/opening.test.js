// Generation openings from JavaScript against a live stack (anvil + `aigc serve` + an ESP worker
// on the bundled model), started by tests/js/test_generation_openings_live.py: the producer pays
// for an image, opens and registers it, and publishes its generation opening (the task's prompt
// and the seed the worker delivered): refused while the image is not attached, then regenerated
// by the API and served to anyone; another account, and another token, know no opening.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { AigcApiError, AigcSdkError, createAigcClient } from '../../src/index.js'

const env = (/** @type {string} */ name) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set: run this through tests/js/test_generation_openings_live.py`)
  return v
}

const rpc = env('AIGC_RPC_URL')
const api = env('AIGC_API_URL')
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
  return createAigcClient({ baseUrl: api, publicClient, walletClient })
}

const timing = { intervalMs: 200, timeoutMs: 120_000 }
const PROMPT = 'a yellow circle on a black background'

/**
 * Retries `fn` while it throws an AigcApiError `not_found` (the indexer has not seen the token yet).
 * @template T
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function indexed(fn) {
  for (let i = 0; ; i++) {
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof AigcApiError && err.code === 'not_found') || i > 300) throw err
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

test('the producer publishes the generation opening of its own token; others know none', { timeout: 600_000 }, async () => {
  const producer = user(env('AIGC_PRODUCER_KEY'))
  const buyer = user(env('AIGC_BUYER_KEY'))
  for (const c of [producer, buyer]) await c.signIn()
  await producer.registerDeliveryKey()

  let task = await producer.postTask({ prompt: PROMPT, maxPrice: 2n * 10n ** 15n, seed: 11n, esp: /** @type {`0x${string}`} */ (env('AIGC_ESP_ADDRESS')) })
  task = await producer.waitForTask({ taskId: task.id, status: 'quoted', ...timing })
  await producer.payFee({ task })
  task = await producer.waitForDelivery({ taskId: task.id, ...timing })
  const seed = String(task.delivery?.generation_seed)
  assert.match(seed, /^[0-9]{1,19}$/, 'the worker delivers the seed it generated with')
  assert.notEqual(seed, '11', 'the generation seed is the worker\'s own, not the requested one')
  const opened = await producer.openDelivery({ task })
  const { tokenId } = await producer.register({ task, contentHash: opened.contentHash })
  await producer.waitForTask({ taskId: task.id, status: 'registered', ...timing })

  // Nothing published yet; the API cannot check an opening before the image is attached.
  assert.equal(await indexed(async () => {
    await producer.getProduct({ tokenId })
    return producer.generationOpening({ tokenId })
  }), null)
  await assert.rejects(producer.publishGenerationOpening({ tokenId }), (err) => {
    assert.ok(err instanceof AigcApiError, String(err))
    assert.equal(err.status, 409)
    assert.equal(err.code, 'image_missing')
    return true
  })
  assert.equal(await producer.generationOpening({ tokenId }), null, 'a refusal stores nothing')

  // Attach the image (PUT /v1/products/{id}/image, its owner's bearer token), then publish.
  const form = new FormData()
  form.append('image', new Blob([opened.image], { type: 'image/png' }), 'image.png')
  const attached = await fetch(`${api}/v1/products/${tokenId}/image`, {
    method: 'PUT', body: form, headers: { authorization: `Bearer ${producer.session?.token}` },
  })
  assert.equal(attached.status, 200, await attached.text())
  const published = await producer.publishGenerationOpening({ tokenId })
  assert.equal(published.taskId.toLowerCase(), task.id.toLowerCase())
  assert.equal(published.opening.tokenId, tokenId)
  assert.equal(published.opening.prompt, PROMPT)
  assert.equal(published.opening.seed, BigInt(seed))
  // The same opening again is accepted (the API answers 200 with the stored one).
  assert.equal((await producer.publishGenerationOpening({ tokenId })).opening.seed, BigInt(seed))

  // Anyone reads it, signed in or not.
  const anonymous = createAigcClient({ baseUrl: api, publicClient })
  const read = await anonymous.generationOpening({ tokenId })
  assert.deepEqual(read?.raw, published.opening.raw)

  // Another account has no task of this image; another token is nobody's delivery.
  await assert.rejects(buyer.publishGenerationOpening({ tokenId }), (err) => err instanceof AigcSdkError && err.code === 'no_generation')
  await assert.rejects(producer.publishGenerationOpening({ tokenId: tokenId ^ 1n }), (err) => err instanceof AigcSdkError && err.code === 'no_generation')
  assert.equal(await producer.generationOpening({ tokenId: tokenId ^ 1n }), null)

  const out = process.env.AIGC_SDK_LIVE_OUT
  if (out) writeFileSync(out, JSON.stringify({ tokenId: tokenId.toString(10), prompt: PROMPT, seed, modelId: read?.modelId }))
})
