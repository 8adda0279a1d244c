// The BatchCourt (a batched original against a single copy) and the settle of an upheld batch
// or court challenge after its reward hold, against a fake API and chain: each step posts the pair as decimal strings, sends
// only the call it asked for on the deployment's contract, and a refusal names the contract's
// custom error (the API's 409, or the SDK's own simulation).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  BaseError, encodeAbiParameters, encodeErrorResult, encodeEventTopics, encodeFunctionData, parseAbiParameters, RawContractError,
  toEventSelector, toFunctionSelector,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  AigcApiError, AigcContractError, batchCourtAbi, batchRegistryAbi, courtChallenge, courtContest, courtFinalize, courtReinstate, courtResolve,
  courtRevokeDuplicateItem, courtSettle, createAigcClient,
  DISPUTE_STATES, getCourtDispute, settleBatch, tokenId, toContractError,
} from '../src/index.js'
import { ADDRESS, fakeApi, HEALTH, KEY } from './helpers.js'

const COURT = '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9'
const BATCH = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9'
const OTHER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const O = tokenId(3, 1)
const D = 2n ** 200n + 5n // a single registration's content-hash id
/** @param {number} n */
const word = (n) => /** @type {`0x${string}`} */ (`0x${n.toString(16).padStart(64, '0')}`)
const RECORD = { fingerprint: word(1), detailHash: word(2), esp: OTHER, priorityBlock: 5n, commitBlock: 6n, revealBlock: 7n }
const OPENING = { contentHash: word(3), seed: 9n, proof: [word(4)], record: { ...RECORD, esp: '0x0000000000000000000000000000000000000000' } }

/**
 * The calldata the API builds for each step about (o, d).
 * @param {bigint} o
 * @param {bigint} d
 * @returns {Record<string, `0x${string}`>}
 */
function calldata(o = O, d = D) {
  return {
    challenge: encodeFunctionData({ abi: batchCourtAbi, functionName: 'challenge', args: [o, word(7), [word(8)], d, RECORD] }),
    contest: encodeFunctionData({ abi: batchCourtAbi, functionName: 'contest', args: [o, d] }),
    resolve: encodeFunctionData({ abi: batchCourtAbi, functionName: 'resolve', args: [o, d, '0xdead', OPENING, '0xbeef', RECORD] }),
    finalize: encodeFunctionData({ abi: batchCourtAbi, functionName: 'finalize', args: [o, d, RECORD] }),
    settle: encodeFunctionData({ abi: batchRegistryAbi, functionName: 'settle', args: [o, d] }),
    courtSettle: encodeFunctionData({ abi: batchCourtAbi, functionName: 'settle', args: [o, d] }),
  }
}

/**
 * A log of the court's `eventName` about (O, D), from `emitter` (a decision in `state`).
 * @param {'ChallengeOpened' | 'ChallengeDecided'} eventName
 * @param {string} [emitter]
 * @param {number} [state]
 */
function courtLog(eventName, emitter = COURT, state = 3) {
  if (eventName === 'ChallengeOpened') {
    return {
      address: emitter,
      topics: encodeEventTopics({ abi: batchCourtAbi, eventName, args: { original: O, duplicate: D, challenger: ADDRESS } }),
      data: encodeAbiParameters(parseAbiParameters('uint256, uint64'), [12n, 140n]),
    }
  }
  return {
    address: emitter,
    topics: encodeEventTopics({ abi: batchCourtAbi, eventName, args: { original: O, duplicate: D } }),
    data: encodeAbiParameters(parseAbiParameters('uint8, bool'), [state, false]),
  }
}

/**
 * A client over a fake API (`answers`: each route's calldata, `to`, `value`, or [status, body])
 * and a fake chain that records simulations and sends, mines every transaction with `logs`,
 * and reverts a simulation with `revert` (a viem-shaped error) when set.
 * @param {{ answers?: Record<string, any>, contracts?: Record<string, string>, revert?: unknown, logs?: any[] }} [o]
 */
