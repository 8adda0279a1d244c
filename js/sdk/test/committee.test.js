// requestReview and drawReview (issue 11) against a fake API and chain: requestReview posts the
// pair as decimal strings, sends only CommitteeVerifier.requestReview of that pair in the
// Registry's collection to the committee the Registry consults (with the fee) and returns the
// draw block; drawReview sends only `draw` of that pair's key to that committee, and reads what
// the draw did. The API's 409s (CommitteeTooSmall, no_committee) and the contract's refusals
// (CommitteeDrawTooEarly, CommitteeAlreadyDrawn, ...) come back typed, with nothing sent.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  BaseError, encodeAbiParameters, encodeErrorResult, encodeEventTopics, encodeFunctionData, keccak256, parseAbiParameters,
  RawContractError, toEventSelector, toFunctionSelector,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { AigcApiError, AigcContractError, committeeAbi, createAigcClient, drawReview, requestReview, reviewKey } from '../src/index.js'
import { ADDRESS, fakeApi, HEALTH, KEY, REGISTRY } from './helpers.js'

const COMMITTEE = '0xa513E6E4b8f2a923D98304ec87F64353C4D5C853'
const OTHER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const JUROR = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const O = 2n ** 255n + 7n // the challenger's token (a content hash)
const D = 2n ** 200n + 5n // the accused's
const DETAIL_A = /** @type {`0x${string}`} */ ('0x0102')
const DETAIL_B = /** @type {`0x${string}`} */ ('0x0304')
const HASH_A = keccak256(DETAIL_A)
const HASH_B = keccak256(DETAIL_B)
const FEE = 3_000_000_000_000_000n

/**
 * The API's requestReview calldata.
 * @param {{ collection?: `0x${string}`, o?: bigint, d?: bigint, a?: `0x${string}`, b?: `0x${string}` }} [p]
 */
function calldata({ collection = REGISTRY, o = O, d = D, a = HASH_A, b = HASH_B } = {}) {
  const record = (/** @type {`0x${string}`} */ h) => ({ fingerprint: HASH_A, detailHash: h, esp: REGISTRY, priorityBlock: 1n, commitBlock: 1n, revealBlock: 2n })
  const opening = (/** @type {`0x${string}`} */ h) => ({ contentHash: HASH_A, seed: 0n, proof: [], record: record(h) })
  return encodeFunctionData({ abi: committeeAbi, functionName: 'requestReview', args: [collection, o, d, a, b, opening(a), opening(b)] })
}

/** The committee's ReviewRequested about (O, D), from `emitter`. */
function requested(emitter = COMMITTEE, key = reviewKey(REGISTRY, O, D, HASH_A, HASH_B)) {
  return {
    address: emitter,
    topics: encodeEventTopics({ abi: committeeAbi, eventName: 'ReviewRequested', args: { key, collection: REGISTRY } }),
    data: encodeAbiParameters(
      parseAbiParameters('uint256, uint256, bytes32, bytes32, address, uint64'),
      [O, D, HASH_A, HASH_B, ADDRESS, 101n],
    ),
  }
}

/** The committee's ReviewDrawn of the pair's review, from `emitter`. */
function drawn(emitter = COMMITTEE, key = reviewKey(REGISTRY, O, D, HASH_A, HASH_B)) {
  return {
    address: emitter,
    topics: encodeEventTopics({ abi: committeeAbi, eventName: 'ReviewDrawn', args: { key } }),
    data: encodeAbiParameters(parseAbiParameters('address[], uint64, uint64'), [[JUROR], 110n, 120n]),
  }
}

/** The API's draw calldata. */
function drawData(key = reviewKey(REGISTRY, O, D, HASH_A, HASH_B)) {
  return encodeFunctionData({ abi: committeeAbi, functionName: 'draw', args: [key] })
}

/** The review the fake committee holds under any key: of (O, D) in the Registry, unless told. */
const HELD = {
  requester: ADDRESS, collection: REGISTRY, original: O, duplicate: D, drawBlock: 101n, commitDeadline: 0n,
  revealDeadline: 0n, yes: 0, no: 0, settled: false, cancelled: false, jurors: [],
}

/**
 * A client over a fake API (`answer`: the route's calldata, `to`, `value`, or [status, body]) and
 * a fake chain whose Registry names `verifier` as its detailVerifier(), that records simulations,
 * reads and sends, reverts a simulation with `revert` when set, and mines with `logs`.
 * a chain whose committee's parameters() name `fee` as the review fee,
 * its latest block `latest`,
 * @param {{ answer?: any, verifier?: string, revert?: unknown, logs?: any[], held?: any, fee?: bigint, latest?: bigint }} [o]
 */
