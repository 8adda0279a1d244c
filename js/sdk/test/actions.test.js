// Actions against a fake API and a wallet that may not send: the guards refuse before any
// transaction leaves, and the numbers and shapes the API sends are normalised.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { privateKeyToAccount } from 'viem/accounts'
import {
  defaultDomains, getDeployment, latestQuoteDeadline, listEsps, payFee, payTrade, postTask, promptCommitment, QUOTE_TYPES, register, toTask,
} from '../src/index.js'
import { ADDRESS, client, ESP_REGISTRY, fakeApi, HEALTH, HTLC, localPublicClient, REGISTRY, testWallet } from './helpers.js'

const ESP_KEY = /** @type {`0x${string}`} */ (`0x${'22'.repeat(32)}`)
const esp = privateKeyToAccount(ESP_KEY)
const MALLORY_KEY = /** @type {`0x${string}`} */ (`0x${'33'.repeat(32)}`)

/** @param {Record<string, any>} over */
const SALT = /** @type {`0x${string}`} */ (`0x${'5a'.repeat(32)}`)

function quotedTask(over = {}) {
  return {
    id: `0x${'aa'.repeat(32)}`,
    producer: ADDRESS,
    esp: esp.address,
    prompt: 'a red circle',
    // the producer reads its prompt and salt; the commitment they open is what the ESP quoted on
    prompt_salt: SALT,
    prompt_commitment: promptCommitment('a red circle', SALT),
    seed: 5,
    max_price: '2000000000000000',
    status: 'quoted',
    price: '1000000000000000',
    hashlock: `0x${'ab'.repeat(32)}`,
    deadline: 1700003600,
    quote_signature: null,
    lock: null,
    lock_id: null,
    delivery: null,
    ...over,
  }
}

/** @param {`0x${string}`} key @param {any} task */
async function signQuote(key, task) {
  const t = toTask(task)
  return privateKeyToAccount(key).signTypedData({
    domain: defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).quote,
    types: QUOTE_TYPES,
    primaryType: 'Quote',
    message: {
      sender: t.producer, receiver: t.esp, asset: 0, token: '0x0000000000000000000000000000000000000000',
      amount: /** @type {bigint} */ (t.price), hashlock: /** @type {`0x${string}`} */ (t.hashlock), timelock: /** @type {bigint} */ (t.deadline),
    },
  })
}

test('the deployment falls back to /healthz addresses, the SDK\'s ABIs and the default domains', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH] })
  const dep = await getDeployment(client(api)) // the stand-in publicClient cannot read eip712Domain()
  assert.equal(dep.source, 'healthz')
  assert.equal(dep.chainId, 31337)
  assert.deepEqual(dep.addresses, { registry: REGISTRY, espRegistry: ESP_REGISTRY, htlc: HTLC, batchRegistry: null, batchCourt: null })
  assert.deepEqual(dep.domains.offer, { name: 'Proof-of-AIGC', version: '2', chainId: 31337, verifyingContract: REGISTRY })
})

test('without /v1/deployment, each domain is read from its contract (ERC-5267)', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH] })
  const c = client(api)
  const reads = /** @type {string[]} */ ([])
  c.publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    request: async (/** @type {any} */ { method, params }) => {
      if (method !== 'eth_call') throw new Error(method)
      reads.push(params[0].to)
      const name = params[0].to.toLowerCase() === REGISTRY.toLowerCase() ? 'On-chain name' : 'EspRegistry'
      const { encodeAbiParameters } = await import('viem')
      return encodeAbiParameters(
        [{ type: 'bytes1' }, { type: 'string' }, { type: 'string' }, { type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint256[]' }],
        ['0x0f', name, '7', 31337n, params[0].to, `0x${'00'.repeat(32)}`, []],
      )
    },
  })
  const dep = await getDeployment(c)
  assert.deepEqual(reads.map((a) => a.toLowerCase()).sort(), [REGISTRY, ESP_REGISTRY].map((a) => a.toLowerCase()).sort())
  assert.deepEqual(dep.domains.offer, { name: 'On-chain name', version: '7', chainId: 31337, verifyingContract: REGISTRY })
  assert.equal(dep.domains.quote.name, 'EspRegistry')
})

test('the deployment the API serves wins: its domains and ABIs are used', async () => {
  const abi = [{ type: 'function', name: 'x', inputs: [], outputs: [], stateMutability: 'view' }]
  const api = fakeApi({
    'GET /v1/deployment': () => [200, {
      chain_id: '31337',
      contracts: { Registry: { address: REGISTRY, abi }, EspRegistry: { address: ESP_REGISTRY }, HashTimeLock: { address: HTLC } },
      eip712: { Offer: { domain: { name: 'Proof-of-AIGC', version: '2', chainId: '31337', verifyingContract: REGISTRY }, types: { Offer: [{ name: 'tokenId', type: 'uint256' }] } } },
    }],
  })
  const dep = await getDeployment(client(api))
  assert.equal(dep.source, 'api')
  assert.deepEqual(dep.domains.offer, { name: 'Proof-of-AIGC', version: '2', chainId: 31337, verifyingContract: REGISTRY })
  assert.deepEqual(dep.abis.registry, abi)
  assert.equal(dep.domains.quote.name, 'EspRegistry')
  assert.deepEqual(dep.types.offer, { Offer: [{ name: 'tokenId', type: 'uint256' }] })
  assert.equal(dep.types.quote, QUOTE_TYPES)
})