function courtClient({ answers = {}, contracts = { ...HEALTH.contracts, BatchRegistry: BATCH, BatchCourt: COURT }, revert, logs = [] } = {}) {
  /** @type {any[]} */
  const bodies = []
  /** @type {any[]} */
  const sent = []
  /** @type {any[]} */
  const simulated = []
  const data = calldata()
  const routes = Object.fromEntries(['challenge', 'contest', 'resolve', 'finalize', 'settle', 'courtSettle'].map((step) => {
    const path = step === 'settle' ? '/v1/tx/batch/settle' : step === 'courtSettle' ? '/v1/tx/batch/court/settle' : `/v1/tx/batch/court/${step}`
    return [`POST ${path}`, (/** @type {any} */ { body }) => {
      bodies.push({ step, body })
      const a = answers[step] ?? {}
      if (Array.isArray(a)) return a
      const tx = {
        to: a.to ?? (step === 'settle' ? BATCH : COURT),
        data: a.data ?? data[step],
        value: a.value ?? (step === 'challenge' || step === 'contest' ? '1000' : '0'),
        chainId: 31337, gas: 300000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS,
      }
      return /** @type {[number, any]} */ ([200, tx])
    }]
  }))
  const api = fakeApi({ 'GET /v1/deployment': () => [200, { chain_id: 31337, contracts }], ...routes })
  const publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    call: async (/** @type {any} */ req) => {
      simulated.push(req)
      if (revert) throw revert
      return { data: undefined }
    },
    readContract: async (/** @type {any} */ req) => {
      if (req.functionName === 'parameters') {
        assert.equal(req.address, HEALTH.contracts.Registry) // the deposit is the chain's Registry's
        return { bond: 10n ** 16n, challengeDeposit: 1000n }
      }
      assert.equal(req.functionName, 'disputeOf')
      return { challenger: ADDRESS, deadline: 140n, state: 2, contester: OTHER, slash: 0n, recordHash: word(5), address: req.address, args: req.args }
    },
    waitForTransactionReceipt: async () => ({ status: 'success', logs }),
  })
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: privateKeyToAccount(KEY),
    sendTransaction: async (/** @type {any} */ req) => {
      sent.push(req)
      return word(sent.length)
    },
  })
  const c = createAigcClient({ baseUrl: 'http://api.test', publicClient, walletClient, fetch: api.fetch })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  return { c, api, bodies, sent, simulated }
}

/**
 * A viem-shaped revert of `errorName` (the node's data under a wrapping error).
 * @param {any} errorName
 * @param {readonly unknown[]} args
 */
function reverted(errorName, args) {
  const data = encodeErrorResult({ abi: batchCourtAbi, errorName, args: /** @type {any} */ (args) })
  return new BaseError('execution reverted', { cause: new RawContractError({ data }) })
}

test('the court steps post the pair as decimal strings, simulate, and send only that call to the deployment\'s court', async () => {
  const { c, bodies, sent, simulated } = courtClient({ logs: [courtLog('ChallengeOpened'), courtLog('ChallengeDecided')] })
  const pair = { original: O, duplicate: `0x${D.toString(16)}` }
  assert.deepEqual(await c.courtChallenge(pair), { hash: word(1), deadline: 140n })
  assert.deepEqual(await c.courtContest(pair), { hash: word(2) })
  assert.deepEqual(await c.courtResolve(pair), { hash: word(3), upheld: true, state: 'upheld' })
  assert.deepEqual(await c.courtFinalize({ original: String(O), duplicate: D }), { hash: word(4), upheld: true, state: 'upheld' })
  assert.deepEqual(bodies.map((b) => b.step), ['challenge', 'contest', 'resolve', 'finalize'])
  for (const { body } of bodies) assert.deepEqual(body, { original: String(O), duplicate: String(D) })
  const data = calldata()
  assert.deepEqual(sent.map((s) => [s.to, s.data, s.value]), [
    [COURT, data.challenge, 1000n], [COURT, data.contest, 1000n], [COURT, data.resolve, 0n], [COURT, data.finalize, 0n],
  ])
  // each was simulated from the wallet first, exactly as sent
  assert.deepEqual(simulated.map((s) => [s.account, s.to, s.data, s.value]), sent.map((s) => [ADDRESS, s.to, s.data, s.value]))
})

test('a court event from another contract, or none, is not read as the court\'s', async () => {
  const forged = courtClient({ logs: [courtLog('ChallengeOpened', OTHER), courtLog('ChallengeDecided', OTHER)] })
  assert.equal((await courtChallenge(forged.c, { original: O, duplicate: D })).deadline, null)
  assert.deepEqual(await courtFinalize(forged.c, { original: O, duplicate: D }), { hash: word(2), upheld: null, state: null })
})

