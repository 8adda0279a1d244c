// The ESP's batch attestation: the EIP-712 typed data it signs over a batch's two roots, and
// its attestation file (services.batch.SignedBatch.to_json) checked before anything is paid.

import { getAddress, hashTypedData } from 'viem'
import { buildBatch, toAddress, toBytes32, toUint } from './batch.js'
import { AigcSdkError } from './errors.js'
import { lockId, toLock } from './locks.js'
import { toBigInt } from './numbers.js'

/** @typedef {import('./numbers.js').Numberish} Numberish */
/** @typedef {`0x${string}`} Hex */

/** The EIP-712 type of the ESP's attestation over a batch (BatchRegistry's domain). */
export const BATCH_ATTESTATION_TYPES = /** @type {const} */ ({
  BatchAttestation: [
    { name: 'taskId', type: 'bytes32' },
    { name: 'producer', type: 'address' },
    { name: 'itemsRoot', type: 'bytes32' },
    { name: 'fpRoot', type: 'bytes32' },
    { name: 'count', type: 'uint32' },
    { name: 'modelId', type: 'bytes32' },
  ],
})

/**
 * The typed data an ESP signs for a batch (viem `signTypedData` takes it as is), under the domain
 * "AIGC BatchRegistry" / "1" of the BatchRegistry at `verifyingContract` on `chainId`. taskId is
 * the paid generation lock's id.
 * @param {{ chainId: Numberish, verifyingContract: Hex, taskId: Hex, producer: Hex,
 *   itemsRoot: Hex, fpRoot: Hex, count: Numberish, modelId: Hex }} a
 */
export function batchAttestationTypedData(a) {
  const count = toUint(a.count, 'count', 2n ** 32n)
  if (count === 0n) throw new AigcSdkError('batch_empty', 'a batch has at least one item')
  return {
    domain: {
      name: 'AIGC BatchRegistry',
      version: '1',
      chainId: Number(toUint(a.chainId, 'chainId', 2n ** 53n)),
      verifyingContract: toAddress(a.verifyingContract, 'verifyingContract'),
    },
    types: BATCH_ATTESTATION_TYPES,
    primaryType: /** @type {const} */ ('BatchAttestation'),
    message: {
      taskId: toBytes32(a.taskId, 'taskId'),
      producer: toAddress(a.producer, 'producer'),
      itemsRoot: toBytes32(a.itemsRoot, 'itemsRoot'),
      fpRoot: toBytes32(a.fpRoot, 'fpRoot'),
      count: Number(count),
      modelId: toBytes32(a.modelId, 'modelId'),
    },
  }
}

/**
 * The EIP-712 digest of a batch attestation (the contract's attestationDigest).
 * @param {Parameters<typeof batchAttestationTypedData>[0]} a
 * @returns {Hex}
 */
export function batchAttestationDigest(a) {
  return hashTypedData(batchAttestationTypedData(a))
}

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
