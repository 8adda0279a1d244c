// The BatchCourt's mis-attestation claim (claimMisattested / finalizeMisattested) against a fake
// API and chain: the API's transaction must be that function about exactly the asked token, at
// the deployment's court, with exactly the Registry's challengeDeposit plus the committee's
// reviewFee read from the chain (finalize: no Ether), its record proof the token's record at the
// Registry; a lying API is tx_mismatch and nothing is simulated or sent.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  BaseError, encodeAbiParameters, encodeErrorResult, encodeEventTopics, encodeFunctionData, keccak256, parseAbiParameters, RawContractError,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { AigcApiError, AigcContractError, AigcSdkError, batchCourtAbi, committeeAbi, createAigcClient } from '../src/index.js'
import { ADDRESS, fakeApi, HEALTH, KEY, REGISTRY } from './helpers.js'

const COURT = '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9'
const BATCH = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9'
const COMMITTEE = '0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6'
const ESP = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const ATTACKER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const T = 2n ** 200n + 5n // a single registration's content-hash id
const DEPOSIT = 1000n
const FEE = 70n
const KEY_ = /** @type {`0x${string}`} */ (`0x${'cd'.repeat(32)}`)
/** @param {number} n */
const word = (n) => /** @type {`0x${string}`} */ (`0x${n.toString(16).padStart(64, '0')}`)
const RECORD = { fingerprint: word(1), detailHash: word(2), esp: ESP, priorityBlock: 5n, commitBlock: 6n, revealBlock: 7n }
const PROOF = parseAbiParameters('(bytes32, bytes32, address, uint64, uint64, uint64)')
/** The Registry's recordHashOf: keccak256(abi.encode(proof)) with its lowest eight bytes cleared. */
const hashOf = (/** @type {any} */ p) => /** @type {`0x${string}`} */ (
  `${keccak256(encodeAbiParameters(PROOF, [[p.fingerprint, p.detailHash, p.esp, p.priorityBlock, p.commitBlock, p.revealBlock]])).slice(0, 50)}${'0'.repeat(16)}`)

/**
 * A client over a fake API (`answers`: each route's calldata, `to`, `value`, or [status, body])
 * and chain (the token's record `status`, the court's claim `claimState`).
 * @param {{ answers?: Record<string, any>, revert?: unknown, logs?: any[], status?: number, claimState?: number }} [o]
 */