test('an API court transaction about another pair, step or contract, or one that pays a free step, is refused unsent', async () => {
  const other = calldata(O, D + 1n)
  const swapped = calldata(D, O)
  /** @type {[string, string, any][]} */
  const lies = [
    ['challenge', 'another duplicate', { data: other.challenge }],
    ['challenge', 'the pair swapped', { data: swapped.challenge }],
    ['contest', 'another function', { data: calldata().finalize }],
    ['finalize', 'the BatchRegistry\'s finalize', { data: encodeFunctionData({ abi: batchRegistryAbi, functionName: 'finalize', args: [O, D] }) }],
    ['resolve', 'no call at all', { data: '0x1234' }],
    ['resolve', 'not hex', { data: 'resolve' }],
    ['challenge', 'another contract (the deposit would be lost)', { to: OTHER }],
    ['finalize', 'Ether on a free step', { value: '5' }],
    ['challenge', 'ten deposits', { value: '10000' }],
    ['challenge', 'a wei above the deposit', { value: '1001' }],
    ['contest', 'no deposit', { value: '0' }],
  ]
  const steps = { challenge: courtChallenge, contest: courtContest, resolve: courtResolve, finalize: courtFinalize }
  for (const [step, what, answer] of lies) {
    const { c, sent, simulated } = courtClient({ answers: { [step]: answer } })
    await assert.rejects(steps[/** @type {keyof typeof steps} */ (step)](c, { original: O, duplicate: D }), { name: 'AigcSdkError', code: 'tx_mismatch' }, what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
})

test('the court\'s address: the one given overrides the API\'s deployment; a deployment without a court is no_court', async () => {
  const { c, sent } = courtClient()
  await assert.rejects(courtContest(c, { original: O, duplicate: D, batchCourt: OTHER }), { code: 'tx_mismatch' })
  assert.equal(sent.length, 0)
  const moved = courtClient({ answers: { contest: { to: OTHER } } })
  await courtContest(moved.c, { original: O, duplicate: D, batchCourt: OTHER.toLowerCase() })
  assert.equal(moved.sent.length, 1)
  const old = courtClient({ contracts: { ...HEALTH.contracts, BatchRegistry: BATCH } })
  await assert.rejects(courtChallenge(old.c, { original: O, duplicate: D }), { name: 'AigcSdkError', code: 'no_court' })
  assert.equal((await old.c.getDeployment()).addresses.batchCourt, null)
  assert.equal(old.api.calls.filter((x) => x.method === 'POST').length, 0)
  assert.equal((await courtClient().c.getDeployment()).addresses.batchCourt, COURT)
})

test('the court\'s refusal as the API builds the call: AigcApiError with the error\'s name and its fields', async () => {
  const envelope = { error: { code: 'CourtNotOwner', message: 'CourtNotOwner(...)', fields: { tokenId: String(O), caller: OTHER } } }
  const { c, sent } = courtClient({ answers: { challenge: [409, envelope] } })
  const err = await courtChallenge(c, { original: O, duplicate: D }).catch((e) => e)
  assert.ok(err instanceof AigcApiError)
  assert.equal(err.status, 409)
  assert.equal(err.code, 'CourtNotOwner')
  assert.deepEqual(err.fields, { tokenId: String(O), caller: OTHER })
  assert.equal(sent.length, 0)
})

test('the court\'s refusal in the SDK\'s simulation: AigcContractError with the error\'s name and decoded fields, nothing sent', async () => {
  /** @type {[string, readonly unknown[], Record<string, unknown>][]} */
  const cases = [
    ['CourtDisputeWindow', [O, D, 140n], { original: O, duplicate: D, deadline: 140n }],
    ['CourtNotOwner', [O, OTHER], { tokenId: O, caller: OTHER }],
    ['CourtSameEsp', [O, D, OTHER], { original: O, duplicate: D, esp: OTHER }],
    ['CourtChallengeOutOfOrder', [O, D], { original: O, duplicate: D }],
    ['CourtDisputeState', [O, D, 3], { original: O, duplicate: D, state: 3 }],
  ]
  for (const [name, args, fields] of cases) {
    const { c, sent } = courtClient({ revert: reverted(name, args) })
    const err = await courtFinalize(c, { original: O, duplicate: D }).catch((e) => e)
    assert.ok(err instanceof AigcContractError, name)
    assert.equal(err.name, 'AigcContractError')
    assert.equal(err.code, name)
    assert.deepEqual(err.fields, fields, name)
    assert.equal(err.contract, COURT)
    assert.equal(sent.length, 0, name)
  }
  // a failure that carries no court error is passed on as it came
  const down = new Error('connection refused')
  const { c, sent } = courtClient({ revert: down })
  await assert.rejects(courtContest(c, { original: O, duplicate: D }), (e) => e === down)
  assert.equal(sent.length, 0)
  assert.equal(toContractError(new RawContractError({ data: '0xdeadbeef' }), batchCourtAbi, COURT), null)
})

test('every custom error the compiled BatchCourt declares decodes by name (none falls through to a bare revert)', () => {
  const compiled = JSON.parse(readFileSync(new URL('../../../contracts/artifacts/BatchCourt.json', import.meta.url), 'utf8')).abi
  const errors = compiled.filter((/** @type {any} */ c) => c.type === 'error' && c.name.startsWith('Court'))
  assert.ok(errors.length >= 13)
  for (const e of errors) {
    const args = e.inputs.map((/** @type {any} */ p) => (p.type === 'address' ? OTHER : p.type === 'uint8' ? 1 : 7n))
    const data = encodeErrorResult({ abi: [e], errorName: e.name, args })
    const err = toContractError(new RawContractError({ data }), batchCourtAbi, COURT)
    assert.equal(err?.code, e.name, `${e.name}: add it to batchCourtAbi`)
  }
})

test('the SDK\'s BatchCourt fragments are in the compiled ABI (artifact), outputs and indexing included', () => {
  const compiled = JSON.parse(readFileSync(new URL('../../../contracts/artifacts/BatchCourt.json', import.meta.url), 'utf8')).abi
  /** @param {any} x */
  const sel = (x) => (x.type === 'event' ? toEventSelector(x) : toFunctionSelector(x))
  for (const item of /** @type {readonly any[]} */ (batchCourtAbi)) {
    const match = compiled.find((/** @type {any} */ c) => c.type === item.type && c.name === item.name && sel(c) === sel(item))
    assert.ok(match, `BatchCourt.${item.name}: no compiled item with this signature`)
    if (item.type === 'function') {
      assert.deepEqual(match.outputs.map((/** @type {any} */ o) => o.type), item.outputs.map((/** @type {any} */ o) => o.type), item.name)
      assert.equal(match.stateMutability, item.stateMutability, item.name)
    } else {
      assert.deepEqual(match.inputs.map((/** @type {any} */ i) => !!i.indexed), item.inputs.map((/** @type {any} */ i) => !!i.indexed), item.name)
    }
  }
})

test('getCourtDispute reads disputeOf on the court and names the state', async () => {
  const { c } = courtClient()
  const d = await c.getCourtDispute({ original: String(O), duplicate: D })
  assert.deepEqual(d, {
    original: O, duplicate: D, challenger: ADDRESS, deadline: 140n, state: 'contested', contester: OTHER, slash: 0n, recordHash: word(5),
  })
  assert.equal(DISPUTE_STATES[3], 'upheld')
  const old = courtClient({ contracts: { ...HEALTH.contracts } })
  await assert.rejects(getCourtDispute(old.c, { original: O, duplicate: D }), { code: 'no_court' })
})

test('settleBatch posts the pair and sends only BatchRegistry.settle of that pair to the BatchRegistry', async () => {
  const o = tokenId(3, 1)
  const d = tokenId(9, 2)
  const ok = courtClient({ answers: { settle: { data: calldata(o, d).settle } } })
  assert.deepEqual(await ok.c.settleBatch({ original: o, duplicate: String(d) }), { hash: word(1), state: null })
  assert.deepEqual(ok.bodies[0].body, { original: String(o), duplicate: String(d) })
  assert.deepEqual([ok.sent[0].to, ok.sent[0].data, ok.sent[0].value], [BATCH, calldata(o, d).settle, 0n])
  /** @type {[string, any, any?][]} */
  const lies = [
    ['another pair', { data: calldata(o, d + 1n).settle }],
    ['a finalize instead', { data: encodeFunctionData({ abi: batchRegistryAbi, functionName: 'finalize', args: [o, d] }) }],
    ['the court\'s contest', { data: calldata(o, d).contest }],
    ['another contract', { data: calldata(o, d).settle, to: COURT }],
    ['Ether', { data: calldata(o, d).settle, value: '1' }],
  ]
  for (const [what, answer] of lies) {
    const { c, sent } = courtClient({ answers: { settle: answer } })
    await assert.rejects(settleBatch(c, { original: o, duplicate: d }), { code: 'tx_mismatch' }, what)
    assert.equal(sent.length, 0, what)
  }
  // the BatchRegistry as you know it overrides the deployment's
  const { c } = courtClient({ answers: { settle: { data: calldata(o, d).settle } } })
  await assert.rejects(settleBatch(c, { original: o, duplicate: d, batchRegistry: OTHER }), { code: 'tx_mismatch' })
  // a challenge that is not upheld (or settled already): the BatchRegistry's error, by name
  const data = encodeErrorResult({ abi: batchRegistryAbi, errorName: 'BatchDisputeState', args: [o, d, 6] })
  const settled = courtClient({ answers: { settle: { data: calldata(o, d).settle } }, revert: new BaseError('reverted', { cause: new RawContractError({ data }) }) })
  const err = await settleBatch(settled.c, { original: o, duplicate: d }).catch((e) => e)
  assert.ok(err instanceof AigcContractError)
  assert.equal(err.code, 'BatchDisputeState')
  assert.deepEqual(err.fields, { original: o, duplicate: d, state: 6 })
  assert.equal(settled.sent.length, 0)
  // a deployment from before batches
  const old = courtClient({ contracts: { ...HEALTH.contracts } })
  await assert.rejects(settleBatch(old.c, { original: o, duplicate: d }), { code: 'no_batch_registry' })
})

test('courtRevokeDuplicateImage posts {item, single}, sends only that ruling to the court, and reads what it revoked', async () => {
  const data = encodeFunctionData({ abi: batchCourtAbi, functionName: 'revokeDuplicateImage', args: [O, word(2), OPENING, D, RECORD] })
  const ruled = {
    address: COURT,
    topics: encodeEventTopics({ abi: batchCourtAbi, eventName: 'DuplicateImageRevoked', args: { revoked: D, kept: O, caller: ADDRESS } }),
    data: encodeAbiParameters(parseAbiParameters('bool'), [false]),
  }
  /** @type {any[]} */
  const bodies = []
  /** @type {any[]} */
  const sent = []
  const tx = (/** @type {any} */ over = {}) => ({
    to: COURT, data, value: '0', chainId: 31337, gas: 300000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS, ...over,
  })
  let answer = tx()
  const api = fakeApi({
    'GET /v1/deployment': () => [200, { chain_id: 31337, contracts: { ...HEALTH.contracts, BatchRegistry: BATCH, BatchCourt: COURT } }],
    'POST /v1/tx/batch/court/duplicate-image': (/** @type {any} */ { body }) => {
      bodies.push(body)
      return [200, answer]
    },
  })
  const publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    call: async () => ({ data: undefined }),
    waitForTransactionReceipt: async () => ({ status: 'success', logs: [ruled] }),
  })
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: privateKeyToAccount(KEY),
    sendTransaction: async (/** @type {any} */ req) => {
      sent.push(req)
      return word(sent.length)
    },
  })
  const c = createAigcClient({ baseUrl: 'http://api.test', publicClient, walletClient, fetch: api.fetch })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  assert.deepEqual(await c.courtRevokeDuplicateImage({ item: O, single: `0x${D.toString(16)}` }), { hash: word(1), revoked: D, kept: O })
  assert.deepEqual(bodies, [{ item: String(O), single: String(D) }])
  assert.deepEqual(sent.map((s) => [s.to, s.data]), [[COURT, data]])
  // a lying API: another pair, another contract, or Ether attached: nothing is sent
  for (const bad of [
    tx({ data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'revokeDuplicateImage', args: [O, word(2), OPENING, D + 1n, RECORD] }) }),
    tx({ to: OTHER }),
    tx({ value: '5' }),
  ]) {
    answer = bad
    const err = await c.courtRevokeDuplicateImage({ item: O, single: D }).catch((e) => e)
    assert.equal(err.code, 'tx_mismatch')
  }
  assert.equal(sent.length, 1)
})

