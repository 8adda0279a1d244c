// The BatchCourt's mis-attestation claim of a batch item (claimMisattestedItem) and its finalize
// against a fake API and chain: the API's transaction must be claimMisattestedItem about exactly
// the asked item at the deployment's court, carrying exactly the Registry's challengeDeposit plus
// the committee's reviewFee read from the chain, its fingerprint and opening proven against the
// item's batch roots as the court's BatchRegistry holds them (batchOf); the finalize's record
// must be the claimed one (the court's misattestationOf hash) naming the batch's ESP. A lying API
// is tx_mismatch: nothing simulated or sent.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeAbiParameters, encodeEventTopics, encodeFunctionData, keccak256, parseAbiParameters } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { AigcSdkError, batchCourtAbi, createAigcClient } from '../src/index.js'
import { buildBatch, tokenId } from '../src/batch.js'
import { itemRecordHash } from '../src/batch_court.js'
import { ADDRESS, fakeApi, HEALTH, KEY, REGISTRY } from './helpers.js'

const COURT = '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9'
const BATCH = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9'
const COMMITTEE = '0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6'
const ESP = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const ATTACKER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const DEPOSIT = 1000n
const FEE = 70n
const KEY_ = /** @type {`0x${string}`} */ (`0x${'cd'.repeat(32)}`)
/** @param {number} n */
const word = (n) => /** @type {`0x${string}`} */ (`0x${n.toString(16).padStart(64, '0')}`)

// a three-item batch (id 7); the claimed item is index 1
const DETAILS = /** @type {`0x${string}`[]} */ (['0x0101', '0x0202', '0x0303'])
const B = buildBatch(DETAILS.map((d, k) => ({ contentHash: word(100 + k), fingerprint: word(10 + k), detailHash: keccak256(d), seed: BigInt(k + 1) })))
const detailOf = (/** @type {number} */ i) => DETAILS[Number(B.items[i].seed) - 1]
const T = tokenId(7n, 1n)
const OTHER = tokenId(7n, 2n)
const ZERO_RECORD = { fingerprint: word(0), detailHash: word(0), esp: '0x0000000000000000000000000000000000000000', priorityBlock: 0n, commitBlock: 0n, revealBlock: 0n }
/** claimMisattestedItem's arguments for item `i` of B (as the API builds them from the manifest) */
const itemArgs = (/** @type {number} */ i, /** @type {bigint} */ t = tokenId(7n, BigInt(i))) => /** @type {const} */ ([
  t, B.fingerprints[i], B.fingerprintProof(i), detailOf(i),
  { contentHash: B.items[i].contentHash, seed: B.items[i].seed, proof: B.itemProof(i), record: ZERO_RECORD },
])
const RECORD = { fingerprint: B.fingerprints[1], detailHash: keccak256(detailOf(1)), esp: ESP, priorityBlock: 0n, commitBlock: 0n, revealBlock: 0n }
const claimData = (/** @type {readonly any[]} */ args) => encodeFunctionData({ abi: batchCourtAbi, functionName: 'claimMisattestedItem', args: /** @type {any} */ (args) })
const finalizeData = (/** @type {bigint} */ t, /** @type {any} */ r) => encodeFunctionData({ abi: batchCourtAbi, functionName: 'finalizeMisattested', args: [t, r] })

/**
 * @param {{ answers?: Record<string, any>, logs?: any[], claimState?: number }} [o]
 */