test('payFee refuses a quote not signed by the task\'s ESP before any transaction', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH] })
  const { walletClient, sent } = testWallet()
  const task = quotedTask()
  task.quote_signature = await signQuote(MALLORY_KEY, task) // Mallory quotes in the ESP's name
  await assert.rejects(payFee(client(api, walletClient), { task: toTask(task) }), { code: 'bad_quote' })
  assert.equal(sent.length, 0)
  assert.ok(!api.calls.some((c) => c.path.startsWith('/v1/tx/')), 'no lock was even built')
})

test('payFee refuses a quote for other terms (a higher price than signed)', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH] })
  const { walletClient, sent } = testWallet()
  const task = quotedTask()
  task.quote_signature = await signQuote(ESP_KEY, task)
  task.price = '1000000000000001'
  await assert.rejects(payFee(client(api, walletClient), { task: toTask(task) }), { code: 'bad_quote' })
  assert.equal(sent.length, 0)
})

test('payFee refuses a quote whose deadline outlasts the registration window, before any transaction', async () => {
  // An ESP quoting a 30-day deadline could claim (deliver) after the Registry's window closed:
  // the paid image could never be registered. The bound is the chain's own: the HashTimeLock's
  // claimWindow (the last block a fee may be claimed in, deployed from
  // ledger.deploy.claim_window_blocks), never a copy of its formula here nor the API's word.
  const now = 1_700_000_000n
  const reads = /** @type {any[]} */ ([])
  const publicClient = {
    getChainId: async () => 31337,
    ...localPublicClient,
    getBlock: async () => ({ timestamp: now }),
    readContract: async (/** @type {any} */ args) => {
      if (args.functionName !== 'claimWindow') throw new Error(`no ${args.functionName} here`)
      reads.push(args)
      return 6000n // any deployment's window: not derived here from the Registry's
    },
  }
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH] })
  const { walletClient, sent } = testWallet()
  const late = quotedTask({ deadline: Number(now) + 6000 * 12 + 1 })
  late.quote_signature = await signQuote(ESP_KEY, late)
  const c = client(api, walletClient)
  c.publicClient = /** @type {any} */ (publicClient)
  const bound = now + 6000n * 12n // the claim window's blocks at 12 s
  assert.equal(latestQuoteDeadline(now, 6000n), bound)
  await assert.rejects(payFee(c, { task: toTask(late) }), (/** @type {any} */ err) => {
    assert.equal(err.code, 'deadline_beyond_registration_window')
    assert.ok(err.message.includes(String(late.deadline)) && err.message.includes(String(bound)), err.message)
    return true
  })
  assert.equal(sent.length, 0)
  assert.ok(!api.calls.some((c) => c.path.startsWith('/v1/tx/')), 'no lock was even built')
  assert.deepEqual(reads.map((r) => r.address), [HTLC]) // the HashTimeLock's own window
})

test('payFee refuses a task that is not yours or not quoted', async () => {
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH] })
  const other = testWallet(MALLORY_KEY)
  await assert.rejects(payFee(client(api, other.walletClient), { task: toTask(quotedTask()) }), { code: 'not_producer' })
  await assert.rejects(payFee(client(api), { task: toTask(quotedTask({ status: 'posted' })) }), { code: 'not_quoted' })
  assert.equal(other.sent.length, 0)
})

test('payTrade refuses a token lock that does not hold the token for the buyer', async () => {
  const assetLock = {
    sender: esp.address, receiver: esp.address /* not the buyer */, asset: 2, token: REGISTRY,
    amount: '7', hashlock: `0x${'cd'.repeat(32)}`, timelock: 1700007200,
  }
  const trade = {
    id: 1, listing_id: 1, token_id: `0x${'0'.repeat(63)}7`, seller: esp.address, buyer: ADDRESS,
    price: '5', status: 'asset_locked', hashlock: assetLock.hashlock, asset_lock: assetLock,
    payment_lock: null, royalty_lock: null, secret: null,
  }
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'GET /v1/trades/1': () => [200, trade] })
  const { walletClient, sent } = testWallet()
  await assert.rejects(payTrade(client(api, walletClient), { tradeId: 1 }), { code: 'bad_token_lock' })
  assert.ok(!api.calls.some((c) => c.path.endsWith('/payment-tx')))
  assert.equal(sent.length, 0)
})