test('courtSettle posts the pair, sends only BatchCourt.settle of that pair to the court, and reads the state it ended in', async () => {
  for (const [state, name] of /** @type {const} */ ([[6, 'settled'], [7, 'reversed']])) {
    const { c, bodies, sent } = courtClient({ answers: { courtSettle: {} }, logs: [courtLog('ChallengeDecided', COURT, state)] })
    assert.deepEqual(await c.courtSettle({ original: String(O), duplicate: D }), { hash: word(1), state: name })
    assert.deepEqual(bodies.map((b) => [b.step, b.body]), [['courtSettle', { original: String(O), duplicate: String(D) }]])
    assert.deepEqual([sent[0].to, sent[0].data, sent[0].value], [COURT, calldata().courtSettle, 0n])
  }
  // another contract's decision is not the court's
  const forged = courtClient({ logs: [courtLog('ChallengeDecided', OTHER, 7)] })
  assert.deepEqual(await courtSettle(forged.c, { original: O, duplicate: D }), { hash: word(1), state: null })
  /** @type {[string, any][]} */
  const lies = [
    ['another pair', { data: calldata(O, D + 1n).courtSettle }],
    ['a finalize instead', { data: calldata().finalize }],
    ['the BatchRegistry (same selector)', { to: BATCH }],
    ['Ether', { value: '1' }],
  ]
  for (const [what, answer] of lies) {
    const { c, sent, simulated } = courtClient({ answers: { courtSettle: answer } })
    await assert.rejects(courtSettle(c, { original: O, duplicate: D }), { name: 'AigcSdkError', code: 'tx_mismatch' }, what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
})

test('a held reward is refused by name with the block it is releasable at, by the API and by the simulation', async () => {
  // the API's 409 (it estimated the call as the caller)
  const envelope = { error: { code: 'CourtRewardHeld', message: 'CourtRewardHeld(...)', fields: { duplicate: String(D), releasableAtBlock: '160' } } }
  const api = courtClient({ answers: { courtSettle: [409, envelope] } })
  const held = await courtSettle(api.c, { original: O, duplicate: D }).catch((e) => e)
  assert.ok(held instanceof AigcApiError)
  assert.deepEqual([held.status, held.code, held.fields.releasableAtBlock], [409, 'CourtRewardHeld', '160'])
  assert.equal(api.sent.length, 0)
  // the SDK's own simulation (the chain moved since the API built it)
  const sim = courtClient({ revert: reverted('CourtRewardHeld', [D, 160n]) })
  const err = await courtSettle(sim.c, { original: O, duplicate: D }).catch((e) => e)
  assert.ok(err instanceof AigcContractError)
  assert.equal(err.code, 'CourtRewardHeld')
  assert.deepEqual(err.fields, { duplicate: D, releasableAtBlock: 160n })
  assert.equal(sim.sent.length, 0)
  // the same at the BatchRegistry
  const o = tokenId(3, 1)
  const d = tokenId(9, 2)
  const data = encodeErrorResult({ abi: batchRegistryAbi, errorName: 'BatchRewardHeld', args: [d, 160n] })
  const batch = courtClient({ answers: { settle: { data: calldata(o, d).settle } }, revert: new BaseError('reverted', { cause: new RawContractError({ data }) }) })
  const refused = await settleBatch(batch.c, { original: o, duplicate: d }).catch((e) => e)
  assert.ok(refused instanceof AigcContractError)
  assert.equal(refused.code, 'BatchRewardHeld')
  assert.deepEqual(refused.fields, { duplicate: d, releasableAtBlock: 160n })
  assert.equal(batch.sent.length, 0)
})

test('settleBatch reads the state its own BatchRegistry decided the pair in (a reversal reinstates the item)', async () => {
  const decided = (/** @type {string} */ emitter, /** @type {number} */ state) => ({
    address: emitter,
    topics: encodeEventTopics({ abi: batchRegistryAbi, eventName: 'ChallengeDecided', args: { original: O, duplicate: D } }),
    data: encodeAbiParameters(parseAbiParameters('uint8, bool'), [state, true]),
  })
  const ok = courtClient({ answers: { settle: {} }, logs: [decided(BATCH, 7)] })
  assert.deepEqual(await settleBatch(ok.c, { original: O, duplicate: D }), { hash: word(1), state: 'reversed' })
  const forged = courtClient({ answers: { settle: {} }, logs: [decided(COURT, 6)] })
  assert.deepEqual(await settleBatch(forged.c, { original: O, duplicate: D }), { hash: word(1), state: null })
})

const BOND = 10n ** 16n // the Registry's bond, as its parameters() holds it
const SECOND = tokenId(4, 2) // another batch item of the same image

/**
 * A client over a fake API answering POST `path` with `answer()` (an UnsignedTx, or [status,
 * body]) and a fake chain: the Registry's parameters() hold BOND, simulations and sends are
 * recorded, every transaction is mined with `logs`.
 * @param {string} path
 * @param {() => any} answer
 * @param {{ logs?: any[], contracts?: Record<string, string> }} [o]
 */
function rulingClient(path, answer, { logs = [], contracts = { ...HEALTH.contracts, BatchRegistry: BATCH, BatchCourt: COURT } } = {}) {
  /** @type {any[]} */
  const bodies = []
  /** @type {any[]} */
  const sent = []
  /** @type {any[]} */
  const simulated = []
  /** @type {any[]} */
  const reads = []
  const api = fakeApi({
    'GET /v1/deployment': () => [200, { chain_id: 31337, contracts }],
    [`POST ${path}`]: (/** @type {any} */ { body }) => {
      bodies.push(body)
      const a = answer()
      return Array.isArray(a) ? a : [200, a]
    },
  })
  const publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    call: async (/** @type {any} */ req) => {
      simulated.push(req)
      return { data: undefined }
    },
    readContract: async (/** @type {any} */ req) => {
      reads.push(req)
      assert.equal(req.functionName, 'parameters')
      return { bond: BOND, challengeDeposit: 1000n }
    },
    waitForTransactionReceipt: async () => ({ status: 'success', logs }),
  })
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: privateKeyToAccount(KEY),
    sendTransaction: async (/** @type {any} */ req) => {
      sent.push(req)
      return word(sent.length)
    },
  })
  const c = createAigcClient({ baseUrl: 'http://api.test', publicClient, walletClient, fetch: api.fetch })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  return { c, api, bodies, sent, simulated, reads }
}

