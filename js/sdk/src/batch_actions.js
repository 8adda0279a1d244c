// Batch registration's transactions: commit and reveal of an attested batch (encoded here, or
// built by the API's /v1/tx/batch routes and checked here against the same encoding), and the
// disputes of batched items.

import { decodeFunctionData, encodeFunctionData, getAddress, hashTypedData, parseAbi, parseEventLogs } from 'viem'
import { batchCommitment, isDegenerateFingerprint, toBytes32 } from './batch.js'
import { attestationTypedData, checkBatchAttestation } from './batch_attestation.js'
import { getDeployment } from './deployment.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { lockToApi, newSecret } from './locks.js'
import { toBigInt, toDecimal } from './numbers.js'
import { address, sendUnsigned, write } from './wallet.js'

/** @typedef {import('./batch_attestation.js').BatchAttestation} BatchAttestation */

const LOCK = '(address sender, address receiver, uint8 asset, address token, uint256 amount, bytes32 hashlock, uint64 timelock)'
const RECORD = '(bytes32 fingerprint, bytes32 detailHash, address esp, uint64 priorityBlock, uint64 commitBlock, uint64 revealBlock)'

/** The BatchRegistry functions and events the SDK calls (checked against the artifact by a test). */
export const batchRegistryAbi = parseAbi([
  'function commit(bytes32 commitment, uint32 count) payable',
  `function reveal((bytes32 itemsRoot, bytes32 salt, bytes32 modelId, string metadataURI) r, bytes32[] fingerprints, ${LOCK} lock, bytes espSignature) returns (uint256 batchId)`,
  'function challenge(uint256 original, bytes32 fpA, bytes32[] proofA, uint256 duplicate, bytes32 fpB, bytes32[] proofB) payable',
  `function challengeWithSingle(uint256 original, ${RECORD} a, uint256 duplicate, bytes32 fpB, bytes32[] proofB) payable`,
  'struct RecordProof { bytes32 fingerprint; bytes32 detailHash; address esp; uint64 priorityBlock; uint64 commitBlock; uint64 revealBlock; }',
  'struct ItemOpening { bytes32 contentHash; uint256 seed; bytes32[] proof; RecordProof record; }',
  'function contest(uint256 original, uint256 duplicate, bytes detailB, ItemOpening b) payable',
  'function resolve(uint256 original, uint256 duplicate, bytes detailA, ItemOpening a, bytes detailB, ItemOpening b) returns (bool upheld)',
  'function finalize(uint256 original, uint256 duplicate) returns (bool upheld)',
  'function settle(uint256 original, uint256 duplicate)',
  'function parameters() view returns ((uint256 bondPerItem, uint256 challengeDeposit, uint256 challengeReward, uint256 matchThreshold, uint64 commitTtl, uint64 registrationWindow, uint64 disputeWindow, uint64 rewardHoldBlocks, uint96 royaltyBps, uint32 maxBatch))',
  'function commitOf(bytes32 commitment) view returns (uint64 blockNumber, uint32 count)',
  'function batchOf(uint256 batchId) view returns ((bytes32 fpRoot, bytes32 itemsRoot, address owner, address esp, uint32 count, uint64 priorityBlock, uint64 commitBlock, uint64 revealBlock))',
  'function attestationDigest(bytes32 taskId, address producer, bytes32 itemsRoot, bytes32 fpRoot, uint32 count, bytes32 modelId) view returns (bytes32)',
  'error BatchDisputeState(uint256 original, uint256 duplicate, uint8 state)',
  'error BatchRewardHeld(uint256 duplicate, uint64 releasableAtBlock)',
  'event ChallengeDecided(uint256 indexed original, uint256 indexed duplicate, uint8 state, bool contested)',
  'error BatchUnknownToken(uint256 tokenId)',
  'event BatchRegistered(uint256 indexed batchId, address indexed producer, address indexed esp, uint256 startId, uint32 count, bytes32 fpRoot, bytes32 itemsRoot, bytes32 taskId, uint64 priorityBlock, uint64 commitBlock, bytes32 modelId, string metadataURI, bytes32[] fingerprints)',
])

