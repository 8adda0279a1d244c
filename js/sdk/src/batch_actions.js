// Batch registration's actions: the ESP's attestation file checked before anything is paid,
// and the API's batch routes (unsigned commit / reveal transactions, batches and proofs).

import { getAddress, keccak256, parseAbi, parseEventLogs } from 'viem'
import {
  batchAttestationTypedData, batchCommitment, buildBatch, fingerprintLeaf, itemLeaf, splitTokenId, toBytes32, tokenId, toUint, verifyProof,
} from './batch.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { lockId, newSecret, toLock } from './locks.js'
import { toBigInt, toHex } from './numbers.js'
import { address, write } from './wallet.js'

/**
 * An ESP's attestation file (services.batch.SignedBatch.to_json, version 1), parsed and checked.
 * @typedef {object} BatchAttestation
 * @property {number} chainId
 * @property {`0x${string}`} batchRegistry the contract the signature is bound to
 * @property {`0x${string}`} esp
 * @property {`0x${string}`} producer
 * @property {import('./locks.js').Lock} lock the paid generation lock the batch's priority comes from
 * @property {`0x${string}`} taskId the lock's id
 * @property {`0x${string}`} modelId
 * @property {import('./batch.js').BuiltBatch} batch the items in token order, roots and proofs
 * @property {`0x${string}`} signature
 */

/**
 * Parses an attestation file and checks everything that follows from it without the chain:
 * the items are in token order (by fingerprint), the roots, count and task id follow from them,
 * and the lock runs from the producer to the ESP. Throws AigcSdkError code bad_attestation
 * (or the batch code of what is wrong with the items: batch_duplicate_fingerprint, bad_hex...).
 * The signature is checked by checkBatchAttestation.
 * @param {Record<string, any>} file
 * @returns {BatchAttestation}
 */
export function parseBatchAttestation(file) {
  if (!file || typeof file !== 'object') throw new AigcSdkError('bad_attestation', 'the attestation is not an object')
  if (Number(file.version) !== 1) throw new AigcSdkError('bad_attestation', `unknown attestation version ${file.version}`)
  if (!Array.isArray(file.items)) throw new AigcSdkError('bad_attestation', 'the attestation has no items')
  /** @type {import('./batch.js').BatchItem[]} */
  const items = file.items.map((/** @type {any} */ it) => ({
    contentHash: it?.content_hash, fingerprint: it?.fingerprint, detailHash: it?.detail_hash, seed: it?.seed,
  }))
  const batch = buildBatch(items)
  if (batch.items.some((it, k) => it !== items[k])) {
    throw new AigcSdkError('bad_attestation', 'the items are not in token order (by fingerprint)')
  }
  let lock, parsed
  try {
    lock = toLock(file.lock)
    parsed = {
      chainId: Number(toBigInt(file.chain_id, 'chain_id')),
      batchRegistry: getAddress(file.batch_registry),
      esp: getAddress(file.esp),
      producer: getAddress(file.producer),
    }
  } catch (err) {
    throw new AigcSdkError('bad_attestation', `malformed attestation: ${/** @type {Error} */ (err).message}`)
  }
  const taskId = lockId(lock)
  const claimed = {
    items_root: batch.itemsRoot, fp_root: batch.fpRoot, task_id: taskId, count: batch.count,
  }
  for (const [key, value] of Object.entries(claimed)) {
    const got = key === 'count' ? Number(file.count) : String(file[key]).toLowerCase()
    if (got !== value) throw new AigcSdkError('bad_attestation', `${key} does not follow from the items and the lock`)
  }
  if (lock.sender !== parsed.producer || lock.receiver !== parsed.esp) {
    throw new AigcSdkError('bad_attestation', 'the attested lock is not from the producer to the ESP')
  }
  return {
    ...parsed,
    lock,
    taskId,
    modelId: toBytes32(file.model_id, 'model_id'),
    batch,
    signature: /** @type {`0x${string}`} */ (String(file.signature)),
  }
}

/**
 * The attestation's EIP-712 typed data (what the ESP signed).
 * @param {BatchAttestation} a
 */
export function attestationTypedData(a) {
  return batchAttestationTypedData({
    chainId: a.chainId,
    verifyingContract: a.batchRegistry,
    taskId: a.taskId,
    producer: a.producer,
    itemsRoot: a.batch.itemsRoot,
    fpRoot: a.batch.fpRoot,
    count: a.batch.count,
    modelId: a.modelId,
  })
}

/**
 * Parses an attestation file and checks its signature with the client's publicClient (an EOA,
 * an EIP-1271 contract or an ERC-6492 counterfactual ESP, as the contract's SignatureChecker
 * accepts). With `producer`, also that the batch is yours to register.
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: Record<string, any>, producer?: `0x${string}` }} params
 * @returns {Promise<BatchAttestation>}
 */