/** @param {any} [over] an UnsignedTx with `over`'s fields */
const unsigned = (over = {}) => ({
  to: COURT, value: '0', chainId: 31337, gas: 300000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS, ...over,
})

/**
 * BatchCourt.revokeDuplicateItem's calldata about (first, second).
 * @param {bigint} first
 * @param {bigint} second
 */
const duplicateItemData = (first = O, second = SECOND) => encodeFunctionData({
  abi: batchCourtAbi, functionName: 'revokeDuplicateItem', args: [first, word(2), OPENING, second, word(6), { ...OPENING, seed: 10n }],
})

test('courtRevokeDuplicateItem posts {first, second}, sends only that ruling to the court with no Ether, and reads what it revoked', async () => {
  const ruled = {
    address: COURT,
    topics: encodeEventTopics({ abi: batchCourtAbi, eventName: 'DuplicateImageRevoked', args: { revoked: SECOND, kept: O, caller: ADDRESS } }),
    data: encodeAbiParameters(parseAbiParameters('bool'), [true]),
  }
  const forged = { ...ruled, address: OTHER }
  const { c, bodies, sent, simulated } = rulingClient('/v1/tx/batch/court/duplicate-item', () => unsigned({ data: duplicateItemData() }), { logs: [forged, ruled] })
  assert.deepEqual(await c.courtRevokeDuplicateItem({ first: O, second: `0x${SECOND.toString(16)}` }), { hash: word(1), revoked: SECOND, kept: O, twoPayers: true })
  assert.deepEqual(bodies, [{ first: String(O), second: String(SECOND) }])
  assert.deepEqual(sent.map((s) => [s.to, s.data, s.value]), [[COURT, duplicateItemData(), 0n]])
  assert.deepEqual(simulated.map((s) => [s.to, s.data, s.value]), [[COURT, duplicateItemData(), 0n]])
  // a receipt without the court's event (another contract's is not read as it)
  const quiet = rulingClient('/v1/tx/batch/court/duplicate-item', () => unsigned({ data: duplicateItemData() }), { logs: [forged] })
  assert.deepEqual(await courtRevokeDuplicateItem(quiet.c, { first: O, second: SECOND }), { hash: word(1), revoked: null, kept: null, twoPayers: null })
})