/** The HashTimeLock view the pre-flight reads (checked against the artifact by a test). */
export const lockInfoAbi = parseAbi(['function lockInfo(bytes32 id) view returns (uint8 status, uint64 lockedAtBlock)'])
const WITHDRAWN = 2 // IHashTimeLock.Status

/**
 * A contract call for the wallet: viem's writeContract / simulateContract take it as is.
 * @typedef {{ address: `0x${string}`, abi: typeof batchRegistryAbi, functionName: 'commit' | 'reveal',
 *   args: readonly any[], value?: bigint }} BatchCall
 */

/**
 * The commitment of an attested batch owned by its producer, with a fresh salt unless given.
 * The commitment binds the owner, so a copied commitment registers nothing for the copier.
 * @param {BatchAttestation} a
 * @param {`0x${string}`} [salt]
 */
function commitmentOf(a, salt) {
  const s = salt === undefined ? newSecret().preimage : toBytes32(salt, 'salt')
  const commitment = batchCommitment({
    itemsRoot: a.batch.itemsRoot, fingerprintsHash: a.batch.fingerprintsHash, count: a.batch.count, owner: a.producer, salt: s,
  })
  return { commitment, salt: s }
}

/**
 * The commit call of an attested batch (value = bondPerItem * count; bondPerItem is read from
 * the contract's parameters() unless given) and the salt to keep for the reveal.
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: BatchAttestation, salt?: `0x${string}`, bondPerItem?: bigint }} params
 * @returns {Promise<{ call: BatchCall, commitment: `0x${string}`, salt: `0x${string}` }>}
 */
export async function batchCommitCall(client, { attestation: a, salt, bondPerItem }) {
  const c = commitmentOf(a, salt)
  const bond = bondPerItem ?? (await readParameters(client, a.batchRegistry)).bondPerItem
  return {
    call: { address: a.batchRegistry, abi: batchRegistryAbi, functionName: 'commit', args: [c.commitment, a.batch.count], value: bond * BigInt(a.batch.count) },
    ...c,
  }
}

/**
 * The reveal call of a committed batch (sent by its producer, in a later block than the commit).
 * @param {{ attestation: BatchAttestation, salt: `0x${string}`, metadataUri?: string }} params
 * @returns {BatchCall}
 */
export function batchRevealCall({ attestation: a, salt, metadataUri = '' }) {
  return {
    address: a.batchRegistry,
    abi: batchRegistryAbi,
    functionName: 'reveal',
    args: [
      { itemsRoot: a.batch.itemsRoot, salt: toBytes32(salt, 'salt'), modelId: a.modelId, metadataURI: metadataUri },
      a.batch.fingerprints,
      a.lock,
      a.signature,
    ],
  }
}

/**
 * The API's unsigned transaction, refused (code tx_mismatch) unless it calls `call` on the
 * attested contract with exactly these arguments: an API cannot make the wallet commit another
 * batch, reveal for another owner, or pay another contract.
 * @param {import('./api-types.js').UnsignedTx} tx
 * @param {BatchCall} call
 * @returns {import('./api-types.js').UnsignedTx}
 */
function checkedTx(tx, call) {
  const expected = encodeFunctionData(/** @type {any} */ ({ abi: call.abi, functionName: call.functionName, args: call.args }))
  if (getAddress(tx.to) !== getAddress(call.address) || String(tx.data).toLowerCase() !== expected.toLowerCase()) {
    throw new AigcSdkError('tx_mismatch', `the API's ${call.functionName} transaction is not this batch's`)
  }
  if (call.functionName === 'reveal' && toBigInt(tx.value ?? 0, 'value') !== 0n) {
    throw new AigcSdkError('tx_mismatch', 'the API\'s reveal transaction sends Ether')
  }
  return tx
}

