// addStake: an ESP tops up its stake (EspRegistry.addStake, payable, no arguments) through
// POST /v1/tx/esp/add-stake. The API's transaction must be addStake at the deployment's
// EspRegistry carrying exactly the amount asked: a lying API's ten times the amount, a transfer
// to another address or another call is tx_mismatch, unsent (the wallet would pay it).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { encodeAbiParameters, encodeEventTopics, encodeFunctionData, parseAbiParameters, toEventSelector, toFunctionSelector } from 'viem'
import { addStake, AigcApiError, espStakeAbi } from '../src/index.js'
import { ADDRESS, client, ESP_REGISTRY, fakeApi, HTLC, testWallet } from './helpers.js'

const AMOUNT = 3n * 10n ** 17n
const ATTACKER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const ADD = encodeFunctionData({ abi: espStakeAbi, functionName: 'addStake' })

/** The EspRegistry's EspStakeAdded for `esp` (from `emitter`). */
function added(esp = ADDRESS, emitter = ESP_REGISTRY, stake = 11n * 10n ** 17n) {
  return {
    address: emitter,
    topics: encodeEventTopics({ abi: espStakeAbi, eventName: 'EspStakeAdded', args: { esp } }),
    data: encodeAbiParameters(parseAbiParameters('uint256, uint256'), [AMOUNT, stake]),
  }
}

/** @param {{ answer?: Record<string, unknown> | [number, any], logs?: any[] }} [o] */
function setup({ answer = {}, logs = [added()] } = {}) {
  const api = fakeApi({
    'POST /v1/tx/esp/add-stake': () => (Array.isArray(answer) ? answer : [200, {
      to: ESP_REGISTRY, data: ADD, value: String(AMOUNT), chainId: 31337, gas: 60000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS, ...answer,
    }]),
  })
  /** @type {any[]} */
  const sent = []
  /** @type {any[]} */
  const simulated = []
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: testWallet().walletClient.account,
    sendTransaction: async (/** @type {any} */ req) => { sent.push(req); return `0x${'02'.repeat(32)}` },
  })
  const c = client(api, walletClient)
  c.publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    readContract: async () => { throw new Error('no reads here') }, // the deployment's domains: defaults
    call: async (/** @type {any} */ req) => { simulated.push(req); return { data: undefined } },
    waitForTransactionReceipt: async () => ({ status: 'success', logs }),
  })
  const bodies = () => api.calls.filter((x) => x.path === '/v1/tx/esp/add-stake').map((x) => x.body)
  return { c, sent, simulated, bodies }
}

test('addStake posts the amount as a decimal string, simulates and sends addStake with exactly it to the EspRegistry', async () => {
  const { c, sent, simulated, bodies } = setup()
  const out = await addStake(c, { amount: AMOUNT })
  assert.deepEqual(bodies(), [{ amount: String(AMOUNT) }])
  assert.deepEqual(sent.map((s) => [s.to, s.data, s.value]), [[ESP_REGISTRY, ADD, AMOUNT]])
  assert.deepEqual(simulated.map((s) => [s.to, s.value]), [[ESP_REGISTRY, AMOUNT]])
  assert.deepEqual(out, { hash: `0x${'02'.repeat(32)}`, amount: AMOUNT, stake: 11n * 10n ** 17n })
  // an EspStakeAdded of another ESP, or from another contract, is not read as yours
  for (const logs of [[added(ATTACKER)], [added(ADDRESS, HTLC)], []]) {
    assert.equal((await addStake(setup({ logs }).c, { amount: AMOUNT })).stake, null)
  }
})

test('a lying API\'s top-up (ten times the amount, none, to another address, another call) is tx_mismatch, unsent', async () => {
  /** @type {[string, Record<string, unknown>][]} */
  const lies = [
    ['ten times the amount', { value: String(10n * AMOUNT) }],
    ['no Ether (the stake unchanged, the gas spent)', { value: '0' }],
    ['to the attacker', { to: ATTACKER, data: '0x' }],
    ['to the HTLC', { to: HTLC }],
    ['another call', { data: encodeFunctionData({ abi: espStakeAbi, functionName: 'espInfo', args: [ADDRESS] }) }],
  ]
  for (const [what, answer] of lies) {
    const { c, sent, simulated } = setup({ answer })
    await assert.rejects(addStake(c, { amount: AMOUNT }), { code: 'tx_mismatch' }, what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
})

test('no amount, 0 or a negative one is refused before the API is asked; the API\'s 409 comes back typed', async () => {
  const { c, bodies } = setup()
  await assert.rejects(addStake(c, { amount: 0n }), { code: 'bad_amount' })
  await assert.rejects(addStake(c, { amount: -1n }), RangeError) // a value of the wrong kind, as everywhere
  await assert.rejects(addStake(c, /** @type {any} */ ({})), { code: 'missing_param' })
  assert.equal(bodies().length, 0)
  const refused = setup({ answer: [409, { error: { code: 'EspNotRegistered', message: 'EspNotRegistered(esp=...)', fields: { esp: ADDRESS } } }] })
  const err = await addStake(refused.c, { amount: AMOUNT }).catch((e) => e)
  assert.ok(err instanceof AigcApiError)
  assert.deepEqual([err.status, err.code, refused.sent.length], [409, 'EspNotRegistered', 0])
})

test('espStakeAbi: every fragment is the compiled EspRegistry\'s', () => {
  const url = new URL('../../../contracts/artifacts/EspRegistry.json', import.meta.url)
  const compiled = JSON.parse(readFileSync(url, 'utf8')).abi
  for (const item of espStakeAbi) {
    const sel = item.type === 'event' ? toEventSelector(item) : toFunctionSelector(/** @type {any} */ ({ ...item, type: 'function' }))
    const match = compiled.find((/** @type {any} */ c) => c.type === item.type && c.name === item.name
      && (c.type === 'event' ? toEventSelector(c) : toFunctionSelector({ ...c, type: 'function' })) === sel)
    assert.ok(match, `EspRegistry.${item.name}`)
    if (item.type === 'function') assert.equal(match.stateMutability, item.stateMutability, item.name)
  }
})