function misClient({ answers = {}, revert, logs = [], status = 1, claimState = 1 } = {}) {
  /** @type {any[]} */
  const bodies = []
  /** @type {any[]} */
  const sent = []
  /** @type {any[]} */
  const simulated = []
  const data = {
    claim: encodeFunctionData({ abi: batchCourtAbi, functionName: 'claimMisattested', args: [T, RECORD] }),
    finalize: encodeFunctionData({ abi: batchCourtAbi, functionName: 'finalizeMisattested', args: [T, RECORD] }),
  }
  const routes = Object.fromEntries(['claim', 'finalize'].map((step) => [`POST /v1/tx/batch/court/${step}-misattested`, (/** @type {any} */ { body }) => {
    bodies.push({ step, body })
    const a = answers[step] ?? {}
    if (Array.isArray(a)) return a
    const tx = {
      to: a.to ?? COURT,
      data: a.data ?? data[/** @type {'claim' | 'finalize'} */ (step)],
      value: a.value ?? (step === 'claim' ? String(DEPOSIT + FEE) : '0'),
      chainId: 31337, gas: 900000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS,
    }
    return /** @type {[number, any]} */ ([200, tx])
  }]))
  const contracts = { ...HEALTH.contracts, BatchRegistry: BATCH, BatchCourt: COURT }
  const api = fakeApi({ 'GET /v1/deployment': () => [200, { chain_id: 31337, contracts }], ...routes })
  const publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    call: async (/** @type {any} */ req) => {
      simulated.push(req)
      if (revert) throw revert
      return { data: undefined }
    },
    readContract: async (/** @type {any} */ req) => {
      const at = `${req.address} ${req.functionName}`
      if (at === `${REGISTRY} parameters`) return { bond: 10n ** 16n, challengeDeposit: DEPOSIT }
      if (at === `${COMMITTEE} parameters`) return { jurors: 5, jurorBond: 1n, reviewFee: FEE, commitBlocks: 8n, revealBlocks: 8n }
      if (at === `${REGISTRY} detailVerifier`) return COMMITTEE
      if (at === `${REGISTRY} recordOf`) {
        assert.deepEqual(req.args, [T])
        return { recordHash: status === 0 ? word(0) : hashOf(RECORD), producer: ATTACKER, status }
      }
      if (at === `${REGISTRY} recordHashOf`) return hashOf(req.args[0])
      if (at === `${COURT} misattestationOf`) {
        assert.deepEqual(req.args, [T])
        return { claimant: ADDRESS, round: 1, state: claimState, recordHash: claimState === 0 ? word(0) : hashOf(RECORD) }
      }
      throw new Error(`unexpected read ${at}`)
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
  return { c, bodies, sent, simulated }
}

const claimedLog = (emitter = COURT, token = T) => ({
  address: emitter,
  topics: encodeEventTopics({ abi: batchCourtAbi, eventName: 'MisattestationClaimed', args: { tokenId: token, claimant: ADDRESS, esp: ESP } }),
  data: encodeAbiParameters(parseAbiParameters('bytes32'), [KEY_]),
})
const decidedLog = (state = 3, emitter = COURT) => ({
  address: emitter,
  topics: encodeEventTopics({ abi: batchCourtAbi, eventName: 'MisattestationDecided', args: { tokenId: T, claimant: ADDRESS } }),
  data: encodeAbiParameters(parseAbiParameters('uint8'), [state]),
})

test('claimMisattested posts the token, checks deposit + review fee from the chain, simulates and sends; returns the review key', async () => {
  const { c, bodies, sent, simulated } = misClient({ logs: [claimedLog(ATTACKER), claimedLog(COURT, T + 1n), claimedLog()] })
  const out = await c.claimMisattested({ token: `0x${T.toString(16)}` })
  assert.deepEqual(out, { hash: word(1), key: KEY_, esp: ESP, deposit: DEPOSIT, fee: FEE })
  assert.deepEqual(bodies, [{ step: 'claim', body: { token: String(T) } }])
  assert.equal(simulated.length, 1)
  assert.equal(sent.length, 1)
  assert.equal(sent[0].to, COURT)
  assert.equal(sent[0].value, DEPOSIT + FEE)
})

test('a lying API\'s mis-attestation claim is tx_mismatch: nothing simulated, nothing sent', async () => {
  const other = { ...RECORD, esp: ATTACKER }
  const lies = /** @type {[string, any][]} */ ([
    ['ten review fees', { value: String(DEPOSIT + 10n * FEE) }],
    ['the deposit alone (no fee: the court would refuse, but the API is not to say)', { value: String(DEPOSIT) }],
    ['to the attacker', { to: ATTACKER }],
    ['another token', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'claimMisattested', args: [T + 1n, RECORD] }) }],
    ['another record proof (another ESP accused)', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'claimMisattested', args: [T, other] }) }],
    ['another court call (a challenge)', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'contest', args: [1n, T] }) }],
    ['a committee call', { data: encodeFunctionData({ abi: committeeAbi, functionName: 'draw', args: [KEY_] }) }],
    ['the finalize', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'finalizeMisattested', args: [T, RECORD] }) }],
  ])
  for (const [why, lie] of lies) {
    const { c, sent, simulated } = misClient({ answers: { claim: lie } })
    await assert.rejects(c.claimMisattested({ token: T }), (/** @type {any} */ e) => {
      assert.ok(e instanceof AigcSdkError, why)
      assert.equal(e.code, 'tx_mismatch', why)
      return true
    })
    assert.deepEqual([sent.length, simulated.length], [0, 0], why)
  }
})