test('register refuses an image whose hash differs from the attested one, before committing', async () => {
  const api = fakeApi({})
  const task = toTask(quotedTask({
    status: 'claimed',
    lock: { sender: ADDRESS, receiver: esp.address, asset: 'ETHER', token: '0x0000000000000000000000000000000000000000', amount: '1', hashlock: `0x${'ab'.repeat(32)}`, timelock: 1 },
    delivery: { content_hash: `0x${'01'.repeat(32)}`, fingerprint: `0x${'02'.repeat(32)}`, detail: '0x03', model_id: `0x${'00'.repeat(32)}`, attestation: '0x' },
  }))
  await assert.rejects(register(client(api), { task, contentHash: `0x${'09'.repeat(32)}` }), { code: 'hash_mismatch' })
  assert.equal(api.calls.length, 0)
})

/** The API's answer to a posted task: the commitment of the prompt under the salt sent. */
function postedTask(/** @type {any} */ body) {
  return quotedTask({
    status: 'posted', prompt: body.prompt, max_price: body.max_price, seed: Number(body.seed),
    prompt_salt: body.prompt_salt, prompt_commitment: promptCommitment(body.prompt, body.prompt_salt),
  })
}

test('postTask sends BigInt amounts as exact decimal strings and reads numbers in any form', async () => {
  const api = fakeApi({ 'POST /v1/tasks': ({ body }) => [201, postedTask(body)] })
  const task = await postTask(client(api), { prompt: 'p', maxPrice: 1234567890123456789n, seed: 5 })
  const salt = api.calls[0].body.prompt_salt
  assert.match(salt, /^0x[0-9a-f]{64}$/)
  assert.deepEqual(api.calls[0].body, { prompt: 'p', prompt_salt: salt, max_price: '1234567890123456789', seed: '5' })
  assert.equal(task.maxPrice, 1234567890123456789n)
  assert.equal(task.seed, 5n)
  assert.equal(api.calls[0].headers.authorization, 'Bearer t')
})

test('the prompt commitment is the server\'s (pinned in tests/api/test_task_lifecycle.py)', () => {
  const salt = /** @type {`0x${string}`} */ (`0x${Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('')}`)
  assert.equal(promptCommitment('a red circle', salt), '0xfb1645c80e03ed5c4d37846fee0c49514f090c004daa61ba540b6ff9c8846fd7')
  assert.equal(promptCommitment('\u00e9\u{1F642}', `0x${'00'.repeat(32)}`), '0x73b43a367ca6cbacc5857648013357c760ebd53426d87c337b3f595c9a1d4cde')
  assert.throws(() => promptCommitment('p', '0x12'), { code: 'bad_salt' })
})

test('postTask draws a fresh salt each time and refuses a commitment to another prompt', async () => {
  const api = fakeApi({ 'POST /v1/tasks': ({ body }) => [201, postedTask(body)] })
  const a = await postTask(client(api), { prompt: 'a fox', maxPrice: 1n })
  const b = await postTask(client(api), { prompt: 'a fox', maxPrice: 1n })
  assert.notEqual(a.promptSalt, b.promptSalt)
  assert.equal(a.promptCommitment, promptCommitment('a fox', /** @type {`0x${string}`} */ (a.promptSalt)))
  const salt = /** @type {`0x${string}`} */ (`0x${'07'.repeat(32)}`)
  const chosen = await postTask(client(api), { prompt: 'a fox', maxPrice: 1n, promptSalt: salt })
  assert.equal(chosen.promptSalt, salt)
  const lying = fakeApi({ 'POST /v1/tasks': ({ body }) => [201, postedTask({ ...body, prompt: 'a wolf' })] })
  await assert.rejects(postTask(client(lying), { prompt: 'a fox', maxPrice: 1n }), { code: 'prompt_commitment_mismatch' })
})

test('listEsps normalises prices and stakes to BigInt', async () => {
  const api = fakeApi({
    'GET /v1/esps': () => [200, { viewer: ADDRESS, temperature: 0.15, floor: 0.2, items: [
      { address: esp.address, endpoint: 'http://esp', price: 1000000000000000, stake: '100000000000000000', challenges_lost: 0, reputation: 0.5, selection_probability: 1 },
    ] }],
  })
  const out = await listEsps(client(api))
  assert.equal(out.items[0].price, 10n ** 15n)
  assert.equal(out.items[0].stake, 10n ** 17n)
})

test('a non-JSON error (a proxy\'s 502) becomes an AigcApiError with code http_error', async () => {
  const api = fakeApi({ 'GET /v1/esps': () => [502, 'Bad Gateway'] })
  await assert.rejects(listEsps(client(api)), { name: 'AigcApiError', status: 502, code: 'http_error' })
})

test('a 429 carries the server\'s Retry-After (seconds) for the caller to wait', async () => {
  const api = fakeApi({
    'POST /v1/tasks': () => [429, { error: { code: 'rate_limited', message: 'slow down', details: null } }, { 'retry-after': '17' }],
  })
  await assert.rejects(postTask(client(api), { prompt: 'p', maxPrice: 1n }), { status: 429, code: 'rate_limited', retryAfter: 17 })
})