function reviewClient({ answer = {}, verifier = COMMITTEE, revert, logs = [requested()], held = HELD, fee = FEE, latest = 100n } = {}) {
  /** @type {any[]} */
  const bodies = []
  /** @type {any[]} */
  const sent = []
  /** @type {any[]} */
  const simulated = []
  /** @type {any[]} */
  const reads = []
  const api = fakeApi({
    'GET /v1/deployment': () => [200, { chain_id: 31337, contracts: HEALTH.contracts }],
    'POST /v1/tx/review/request': ({ body }) => {
      bodies.push(body)
      if (Array.isArray(answer)) return answer
      const tx = {
        to: answer.to ?? COMMITTEE,
        data: answer.data ?? calldata(),
        value: answer.value ?? String(FEE),
        chainId: 31337, gas: 600000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS,
      }
      return /** @type {[number, any]} */ ([200, tx])
    },
    'POST /v1/tx/review/draw': ({ body }) => {
      bodies.push(body)
      if (Array.isArray(answer)) return answer
      const tx = {
        to: answer.to ?? COMMITTEE,
        data: answer.data ?? drawData(),
        value: answer.value ?? '0',
        chainId: 31337, gas: 900000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS,
      }
      return /** @type {[number, any]} */ ([200, tx])
    },
  })
  const publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    call: async (/** @type {any} */ req) => {
      simulated.push(req)
      if (revert) throw revert
      return { data: undefined }
    },
    readContract: async (/** @type {any} */ req) => {
      reads.push(req)
      if (req.functionName === 'review') return held
      if (req.functionName === 'parameters') {
        return { jurors: 5, jurorBond: 10n ** 16n, reviewFee: fee, commitBlocks: 8n, revealBlocks: 8n }
      }
      assert.equal(req.functionName, 'detailVerifier')
      assert.equal(req.address, REGISTRY)
      return verifier
    },
    getBlockNumber: async () => latest,
    waitForTransactionReceipt: async () => ({ status: 'success', logs }),
  })
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: privateKeyToAccount(KEY),
    sendTransaction: async (/** @type {any} */ req) => {
      sent.push(req)
      return `0x${'ab'.repeat(32)}`
    },
  })
  const c = createAigcClient({ baseUrl: 'http://api.test', publicClient, walletClient, fetch: api.fetch })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  return { c, api, bodies, sent, simulated, reads }
}

test('CommitteeVerifier: every fragment the SDK uses is in the compiled ABI', () => {
  const url = new URL('../../../contracts/artifacts/CommitteeVerifier.json', import.meta.url)
  const compiled = JSON.parse(readFileSync(url, 'utf8')).abi
  for (const item of committeeAbi) {
    const sel = item.type === 'event' ? toEventSelector(item) : item.type === 'function' ? toFunctionSelector(item) : toFunctionSelector(/** @type {any} */ ({ ...item, type: 'function' }))
    const match = compiled.find((/** @type {any} */ c) => c.type === item.type && c.name === item.name
      && (c.type === 'event' ? toEventSelector(c) : toFunctionSelector({ ...c, type: 'function' })) === sel)
    assert.ok(match, `CommitteeVerifier.${item.name}: no compiled item with this signature`)
    if (item.type === 'function') {
      assert.deepEqual(match.outputs.map((/** @type {any} */ o) => o.type), item.outputs.map((o) => o.type), item.name)
      assert.equal(match.stateMutability, item.stateMutability, item.name)
    }
    if (item.type === 'event') {
      assert.deepEqual(match.inputs.map((/** @type {any} */ i) => !!i.indexed), item.inputs.map((i) => !!(/** @type {any} */ (i).indexed)), item.name)
    }
  }
})

test('reviewKey is the contract\'s: keccak256(abi.encode(collection, original, duplicate, detailHashA, detailHashB)), order kept', () => {
  const word = (/** @type {bigint} */ n) => n.toString(16).padStart(64, '0')
  const packed = `0x${REGISTRY.slice(2).toLowerCase().padStart(64, '0')}${word(O)}${word(D)}${HASH_A.slice(2)}${HASH_B.slice(2)}`
  assert.equal(reviewKey(REGISTRY, O, D, HASH_A, HASH_B), keccak256(/** @type {`0x${string}`} */ (packed)))
  assert.notEqual(reviewKey(REGISTRY, O, D, HASH_A, HASH_B), reviewKey(REGISTRY, O, D, HASH_B, HASH_A))
  assert.notEqual(reviewKey(REGISTRY, O, D, HASH_A, HASH_B), reviewKey(REGISTRY, O, D + 1n, HASH_A, HASH_B)) // another dispute
})