export async function checkBatchAttestation(client, { attestation, producer }) {
  const a = parseBatchAttestation(attestation)
  if (producer !== undefined && getAddress(producer) !== a.producer) {
    throw new AigcSdkError('not_producer', `the batch is attested to ${a.producer}`)
  }
  const ok = await client.publicClient.verifyTypedData({
    address: a.esp,
    ...attestationTypedData(a),
    signature: a.signature,
  }).catch(() => false)
  if (!ok) throw new AigcSdkError('bad_attestation', 'the attestation is not signed by its ESP')
  return a
}

/**
 * A registered batch as the API serves it, numbers as BigInt (`raw` keeps the JSON).
 * @typedef {object} Batch
 * @property {bigint} batchId
 * @property {`0x${string}`} producer
 * @property {`0x${string}`} esp
 * @property {number} count
 * @property {bigint} startId the token id of item 0
 * @property {`0x${string}`} fpRoot
 * @property {`0x${string}`} itemsRoot
 * @property {`0x${string}`} taskId
 * @property {`0x${string}`} modelId
 * @property {number} priorityBlock
 * @property {number} commitBlock
 * @property {number} revealBlock
 * @property {boolean} manifestPublished
 * @property {{ index: number, tokenId: bigint, fingerprint: `0x${string}`, owner: `0x${string}`,
 *   status: string, contentHash: `0x${string}` | null, detailHash: `0x${string}` | null,
 *   seed: bigint | null }[]} items
 * @property {Record<string, any>} raw
 */

/**
 * @param {Record<string, any>} b GET /v1/batches/{id}
 * @returns {Batch}
 */
export function toBatch(b) {
  const batchId = toBigInt(b.batch_id, 'batch_id')
  return {
    batchId,
    producer: getAddress(b.producer),
    esp: getAddress(b.esp),
    count: Number(b.count),
    startId: toBigInt(b.start_id, 'start_id'),
    fpRoot: toBytes32(b.fp_root, 'fp_root'),
    itemsRoot: toBytes32(b.items_root, 'items_root'),
    taskId: toBytes32(b.task_id, 'task_id'),
    modelId: toBytes32(b.model_id, 'model_id'),
    priorityBlock: Number(b.priority_block),
    commitBlock: Number(b.commit_block),
    revealBlock: Number(b.reveal_block),
    manifestPublished: Boolean(b.manifest_published),
    items: (b.items ?? []).map((/** @type {Record<string, any>} */ it) => ({
      index: Number(it.index),
      tokenId: toBigInt(it.token_id, 'token_id'),
      fingerprint: toBytes32(it.fingerprint, 'fingerprint'),
      owner: getAddress(it.owner),
      status: String(it.status),
      contentHash: it.content_hash ? toBytes32(it.content_hash, 'content_hash') : null,
      detailHash: it.detail_hash ? toBytes32(it.detail_hash, 'detail_hash') : null,
      seed: it.seed === null || it.seed === undefined ? null : toBigInt(it.seed, 'seed'),
    })),
    raw: b,
  }
}

/**
 * A registered batch and its items (public).
 * @param {import('./client.js').AigcClient} client
 * @param {{ batchId: import('./numbers.js').Numberish }} params
 * @returns {Promise<Batch>}
 */
export async function getBatch(client, { batchId }) {
  const id = splitTokenId(tokenId(batchId, 0)).batchId
  return toBatch(await request(client, `/v1/batches/${id}`, { auth: false }))
}

/**
 * @typedef {object} BatchProof
 * @property {bigint} batchId
 * @property {number} index
 * @property {bigint} tokenId
 * @property {`0x${string}`} fingerprint
 * @property {`0x${string}`[]} fingerprintProof against fpRoot (what a challenge passes)
 * @property {`0x${string}`} fpRoot
 * @property {`0x${string}`} itemsRoot
 * @property {{ contentHash: `0x${string}`, detailHash: `0x${string}`, detail: `0x${string}`,
 *   seed: bigint, proof: `0x${string}`[] } | null} item the item opening a resolve passes (once
 *   the batch's manifest is published)
 */

/**
 * An item's proofs (public), checked here before they are returned: the fingerprint proof
 * against fpRoot and, once the manifest is published, the item's opening against itemsRoot
 * with keccak256(detail) = detailHash. An API that serves a proof the contract would refuse
 * gets code bad_proof. Pass `{ tokenId }` or `{ batchId, index }`. (The roots are the API's:
 * compare them with the chain's batchOf when the API is not trusted.)
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId?: import('./numbers.js').Numberish, batchId?: import('./numbers.js').Numberish,
 *   index?: import('./numbers.js').Numberish }} params
 * @returns {Promise<BatchProof>}
 */