test('attack: a lying API\'s duplicate-item ruling (another contract, other items, another function, Ether) is refused before the wallet signs', async () => {
  /** @type {[string, any][]} */
  const lies = [
    ['another contract (the BatchRegistry)', unsigned({ data: duplicateItemData(), to: BATCH })],
    ['another contract (an attacker\'s)', unsigned({ data: duplicateItemData(), to: OTHER })],
    ['another second item (someone else\'s token revoked)', unsigned({ data: duplicateItemData(O, SECOND + 1n) })],
    ['another first item', unsigned({ data: duplicateItemData(D, SECOND) })],
    ['the two items swapped', unsigned({ data: duplicateItemData(SECOND, O) })],
    ['the single-token ruling instead', unsigned({ data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'revokeDuplicateImage', args: [O, word(2), OPENING, SECOND, RECORD] }) })],
    ['a court settle', unsigned({ data: calldata(O, SECOND).courtSettle })],
    ['Ether on a free ruling', unsigned({ data: duplicateItemData(), value: '1' })],
    ['no call at all', unsigned({ data: '0x1234' })],
  ]
  for (const [what, tx] of lies) {
    const { c, sent, simulated } = rulingClient('/v1/tx/batch/court/duplicate-item', () => tx)
    await assert.rejects(courtRevokeDuplicateItem(c, { first: O, second: SECOND }), { name: 'AigcSdkError', code: 'tx_mismatch' }, what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
  // the court as you know it overrides the API's deployment
  const { c, sent } = rulingClient('/v1/tx/batch/court/duplicate-item', () => unsigned({ data: duplicateItemData() }))
  await assert.rejects(courtRevokeDuplicateItem(c, { first: O, second: SECOND, batchCourt: OTHER }), { code: 'tx_mismatch' })
  assert.equal(sent.length, 0)
  // a deployment without a court asks nothing
  const old = rulingClient('/v1/tx/batch/court/duplicate-item', () => unsigned({ data: duplicateItemData() }), { contracts: { ...HEALTH.contracts } })
  await assert.rejects(courtRevokeDuplicateItem(old.c, { first: O, second: SECOND }), { code: 'no_court' })
  assert.equal(old.bodies.length, 0)
})