test('requestReview posts the pair as decimal strings, simulates, and sends requestReview with the fee to the Registry\'s committee', async () => {
  const { c, bodies, sent, simulated, reads } = reviewClient()
  const out = await c.requestReview({ original: `0x${O.toString(16)}`, duplicate: D, details: { original: DETAIL_A, duplicate: DETAIL_B } })
  assert.deepEqual(bodies, [{ original: String(O), duplicate: String(D) }])
  assert.deepEqual(sent.map((s) => [s.to, s.data, s.value]), [[COMMITTEE, calldata(), FEE]])
  assert.deepEqual(simulated.map((s) => [s.account, s.to, s.data, s.value]), [[ADDRESS, COMMITTEE, calldata(), FEE]])
  assert.deepEqual(reads.map((r) => r.functionName), ['detailVerifier', 'parameters'])
  assert.deepEqual(out, { hash: `0x${'ab'.repeat(32)}`, key: reviewKey(REGISTRY, O, D, HASH_A, HASH_B), fee: FEE, drawBlock: 101n })
})

test('a ReviewRequested from another contract or about another pair is not read as the committee\'s', async () => {
  for (const logs of [[requested(OTHER)], [requested(COMMITTEE, reviewKey(REGISTRY, O, D, HASH_B, HASH_A))], []]) {
    const out = await requestReview(reviewClient({ logs }).c, { original: O, duplicate: D })
    assert.equal(out.drawBlock, null)
  }
})

test('the API\'s 409s come back as AigcApiError with its code, nothing read or sent: CommitteeTooSmall, no_committee', async () => {
  const small = { error: { code: 'CommitteeTooSmall', message: 'CommitteeTooSmall(enrolled=2, needed=5)', fields: { enrolled: '2', needed: '5' } } }
  const none = { error: { code: 'no_committee', message: 'this deployment has no committee: contest directly' } }
  for (const [envelope, code] of /** @type {const} */ ([[small, 'CommitteeTooSmall'], [none, 'no_committee']])) {
    const { c, sent, simulated, reads } = reviewClient({ answer: [409, envelope] })
    const err = await requestReview(c, { original: O, duplicate: D }).catch((e) => e)
    assert.ok(err instanceof AigcApiError, code)
    assert.deepEqual([err.status, err.code], [409, code])
    assert.equal(sent.length + simulated.length + reads.length, 0, code)
    if (code === 'CommitteeTooSmall') assert.deepEqual(err.fields, { enrolled: '2', needed: '5' })
  }
})