test('claimMisattested: the court\'s and the committee\'s refusals by name, the API\'s 409 as it is', async () => {
  const tooSmall = encodeErrorResult({ abi: committeeAbi, errorName: 'CommitteeTooSmall', args: [2n, 5n] })
  const { c, sent } = misClient({ revert: new BaseError('execution reverted', { cause: new RawContractError({ data: tooSmall }) }) })
  await assert.rejects(c.claimMisattested({ token: T }), (/** @type {any} */ e) => e instanceof AigcContractError && e.code === 'CommitteeTooSmall')
  const exists = encodeErrorResult({ abi: batchCourtAbi, errorName: 'CourtDisputeExists', args: [0n, T, 1] })
  const second = misClient({ revert: new BaseError('execution reverted', { cause: new RawContractError({ data: exists }) }) })
  await assert.rejects(second.c.claimMisattested({ token: T }), (/** @type {any} */ e) => e instanceof AigcContractError && e.code === 'CourtDisputeExists')
  const api = misClient({ answers: { claim: [409, { error: { code: 'CourtTokenRevoked', message: 'revoked', fields: { tokenId: String(T) } } }] } })
  await assert.rejects(api.c.claimMisattested({ token: T }), (/** @type {any} */ e) => e instanceof AigcApiError && e.code === 'CourtTokenRevoked')
  // an unknown token has no record to compare: the court's own refusal names it
  const unknown = encodeErrorResult({ abi: batchCourtAbi, errorName: 'CourtUnknownToken', args: [T] })
  const none = misClient({ status: 0, revert: new BaseError('execution reverted', { cause: new RawContractError({ data: unknown }) }) })
  await assert.rejects(none.c.claimMisattested({ token: T }), (/** @type {any} */ e) => e instanceof AigcContractError && e.code === 'CourtUnknownToken')
  assert.deepEqual([sent.length, second.sent.length, api.sent.length, none.sent.length], [0, 0, 0, 0])
})

test('finalizeMisattested sends only finalizeMisattested(token, the claimed record) with no Ether; returns the decision', async () => {
  for (const [state, name] of /** @type {const} */ ([[3, 'upheld'], [4, 'rejected'], [5, 'void']])) {
    const { c, bodies, sent, simulated } = misClient({ logs: [decidedLog(3, ATTACKER), decidedLog(state)] })
    assert.deepEqual(await c.finalizeMisattested({ token: String(T) }), { hash: word(1), state: name, upheld: name === 'upheld' })
    assert.deepEqual(bodies, [{ step: 'finalize', body: { token: String(T) } }])
    assert.equal(sent[0].value, 0n)
    // simulated at the block it can be mined in at best: at `latest`, the reveal deadline's own
    // block refused a finalize the next block accepts
    assert.deepEqual([simulated.length, simulated[0].blockTag, simulated[0].to], [1, 'pending', COURT])
  }
  const none = misClient()
  assert.deepEqual(await none.c.finalizeMisattested({ token: T }), { hash: word(1), state: null, upheld: null })
})

test('a lying API\'s finalize is tx_mismatch (Ether on it, another token, another record, another contract or call)', async () => {
  const lies = /** @type {[string, any][]} */ ([
    ['Ether on it', { value: '1' }],
    ['to the attacker', { to: ATTACKER }],
    ['another token', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'finalizeMisattested', args: [T + 1n, RECORD] }) }],
    ['another record', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'finalizeMisattested', args: [T, { ...RECORD, revealBlock: 8n }] }) }],
    ['a claim instead', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'claimMisattested', args: [T, RECORD] }) }],
  ])
  for (const [why, lie] of lies) {
    const { c, sent, simulated } = misClient({ answers: { finalize: lie } })
    await assert.rejects(c.finalizeMisattested({ token: T }), (/** @type {any} */ e) => e instanceof AigcSdkError && e.code === 'tx_mismatch', why)
    assert.deepEqual([sent.length, simulated.length], [0, 0], why)
  }
  const early = encodeErrorResult({ abi: batchCourtAbi, errorName: 'CourtDisputeWindow', args: [0n, T, 900n] })
  const { c, sent } = misClient({ revert: new BaseError('execution reverted', { cause: new RawContractError({ data: early }) }) })
  await assert.rejects(c.finalizeMisattested({ token: T }), (/** @type {any} */ e) => e instanceof AigcContractError && e.code === 'CourtDisputeWindow' && e.fields.deadline === 900n)
  assert.equal(sent.length, 0)
})

test('getMisattestation reads misattestationOf on the court and names the state', async () => {
  const { c } = misClient({ claimState: 1 })
  assert.deepEqual(await c.getMisattestation({ token: String(T) }), { token: T, claimant: ADDRESS, round: 1, state: 'open', recordHash: hashOf(RECORD) })
})

test('misattestationCost reads the Registry\'s challengeDeposit and the committee\'s reviewFee from the chain', async () => {
  const { c } = misClient()
  assert.deepEqual(await c.misattestationCost(), { deposit: DEPOSIT, fee: FEE, total: DEPOSIT + FEE })
})