/**
 * The commit as the API builds it (POST /v1/tx/batch/commit: gas estimated as the caller, so a
 * call the contract would refuse is a 409 with its error as `code`), checked against the
 * SDK's own encoding. Keep `salt` for the reveal.
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: BatchAttestation, salt?: `0x${string}` }} params
 * @returns {Promise<{ tx: import('./api-types.js').UnsignedTx, commitment: `0x${string}`, salt: `0x${string}` }>}
 */
export async function prepareBatchCommit(client, { attestation: a, salt }) {
  const c = commitmentOf(a, salt)
  const tx = await request(client, '/v1/tx/batch/commit', { method: 'POST', json: { commitment: c.commitment, count: a.batch.count } })
  const call = /** @type {BatchCall} */ ({ address: a.batchRegistry, abi: batchRegistryAbi, functionName: 'commit', args: [c.commitment, a.batch.count] })
  return { tx: checkedTx(tx, call), ...c }
}

/**
 * The reveal as the API builds it (POST /v1/tx/batch/reveal), checked against the SDK's own
 * encoding. Ask for it after the commit is mined (the API estimates against the next block).
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: BatchAttestation, salt: `0x${string}`, metadataUri?: string }} params
 * @returns {Promise<import('./api-types.js').UnsignedTx>}
 */
export async function prepareBatchReveal(client, { attestation: a, salt, metadataUri = '' }) {
  const call = batchRevealCall({ attestation: a, salt, metadataUri })
  const tx = await request(client, '/v1/tx/batch/reveal', {
    method: 'POST',
    json: {
      items_root: a.batch.itemsRoot,
      salt: toBytes32(salt, 'salt'),
      model_id: a.modelId,
      metadata_uri: metadataUri,
      fingerprints: a.batch.fingerprints,
      lock: lockToApi(a.lock),
      signature: a.signature,
    },
  })
  return checkedTx(tx, call)
}

/**
 * The contract's parameters (bond per item, deposits, windows, maxBatch).
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} address the BatchRegistry
 */
export async function readParameters(client, address) {
  return client.publicClient.readContract({ address, abi: batchRegistryAbi, functionName: 'parameters' })
}

/**
 * What registerBatch checks before it commits, since the bond of a commitment that is never
 * revealed is burned: no fingerprint the contract calls degenerate, no more items than
 * maxBatch, the contract's own attestationDigest equal to what the ESP signed (its domain), and,
 * when the HashTimeLock's address is known (`htlc`, or the client's deployment), that the lock
 * is paid (withdrawn by the ESP) and the next block is still within registrationWindow of it.
 * Throws AigcSdkError: batch_degenerate_fingerprint, batch_too_large, bad_attestation,
 * lock_not_paid, registration_too_late.
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: BatchAttestation, htlc?: `0x${string}` }} params
 */
export async function preflightBatch(client, { attestation: a, htlc }) {
  const bad = a.batch.fingerprints.findIndex(isDegenerateFingerprint)
  if (bad >= 0) {
    throw new AigcSdkError('batch_degenerate_fingerprint', `item ${bad}: the contract refuses fingerprint ${a.batch.fingerprints[bad]}`)
  }
  const params = await readParameters(client, a.batchRegistry)
  if (a.batch.count > params.maxBatch) {
    throw new AigcSdkError('batch_too_large', `${a.batch.count} items: the contract takes at most ${params.maxBatch}`)
  }
  const m = attestationTypedData(a).message
  const digest = await client.publicClient.readContract({
    address: a.batchRegistry, abi: batchRegistryAbi, functionName: 'attestationDigest',
    args: [m.taskId, m.producer, m.itemsRoot, m.fpRoot, m.count, m.modelId],
  })
  if (digest !== hashTypedData(attestationTypedData(a))) {
    throw new AigcSdkError('bad_attestation', `the contract at ${a.batchRegistry} checks another digest (domain) than the ESP signed`)
  }
  const lockContract = htlc ?? client.cache.deployment?.addresses.htlc
  if (lockContract !== undefined) {
    const [status, lockedAt] = await client.publicClient.readContract({
      address: getAddress(lockContract), abi: lockInfoAbi, functionName: 'lockInfo', args: [a.taskId],
    })
    if (status !== WITHDRAWN) throw new AigcSdkError('lock_not_paid', `lock ${a.taskId} is not paid (status ${status})`)
    const next = (await client.publicClient.getBlockNumber()) + 1n
    if (next > lockedAt + params.registrationWindow) {
      throw new AigcSdkError('registration_too_late', `lock ${a.taskId} is from block ${lockedAt}: the window closed at ${lockedAt + params.registrationWindow}`)
    }
  }
  return params
}

