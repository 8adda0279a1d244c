// Reads of registered batches (public) and the owner's manifest, from the API's /v1/batches
// routes. Proofs are checked against the roots before they are returned.

import { getAddress, keccak256 } from 'viem'
import { batchRegistryAbi } from './batch_actions.js'
import { fingerprintLeaf, itemLeaf, splitTokenId, toBytes32, tokenId, toUint, verifyOrderedProof, verifyProof } from './batch.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toBigInt, toHex } from './numbers.js'

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
 * @property {number} count the batch's item count (an item proof verifies only with it and the index)
 * @property {{ contentHash: `0x${string}`, detailHash: `0x${string}`, detail: `0x${string}`,
 *   seed: bigint, proof: `0x${string}`[] } | null} item the item opening a resolve passes (once
 *   the batch's manifest is published)
 */

/**
 * An item's proofs (public), checked here before they are returned: the fingerprint proof
 * against fpRoot and, once the manifest is published, the item's opening against itemsRoot
 * with keccak256(detail) = detailHash. An API that serves a proof the contract would refuse
 * gets code bad_proof. Pass `{ tokenId }` or `{ batchId, index }`. The roots are the API's
 * unless `batchRegistry` (the contract's address) is given: then they must be the chain's
 * (`batchOf`), so not even the API can hand a challenger an opening the contract would refuse.
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId?: import('./numbers.js').Numberish, batchId?: import('./numbers.js').Numberish,
 *   index?: import('./numbers.js').Numberish, batchRegistry?: `0x${string}` }} params
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
    count: Number(toBigInt(p.count, 'count')),
    item: null,
  }
  if (toBigInt(p.token_id, 'token_id') !== out.tokenId || Number(p.index) !== i) {
    throw new AigcSdkError('bad_proof', `the API answered for another item than ${out.tokenId}`)
  }
  if (params.batchRegistry !== undefined) {
    const b = await client.publicClient.readContract({
      address: getAddress(params.batchRegistry), abi: batchRegistryAbi, functionName: 'batchOf', args: [batchId],
    })
    if (b.fpRoot !== out.fpRoot || b.itemsRoot !== out.itemsRoot || i >= b.count || BigInt(b.count) !== BigInt(out.count)) {
      throw new AigcSdkError('bad_proof', `batch ${batchId}: the API's roots are not the chain's`)
    }
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
    if (!verifyOrderedProof(item.proof, out.itemsRoot, itemLeaf(i, item.contentHash, item.detailHash, item.seed), i, out.count)) {
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