test('the court\'s refusal of a duplicate-item ruling or a reinstatement comes back by name (API 409), nothing sent', async () => {
  for (const [path, fn, args, code] of /** @type {const} */ ([
    ['/v1/tx/batch/court/duplicate-item', 'courtRevokeDuplicateItem', { first: O, second: SECOND }, 'CourtNotSameEsp'],
    ['/v1/tx/batch/court/reinstate', 'courtReinstate', { original: O, duplicate: D }, 'CourtWinnerActive'],
  ])) {
    const envelope = { error: { code, message: `${code}(...)`, fields: { original: String(O) } } }
    const { c, sent } = rulingClient(path, () => [409, envelope])
    const err = await /** @type {any} */ (c)[fn](args).catch((/** @type {any} */ e) => e)
    assert.ok(err instanceof AigcApiError, fn)
    assert.deepEqual([err.status, err.code], [409, code])
    assert.equal(sent.length, 0)
  }
})

test('courtReinstate posts the pair, sends only BatchCourt.reinstate of that pair to the court with the Registry\'s bond read from the chain', async () => {
  const data = encodeFunctionData({ abi: batchCourtAbi, functionName: 'reinstate', args: [O, D] })
  const { c, bodies, sent, simulated, reads } = rulingClient('/v1/tx/batch/court/reinstate', () => unsigned({ data, value: String(BOND) }),
    { logs: [courtLog('ChallengeDecided', OTHER, 6), courtLog('ChallengeDecided', COURT, 7)] })
  assert.deepEqual(await c.courtReinstate({ original: String(O), duplicate: `0x${D.toString(16)}` }), { hash: word(1), state: 'reversed' })
  assert.deepEqual(bodies, [{ original: String(O), duplicate: String(D) }])
  assert.deepEqual(sent.map((s) => [s.to, s.data, s.value]), [[COURT, data, BOND]])
  assert.deepEqual(simulated.map((s) => [s.to, s.value]), [[COURT, BOND]])
  // the bond is the chain's Registry's, never the API's word
  assert.deepEqual(reads.map((r) => [r.address, r.functionName]), [[HEALTH.contracts.Registry, 'parameters']])
})