export async function getBatchProof(client, params) {
  const { batchId, index } = params.tokenId !== undefined
    ? splitTokenId(params.tokenId)
    : splitTokenId(tokenId(params.batchId ?? 0, params.index ?? -1))
  const p = await request(client, `/v1/batches/${batchId}/items/${index}/proof`, { auth: false })
  const i = Number(index)
  const out = {
    batchId,
    index: i,
    tokenId: tokenId(batchId, index),
    fingerprint: toBytes32(p.fingerprint, 'fingerprint'),
    fingerprintProof: (p.fingerprint_proof ?? []).map((/** @type {unknown} */ x, /** @type {number} */ k) => toBytes32(x, `fingerprint_proof[${k}]`)),
    fpRoot: toBytes32(p.fp_root, 'fp_root'),
    itemsRoot: toBytes32(p.items_root, 'items_root'),
    item: null,
  }
  if (toBigInt(p.token_id, 'token_id') !== out.tokenId || Number(p.index) !== i) {
    throw new AigcSdkError('bad_proof', `the API answered for another item than ${out.tokenId}`)
  }
  if (!verifyProof(out.fingerprintProof, out.fpRoot, fingerprintLeaf(i, out.fingerprint))) {
    throw new AigcSdkError('bad_proof', `item ${out.tokenId}: the fingerprint proof does not lead to fpRoot`)
  }
  if (p.item_proof) {
    const detail = toHex(p.detail, 'detail')
    const item = {
      contentHash: toBytes32(p.content_hash, 'content_hash'),
      detailHash: toBytes32(p.detail_hash, 'detail_hash'),
      detail,
      seed: toBigInt(p.seed, 'seed'),
      proof: p.item_proof.map((/** @type {unknown} */ x, /** @type {number} */ k) => toBytes32(x, `item_proof[${k}]`)),
    }
    if (keccak256(detail) !== item.detailHash) {
      throw new AigcSdkError('bad_proof', `item ${out.tokenId}: the detail does not hash to detailHash`)
    }
    if (!verifyProof(item.proof, out.itemsRoot, itemLeaf(i, item.contentHash, item.detailHash, item.seed))) {
      throw new AigcSdkError('bad_proof', `item ${out.tokenId}: the item proof does not lead to itemsRoot`)
    }
    return { ...out, item }
  }
  return out
}

/**
 * Publishes a registered batch's manifest (signed in): the items in token order with their
 * detail bytes. The API accepts only the manifest that gives the batch's on-chain roots.
 * @param {import('./client.js').AigcClient} client
 * @param {{ batchId: import('./numbers.js').Numberish, items: { contentHash: `0x${string}`,
 *   fingerprint: `0x${string}`, detail: `0x${string}`, seed: import('./numbers.js').Numberish }[] }} params
 * @returns {Promise<Batch>}
 */
export async function publishBatchManifest(client, { batchId, items }) {
  const id = splitTokenId(tokenId(batchId, 0)).batchId
  if (!Array.isArray(items) || items.length === 0) throw new AigcSdkError('batch_empty', 'a manifest has at least one item')
  const body = {
    items: items.map((it, k) => ({
      content_hash: toBytes32(it.contentHash, `items[${k}].contentHash`),
      fingerprint: toBytes32(it.fingerprint, `items[${k}].fingerprint`),
      detail: detailHex(it.detail, `items[${k}].detail`),
      seed: toUint(it.seed, `items[${k}].seed`).toString(10),
    })),
  }
  return toBatch(await request(client, `/v1/batches/${id}/manifest`, { method: 'POST', json: body }))
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {`0x${string}`}
 */
function detailHex(value, what) {
  if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(value)) {
    throw new AigcSdkError('bad_hex', `${what} is not 0x-hex bytes: ${JSON.stringify(value)}`)
  }
  return /** @type {`0x${string}`} */ (value)
}

const LOCK = '(address sender, address receiver, uint8 asset, address token, uint256 amount, bytes32 hashlock, uint64 timelock)'

/** The BatchRegistry functions and events the SDK calls (checked against the artifact by a test). */
export const batchRegistryAbi = parseAbi([
  'function commit(bytes32 commitment, uint32 count) payable',
  `function reveal((bytes32 itemsRoot, bytes32 salt, bytes32 modelId, string metadataURI) r, bytes32[] fingerprints, ${LOCK} lock, bytes espSignature) returns (uint256 batchId)`,
  'function parameters() view returns ((uint256 bondPerItem, uint256 challengeDeposit, uint256 challengeReward, uint256 matchThreshold, uint64 commitTtl, uint64 registrationWindow, uint64 disputeWindow, uint96 royaltyBps, uint32 maxBatch))',
  'function commitOf(bytes32 commitment) view returns (uint64 blockNumber, uint32 count)',
  'function attestationDigest(bytes32 taskId, address producer, bytes32 itemsRoot, bytes32 fpRoot, uint32 count, bytes32 modelId) view returns (bytes32)',
  'event BatchRegistered(uint256 indexed batchId, address indexed producer, address indexed esp, uint256 startId, uint32 count, bytes32 fpRoot, bytes32 itemsRoot, bytes32 taskId, uint64 priorityBlock, uint64 commitBlock, bytes32 modelId, string metadataURI, bytes32[] fingerprints)',
])