/**
 * Registers an attested batch with the wallet: checks the ESP's attestation file (for this
 * wallet as the producer) and what the reveal will need (preflightBatch), commits with the
 * bond, reveals in a later block, and reads the batch id from BatchRegistered. Every item
 * becomes token tokenId(batchId, index) in the attestation's order; publish the manifest
 * (publishBatchManifest) so challengers and galleries can open each item. `via: 'wallet'`
 * (the default) encodes the calls here and needs no API session; `via: 'api'` sends the API's
 * unsigned transactions (checked against the same encoding) and reads the HashTimeLock's
 * address from the API's deployment for the lock check.
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: Record<string, any>, metadataUri?: string, salt?: `0x${string}`,
 *   via?: 'wallet' | 'api', htlc?: `0x${string}` }} params
 * @returns {Promise<{ batchId: bigint, startId: bigint, count: number, commitTx: `0x${string}`,
 *   revealTx: `0x${string}`, salt: `0x${string}`, attestation: BatchAttestation }>}
 */
export async function registerBatch(client, { attestation, metadataUri = '', salt, via = 'wallet', htlc }) {
  const a = await checkBatchAttestation(client, { attestation, producer: await address(client) })
  if (via === 'api' && htlc === undefined) await getDeployment(client)
  const params = await preflightBatch(client, { attestation: a, htlc })
  let c, v, s
  if (via === 'api') {
    const commit = await prepareBatchCommit(client, { attestation: a, salt })
    s = commit.salt
    c = await sendUnsigned(client, commit.tx)
    v = await sendUnsigned(client, await prepareBatchReveal(client, { attestation: a, salt: s, metadataUri }))
  } else {
    const commit = await batchCommitCall(client, { attestation: a, salt, bondPerItem: params.bondPerItem })
    s = commit.salt
    c = await write(client, commit.call)
    // Simulated against the pending block: the reveal runs in the block after the commit's (at
    // the latest block the contract would refuse BatchRevealTooEarly), as ledger.tx estimates.
    const reveal = { ...batchRevealCall({ attestation: a, salt: s, metadataUri }), blockTag: 'pending' }
    v = await write(client, reveal)
  }
  const [event] = parseEventLogs({ abi: batchRegistryAbi, eventName: 'BatchRegistered', logs: v.receipt.logs })
    .filter((e) => getAddress(e.address) === a.batchRegistry)
  if (!event) throw new AigcSdkError('no_event', `reveal ${v.hash} emitted no BatchRegistered`)
  return {
    batchId: event.args.batchId,
    startId: event.args.startId,
    count: event.args.count,
    commitTx: c.hash,
    revealTx: v.hash,
    salt: s,
    attestation: a,
  }
}

/**
 * A dispute's pair; with `batchRegistry` (the contract's address as you know it, not as the API
 * says) the API's transaction must also go to that contract (a deposit sent elsewhere is lost).
 * @typedef {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish,
 *   batchRegistry?: `0x${string}` }} Pair
 */

/**
 * Your batched item's opening for a contest when its manifest is not published: its detail
 * descriptor, content hash, seed and item proof against its batch's items root.
 * @typedef {{ detail: `0x${string}`, contentHash: `0x${string}`, seed: import('./numbers.js').Numberish,
 *   itemProof: readonly `0x${string}`[] }} ItemOpeningIn
 */