test('attack: a lying API\'s reinstatement (another value, contract, pair or function) is refused before the wallet signs', async () => {
  const data = (/** @type {bigint} */ o = O, /** @type {bigint} */ d = D) => encodeFunctionData({ abi: batchCourtAbi, functionName: 'reinstate', args: [o, d] })
  /** @type {[string, any][]} */
  const lies = [
    ['ten times the bond', unsigned({ data: data(), value: String(BOND * 10n) })],
    ['a wei above the bond', unsigned({ data: data(), value: String(BOND + 1n) })],
    ['no bond', unsigned({ data: data(), value: '0' })],
    ['the bond to another contract (an attacker\'s)', unsigned({ data: data(), value: String(BOND), to: OTHER })],
    ['the bond to the BatchRegistry\'s reinstate (same selector)', unsigned({ data: data(), value: String(BOND), to: BATCH })],
    ['another token reinstated', unsigned({ data: data(O, D + 1n), value: String(BOND) })],
    ['another winner', unsigned({ data: data(SECOND, D), value: String(BOND) })],
    ['a contest (a deposit) instead', unsigned({ data: calldata().contest, value: String(BOND) })],
  ]
  for (const [what, tx] of lies) {
    const { c, sent, simulated } = rulingClient('/v1/tx/batch/court/reinstate', () => tx)
    await assert.rejects(courtReinstate(c, { original: O, duplicate: D }), { name: 'AigcSdkError', code: 'tx_mismatch' }, what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
})