test('an API review request for another pair, collection, contract or detail is refused unsent', async () => {
  /** @type {[string, any, any?][]} */
  const lies = [
    ['another duplicate', { data: calldata({ d: D + 1n }) }],
    ['the pair swapped', { data: calldata({ o: D, d: O }) }],
    ['another collection', { data: calldata({ collection: OTHER }) }],
    ['another function', { data: encodeFunctionData({ abi: committeeAbi, functionName: 'reviewKey', args: [REGISTRY, O, D, HASH_A, HASH_B] }) }],
    ['no call at all', { data: '0x1234' }],
    ['not hex', { data: 'requestReview' }],
    ['another contract (the fee would be lost)', { to: OTHER }],
    ['other detail hashes than the descriptors held', { data: calldata({ a: HASH_B, b: HASH_A }) }, { original: DETAIL_A, duplicate: DETAIL_B }],
  ]
  for (const [what, answer, details] of lies) {
    const { c, sent, simulated } = reviewClient({ answer })
    await assert.rejects(requestReview(c, { original: O, duplicate: D, details }), { name: 'AigcSdkError', code: 'tx_mismatch' }, what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
})

test('an API review request whose value is not the committee\'s reviewFee read from the chain is refused unsent', async () => {
  // the contract would refuse a wrong value too, but the check is the SDK's own (as the court's
  // challenge and contest check challengeDeposit): the API's word on the fee is never taken
  for (const [what, value] of /** @type {const} */ ([['ten fees', String(10n * FEE)], ['one wei more', String(FEE + 1n)], ['no fee', '0']])) {
    const { c, sent, simulated } = reviewClient({ answer: { value } })
    const err = await requestReview(c, { original: O, duplicate: D }).catch((e) => e)
    assert.deepEqual([err.name, err.code], ['AigcSdkError', 'tx_mismatch'], what)
    assert.match(err.message, new RegExp(`reviewFee ${FEE}`), what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
  // a committee whose fee moved (another deployment): the chain's figure is the one sent
  const moved = reviewClient({ answer: { value: String(2n * FEE) }, fee: 2n * FEE })
  assert.equal((await requestReview(moved.c, { original: O, duplicate: D })).fee, 2n * FEE)
  assert.equal(moved.sent[0].value, 2n * FEE)
})

test('the committee\'s address: the Registry\'s detailVerifier() unless one is given', async () => {
  const moved = reviewClient({ verifier: OTHER })
  await assert.rejects(requestReview(moved.c, { original: O, duplicate: D }), { code: 'tx_mismatch' })
  assert.equal(moved.sent.length, 0)
  const given = reviewClient({ answer: { to: OTHER }, logs: [requested(OTHER)] })
  const out = await requestReview(given.c, { original: O, duplicate: D, committeeVerifier: /** @type {`0x${string}`} */ (OTHER.toLowerCase()) })
  // the fee is read from the committee named (no detailVerifier() read)
  assert.deepEqual([given.sent.length, given.reads.map((r) => [r.functionName, r.address]), out.drawBlock], [1, [['parameters', OTHER]], 101n])
})

test('the contract\'s refusal in the simulation is AigcContractError by name (a pair already under review), unsent', async () => {
  const key = reviewKey(REGISTRY, O, D, HASH_A, HASH_B)
  const data = encodeErrorResult({ abi: committeeAbi, errorName: 'CommitteeReviewExists', args: [key] })
  const { c, sent } = reviewClient({ revert: new BaseError('execution reverted', { cause: new RawContractError({ data }) }) })
  const err = await requestReview(c, { original: O, duplicate: D }).catch((e) => e)
  assert.ok(err instanceof AigcContractError)
  assert.deepEqual([err.code, err.fields, err.contract], ['CommitteeReviewExists', { key }, COMMITTEE])
  assert.equal(sent.length, 0)
})

test('drawReview posts the pair, checks the review under the key is this pair\'s, simulates and sends draw; reads the jurors', async () => {
  const { c, bodies, sent, simulated, reads } = reviewClient({ logs: [drawn(OTHER), drawn()] })
  const out = await drawReview(c, { original: O, duplicate: D })
  assert.deepEqual(bodies, [{ original: String(O), duplicate: String(D) }])
  assert.deepEqual(sent.map((s) => [s.to, s.data, s.value]), [[COMMITTEE, drawData(), 0n]])
  assert.deepEqual(simulated.map((s) => [s.account, s.to, s.data, s.value, s.blockTag]), [[ADDRESS, COMMITTEE, drawData(), 0n, 'pending']])
  assert.deepEqual(reads.map((r) => r.functionName), ['detailVerifier', 'review'])
  assert.deepEqual(out, {
    hash: `0x${'ab'.repeat(32)}`, key: reviewKey(REGISTRY, O, D, HASH_A, HASH_B), outcome: 'drawn', jurors: [JUROR],
    commitDeadline: 110n, revealDeadline: 120n, drawBlock: null,
  })
  // with the descriptors held, the key is checked against them (no read of the review)
  const held = reviewClient({ logs: [] })
  const none = await drawReview(held.c, { original: O, duplicate: D, details: { original: DETAIL_A, duplicate: DETAIL_B } })
  assert.deepEqual([held.reads.map((r) => r.functionName), none.outcome], [['detailVerifier'], null])
})

test('drawReview reads a re-armed and a cancelled draw', async () => {
  const key = reviewKey(REGISTRY, O, D, HASH_A, HASH_B)
  const rearmed = {
    address: COMMITTEE,
    topics: encodeEventTopics({ abi: committeeAbi, eventName: 'ReviewRearmed', args: { key } }),
    data: encodeAbiParameters(parseAbiParameters('uint64'), [400n]),
  }
  const out = await drawReview(reviewClient({ logs: [rearmed] }).c, { original: O, duplicate: D })
  assert.deepEqual([out.outcome, out.drawBlock, out.jurors], ['rearmed', 400n, null])
  const cancelled = { address: COMMITTEE, topics: encodeEventTopics({ abi: committeeAbi, eventName: 'ReviewCancelled', args: { key } }), data: '0x' }
  const gone = await drawReview(reviewClient({ logs: [cancelled] }).c, { original: O, duplicate: D })
  assert.equal(gone.outcome, 'cancelled')
})

test('an API draw of another pair\'s review, another call, contract or with Ether is refused unsent', async () => {
  const other = reviewKey(REGISTRY, O, D, HASH_B, HASH_A)
  /** @type {[string, any, any?, any?][]} */
  const lies = [
    ['another pair\'s key (the descriptors held)', { data: drawData(other) }, { original: DETAIL_A, duplicate: DETAIL_B }],
    ['a review of another pair on chain', {}, undefined, { ...HELD, duplicate: D + 1n }],
    ['a review in another collection', {}, undefined, { ...HELD, collection: OTHER }],
    ['another function', { data: encodeFunctionData({ abi: committeeAbi, functionName: 'reviewKey', args: [REGISTRY, O, D, HASH_A, HASH_B] }) }],
    ['no call at all', { data: '0x1234' }],
    ['another contract', { to: OTHER }],
    ['Ether sent with it', { value: '1' }],
  ]
  for (const [what, answer, details, held] of lies) {
    const { c, sent, simulated } = reviewClient({ answer, held })
    await assert.rejects(drawReview(c, { original: O, duplicate: D, details }), { name: 'AigcSdkError', code: 'tx_mismatch' }, what)
    assert.equal(sent.length + simulated.length, 0, what)
  }
})

test('a draw the contract refuses is AigcContractError by name (too early, already drawn), unsent', async () => {
  const key = reviewKey(REGISTRY, O, D, HASH_A, HASH_B)
  for (const [errorName, args] of /** @type {const} */ ([['CommitteeDrawTooEarly', [key, 101n]], ['CommitteeAlreadyDrawn', [key]]])) {
    const data = encodeErrorResult({ abi: committeeAbi, errorName, args: /** @type {any} */ (args) })
    const { c, sent } = reviewClient({ revert: new BaseError('execution reverted', { cause: new RawContractError({ data }) }) })
    const err = await drawReview(c, { original: O, duplicate: D }).catch((e) => e)
    assert.ok(err instanceof AigcContractError, errorName)
    assert.equal(err.code, errorName)
    assert.equal(sent.length, 0)
  }
})

test('a refusal whose revert data the wallet dropped is named from the committee\'s state, with the code the web\'s draw loop reads', async () => {
  // Some wallets (and the browser tests' node-backed one) hand a reverted eth_call back as
  // "execution reverted" without its data: the SDK's draw then failed with no code, and the
  // page's loop, which reads CommitteeDrawTooEarly / CommitteeAlreadyDrawn, gave up the draw.
  const key = reviewKey(REGISTRY, O, D, HASH_A, HASH_B)
  const bare = new BaseError('execution reverted', { details: 'execution reverted: b"\\x01..."' })
  /** @type {[string, any, bigint, string | null, any][]} */
  const cases = [
    ['its draw block not passed (the pending block is not past it)', HELD, 100n, 'CommitteeDrawTooEarly', { key, drawBlock: 101n }],
    ['drawn already (by a juror\'s duty)', { ...HELD, revealDeadline: 130n }, 120n, 'CommitteeAlreadyDrawn', { key }],
    ['cancelled', { ...HELD, cancelled: true }, 120n, 'CommitteeAlreadyDrawn', { key }],
    ['past its draw block and open: nothing to name', HELD, 101n, null, null],
  ]
  for (const [what, held, latest, code, fields] of cases) {
    const { c, sent } = reviewClient({ revert: bare, held, latest })
    const err = await drawReview(c, { original: O, duplicate: D, details: { original: DETAIL_A, duplicate: DETAIL_B } }).catch((e) => e)
    if (code === null) assert.equal(err, bare, what)
    else {
      assert.ok(err instanceof AigcContractError, what)
      assert.deepEqual([err.code, err.fields, err.contract], [code, fields, COMMITTEE], what)
    }
    assert.equal(sent.length, 0, what)
  }
  // a request of a pair the committee already reviews: CommitteeReviewExists; none held: the error as it came
  const exists = reviewClient({ revert: bare })
  const err = await requestReview(exists.c, { original: O, duplicate: D }).catch((e) => e)
  assert.ok(err instanceof AigcContractError)
  assert.deepEqual([err.code, err.fields], ['CommitteeReviewExists', { key }])
  const fresh = reviewClient({ revert: bare, held: { ...HELD, drawBlock: 0n } })
  assert.equal(await requestReview(fresh.c, { original: O, duplicate: D }).catch((e) => e), bare)
  assert.equal(exists.sent.length + fresh.sent.length, 0)
})