/**
 * Sends the API's dispute transaction for (original, duplicate) after checking it calls one of
 * `names` on the BatchRegistry about exactly this pair (and, with `opening`, opens that item).
 * @param {import('./client.js').AigcClient} client
 * @param {string} route
 * @param {string[]} names
 * @param {Pair} pair
 * @param {ItemOpeningIn} [opening]
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
async function dispute(client, route, names, { original, duplicate, batchRegistry }, opening) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  /** @type {Record<string, unknown>} */
  const body = { original: toDecimal(o), duplicate: toDecimal(d) }
  if (opening !== undefined) {
    if (typeof opening.detail !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(opening.detail)) {
      throw new AigcSdkError('bad_hex', `detail is not non-empty 0x-hex: ${JSON.stringify(opening.detail)}`)
    }
    body.detail = opening.detail
    body.content_hash = toBytes32(opening.contentHash, 'contentHash')
    body.seed = toDecimal(toBigInt(opening.seed, 'seed'))
    body.item_proof = opening.itemProof.map((p, i) => toBytes32(p, `itemProof[${i}]`))
  }
  const tx = await request(client, `/v1/tx/batch/${route}`, { method: 'POST', json: body })
  let decoded
  try {
    decoded = decodeFunctionData({ abi: batchRegistryAbi, data: tx.data })
  } catch {
    throw new AigcSdkError('tx_mismatch', `the API's ${route} transaction is no BatchRegistry call`)
  }
  const args = /** @type {readonly any[]} */ (decoded.args ?? [])
  const dup = decoded.functionName === 'challenge' ? args[3] : decoded.functionName === 'challengeWithSingle' ? args[2] : args[1]
  if (!names.includes(decoded.functionName) || args[0] !== o || dup !== d) {
    throw new AigcSdkError('tx_mismatch', `the API's ${route} transaction is not about ${o} and ${d}`)
  }
  if (opening !== undefined && String(args[2]).toLowerCase() !== opening.detail.toLowerCase()) {
    throw new AigcSdkError('tx_mismatch', `the API's ${route} transaction opens another detail than yours`)
  }
  if (batchRegistry !== undefined && getAddress(tx.to) !== getAddress(batchRegistry)) {
    throw new AigcSdkError('tx_mismatch', `the API's ${route} transaction goes to ${tx.to}, not the BatchRegistry`)
  }
  const { hash } = await sendUnsigned(client, tx)
  return { hash }
}

/**
 * Challenges a batched near-duplicate with an earlier token you own (a batch item or a single
 * registration); the API adds the proofs from the indexed events, the deposit is the value.
 * @param {import('./client.js').AigcClient} client
 * @param {Pair} pair
 */
export function challengeBatch(client, pair) {
  return dispute(client, 'challenge', ['challenge', 'challengeWithSingle'], pair)
}

/**
 * Contests a challenge of your batched token (with the same deposit), opening it: the contract
 * refuses a contest that does not prove the item against its items root and publishes the
 * opening (`ItemOpened`) so the challenger can resolve. The API takes the opening from your
 * published manifest; before you publish it, pass `opening` (else 422 `opening_required`).
 * @param {import('./client.js').AigcClient} client
 * @param {Pair} pair
 * @param {ItemOpeningIn} [opening]
 */
export function contestBatch(client, pair, opening) {
  return dispute(client, 'contest', ['contest'], pair, opening)
}

/**
 * Decides a contested challenge: the original opened (a batch item's from its published
 * manifest), the duplicate's detail as its contester opened it; anyone may send it.
 * @param {import('./client.js').AigcClient} client
 * @param {Pair} pair
 */
export function resolveBatch(client, pair) {
  return dispute(client, 'resolve', ['resolve'], pair)
}

/**
 * Decides an uncontested challenge after its window; anyone may send it.
 * @param {import('./client.js').AigcClient} client
 * @param {Pair} pair
 */
export function finalizeBatch(client, pair) {
  return dispute(client, 'finalize', ['finalize'], pair)
}