function itemClient({ answers = {}, logs = [], claimState = 1 } = {}) {
  /** @type {any[]} */
  const bodies = []
  /** @type {any[]} */
  const sent = []
  /** @type {any[]} */
  const simulated = []
  const data = { claim: claimData(itemArgs(1)), finalize: finalizeData(T, RECORD) }
  const routes = Object.fromEntries(['claim', 'finalize'].map((step) => [`POST /v1/tx/batch/court/${step}-misattested`, (/** @type {any} */ { body }) => {
    bodies.push({ step, body })
    const a = answers[step] ?? {}
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
      return { data: undefined }
    },
    readContract: async (/** @type {any} */ req) => {
      const at = `${req.address} ${req.functionName}`
      if (at === `${REGISTRY} parameters`) return { bond: 10n ** 16n, challengeDeposit: DEPOSIT }
      if (at === `${COMMITTEE} parameters`) return { jurors: 5, jurorBond: 1n, reviewFee: FEE, commitBlocks: 8n, revealBlocks: 8n }
      if (at === `${REGISTRY} detailVerifier`) return COMMITTEE
      if (at === `${COURT} batchRegistry`) return BATCH
      if (at === `${BATCH} batchOf`) {
        assert.deepEqual(req.args, [7n])
        return { fpRoot: B.fpRoot, itemsRoot: B.itemsRoot, owner: ATTACKER, esp: ESP, count: 3, priorityBlock: 5n, commitBlock: 6n, revealBlock: 7n }
      }
      if (at === `${COURT} misattestationOf`) {
        assert.deepEqual(req.args, [T])
        return { claimant: ADDRESS, round: 1, state: claimState, recordHash: claimState === 0 ? word(0) : itemRecordHash(RECORD) }
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

const claimedLog = (emitter = COURT, token = T, esp = ESP) => ({
  address: emitter,
  topics: encodeEventTopics({ abi: batchCourtAbi, eventName: 'MisattestationClaimed', args: { tokenId: token, claimant: ADDRESS, esp } }),
  data: encodeAbiParameters(parseAbiParameters('bytes32'), [KEY_]),
})
const decidedLog = (state = 3) => ({
  address: COURT,
  topics: encodeEventTopics({ abi: batchCourtAbi, eventName: 'MisattestationDecided', args: { tokenId: T, claimant: ADDRESS } }),
  data: encodeAbiParameters(parseAbiParameters('uint8'), [state]),
})

test('claimMisattested of a batch item sends claimMisattestedItem with its proven opening, deposit + fee from the chain; returns the key and the batch\'s ESP', async () => {
  const { c, bodies, sent, simulated } = itemClient({ logs: [claimedLog(ATTACKER), claimedLog(COURT, T, ATTACKER), claimedLog()] })
  const out = await c.claimMisattested({ token: T })
  assert.deepEqual(out, { hash: word(1), key: KEY_, esp: ESP, deposit: DEPOSIT, fee: FEE })
  assert.deepEqual(bodies, [{ step: 'claim', body: { token: String(T) } }])
  assert.deepEqual([simulated.length, sent.length, sent[0].to, sent[0].value], [1, 1, COURT, DEPOSIT + FEE])
})

test('a lying API\'s batch-item claim is tx_mismatch: nothing simulated, nothing sent', async () => {
  const args = itemArgs(1)
  const o = args[4]
  const lies = /** @type {[string, any][]} */ ([
    ['ten review fees', { value: String(DEPOSIT + 10n * FEE) }],
    ['the deposit alone', { value: String(DEPOSIT) }],
    ['to the attacker', { to: ATTACKER }],
    ['another item (its own valid opening)', { data: claimData(itemArgs(2)) }],
    ['the item id with another item\'s opening', { data: claimData(itemArgs(2, T)) }],
    ['another fingerprint', { data: claimData([T, word(99), args[2], args[3], o]) }],
    ['a fingerprint proof that leads nowhere', { data: claimData([T, args[1], [word(5)], args[3], o]) }],
    ['another descriptor (the jurors would judge other values)', { data: claimData([T, args[1], args[2], '0x0909', o]) }],
    ['another content hash (the jurors would judge other bytes)', { data: claimData([T, args[1], args[2], args[3], { ...o, contentHash: word(555) }]) }],
    ['another seed', { data: claimData([T, args[1], args[2], args[3], { ...o, seed: 77n }]) }],
    ['the single-token claim for an item id', { data: encodeFunctionData({ abi: batchCourtAbi, functionName: 'claimMisattested', args: [T, RECORD] }) }],
    ['the finalize', { data: finalizeData(T, RECORD) }],
  ])
  for (const [why, lie] of lies) {
    const { c, sent, simulated } = itemClient({ answers: { claim: lie } })
    await assert.rejects(c.claimMisattested({ token: T }), (/** @type {any} */ e) => {
      assert.ok(e instanceof AigcSdkError, why)
      assert.equal(e.code, 'tx_mismatch', why)
      return true
    })
    assert.deepEqual([sent.length, simulated.length], [0, 0], why)
  }
})

test('finalizeMisattested of a batch item sends the claimed record (its leaf values, the batch\'s ESP) with no Ether', async () => {
  const { c, sent, simulated } = itemClient({ logs: [decidedLog(3)] })
  assert.deepEqual(await c.finalizeMisattested({ token: T }), { hash: word(1), state: 'upheld', upheld: true })
  assert.deepEqual([simulated.length, sent.length, sent[0].value], [1, 1, 0n])
})

test('a lying API\'s batch-item finalize is tx_mismatch (another ESP, other values, another item, Ether)', async () => {
  const lies = /** @type {[string, any][]} */ ([
    ['another ESP named', { data: finalizeData(T, { ...RECORD, esp: ATTACKER }) }],
    ['another fingerprint', { data: finalizeData(T, { ...RECORD, fingerprint: word(99) }) }],
    ['another detail hash', { data: finalizeData(T, { ...RECORD, detailHash: word(98) }) }],
    ['another item', { data: finalizeData(OTHER, RECORD) }],
    ['Ether on it', { value: '1' }],
    ['the claim instead', { data: claimData(itemArgs(1)) }],
  ])
  for (const [why, lie] of lies) {
    const { c, sent, simulated } = itemClient({ answers: { finalize: lie } })
    await assert.rejects(c.finalizeMisattested({ token: T }), (/** @type {any} */ e) => e instanceof AigcSdkError && e.code === 'tx_mismatch', why)
    assert.deepEqual([sent.length, simulated.length], [0, 0], why)
  }
})

test('itemRecordHash is the court\'s: keccak256(abi.encode(fp, detailHash, esp)) with the lowest bit set', () => {
  const h = itemRecordHash(RECORD)
  assert.equal(BigInt(h) & 1n, 1n)
  assert.equal(BigInt(h) >> 1n, BigInt(keccak256(encodeAbiParameters(parseAbiParameters('bytes32, bytes32, address'), [RECORD.fingerprint, RECORD.detailHash, RECORD.esp]))) >> 1n)
})