/**
 * A contract call for the wallet: viem's writeContract / simulateContract take it as is.
 * @typedef {{ address: `0x${string}`, abi: typeof batchRegistryAbi, functionName: 'commit' | 'reveal',
 *   args: readonly any[], value?: bigint }} BatchCall
 */

/**
 * The commit of an attested batch: the call (value = bondPerItem * count, bondPerItem read from
 * the contract's parameters() unless given) and the salt to keep for the reveal. The commitment
 * binds the owner (the attestation's producer), so a copied commitment registers nothing for
 * the copier.
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: BatchAttestation, salt?: `0x${string}`, bondPerItem?: bigint }} params
 * @returns {Promise<{ call: BatchCall, commitment: `0x${string}`, salt: `0x${string}` }>}
 */
export async function prepareBatchCommit(client, { attestation: a, salt, bondPerItem }) {
  const s = salt === undefined ? newSecret().preimage : toBytes32(salt, 'salt')
  const commitment = batchCommitment({
    itemsRoot: a.batch.itemsRoot, fingerprintsHash: a.batch.fingerprintsHash, count: a.batch.count, owner: a.producer, salt: s,
  })
  const bond = bondPerItem ?? (await readParameters(client, a.batchRegistry)).bondPerItem
  return {
    call: {
      address: a.batchRegistry,
      abi: batchRegistryAbi,
      functionName: 'commit',
      args: [commitment, a.batch.count],
      value: bond * BigInt(a.batch.count),
    },
    commitment,
    salt: s,
  }
}

/**
 * The reveal of a committed batch (sent by its producer, in a later block than the commit).
 * @param {{ attestation: BatchAttestation, salt: `0x${string}`, metadataUri?: string }} params
 * @returns {BatchCall}
 */
export function prepareBatchReveal({ attestation: a, salt, metadataUri = '' }) {
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
 * The contract's parameters (bond per item, deposits, windows, maxBatch).
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} address the BatchRegistry
 */
export async function readParameters(client, address) {
  return client.publicClient.readContract({ address, abi: batchRegistryAbi, functionName: 'parameters' })
}

/**
 * Registers an attested batch with the wallet: checks the ESP's attestation file (for this
 * wallet as the producer), commits with the bond, reveals in a later block, and reads the
 * batch id from BatchRegistered. Every item becomes token tokenId(batchId, index) in the
 * attestation's order; publish the manifest (publishBatchManifest) so challengers and
 * galleries can open each item.
 * @param {import('./client.js').AigcClient} client
 * @param {{ attestation: Record<string, any>, metadataUri?: string, salt?: `0x${string}` }} params
 * @returns {Promise<{ batchId: bigint, startId: bigint, count: number, commitTx: `0x${string}`,
 *   revealTx: `0x${string}`, salt: `0x${string}`, attestation: BatchAttestation }>}
 */
export async function registerBatch(client, { attestation, metadataUri = '', salt }) {
  const a = await checkBatchAttestation(client, { attestation, producer: await address(client) })
  const params = await readParameters(client, a.batchRegistry)
  if (a.batch.count > params.maxBatch) {
    throw new AigcSdkError('batch_too_large', `${a.batch.count} items: the contract takes at most ${params.maxBatch}`)
  }
  const prepared = await prepareBatchCommit(client, { attestation: a, salt, bondPerItem: params.bondPerItem })
  const c = await write(client, prepared.call)
  // Simulated against the pending block: the reveal runs in the block after the commit's (at
  // the latest block the contract would refuse BatchRevealTooEarly), as ledger.tx estimates.
  const reveal = { ...prepareBatchReveal({ attestation: a, salt: prepared.salt, metadataUri }), blockTag: 'pending' }
  const v = await write(client, reveal)
  const [event] = parseEventLogs({ abi: batchRegistryAbi, eventName: 'BatchRegistered', logs: v.receipt.logs })
    .filter((e) => getAddress(e.address) === a.batchRegistry)
  if (!event) throw new AigcSdkError('no_event', `reveal ${v.hash} emitted no BatchRegistered`)
  return {
    batchId: event.args.batchId,
    startId: event.args.startId,
    count: event.args.count,
    commitTx: c.hash,
    revealTx: v.hash,
    salt: prepared.salt,
    attestation: a,
  }
}
