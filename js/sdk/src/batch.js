// Batch registration (issue 16): the Merkle rules of BatchRegistry and its token ids, byte for
// byte as ledger/merkle.py (test/vectors/batch.json is generated from it by
// scripts/gen-batch-vectors).
//
// Trees are OpenZeppelin-style commutative: a parent is keccak256(min(a, b) || max(a, b)); leaves
// are level 0 in index order; an odd last node is carried up unchanged; one leaf is its own root.
// Leaves are double-hashed (keccak256 of keccak256 of the ABI encoding), so no leaf can pass for
// an inner node. The items tree (itemsRoot) is ordered instead (orderedRoot / orderedProof /
// verifyOrderedProof): a parent is keccak256(left || right) and a proof is checked against the
// leaf's index and the batch's count, so exactly one leaf verifies per index (a commutative tree
// would let a producer commit many leaves for one index and open whichever suits a dispute).

import { concat, encodeAbiParameters, getAddress, isAddress, keccak256 } from 'viem'
import { AigcSdkError } from './errors.js'
import { toBigInt } from './numbers.js'

/** @typedef {import('./numbers.js').Numberish} Numberish */
/** @typedef {`0x${string}`} Hex */

const UINT256 = 2n ** 256n
/** Token ids are (batchId << 32) | index and stay below 2^96 (batch ids below 2^64). */
const INDEX_BITS = 32n
const BATCH_ID_LIMIT = 2n ** 64n

/**
 * A 32-byte value as 0x + 64 lowercase hex digits; anything else is refused with code bad_hex.
 * @param {unknown} value
 * @param {string} what names the value in the error
 * @returns {Hex}
 */
export function toBytes32(value, what) {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new AigcSdkError('bad_hex', `${what} is not 32 bytes of 0x-hex: ${JSON.stringify(value)}`)
  }
  return /** @type {Hex} */ (value.toLowerCase())
}

/**
 * An unsigned integer below `limit`, else code bad_uint (not an integer) or out_of_range.
 * @param {unknown} value
 * @param {string} what
 * @param {bigint} [limit]
 * @returns {bigint}
 */
export function toUint(value, what, limit = UINT256) {
  let n
  try {
    n = toBigInt(/** @type {Numberish} */ (value), what)
  } catch (err) {
    throw new AigcSdkError('bad_uint', /** @type {Error} */ (err).message)
  }
  if (n >= limit) throw new AigcSdkError('out_of_range', `${what} must be below ${limit}: ${n}`)
  return n
}

/**
 * @param {unknown} leaves
 * @returns {Hex[]}
 */
function toLeaves(leaves) {
  if (!Array.isArray(leaves)) throw new AigcSdkError('bad_batch', 'leaves must be an array')
  if (leaves.length === 0) throw new AigcSdkError('batch_empty', 'a batch has at least one item')
  return leaves.map((l, i) => toBytes32(l, `leaves[${i}]`))
}

/**
 * @param {[{ type: string }, ...{ type: string }[]]} types
 * @param {unknown[]} values
 * @returns {Hex}
 */
function doubleHash(types, values) {
  return keccak256(keccak256(encodeAbiParameters(types, values)))
}

/**
 * Fingerprint leaf i: keccak256(bytes.concat(keccak256(abi.encode(uint256 i, bytes32 fp)))).
 * @param {Numberish} i
 * @param {Hex} fp
 * @returns {Hex}
 */
export function fingerprintLeaf(i, fp) {
  return doubleHash([{ type: 'uint256' }, { type: 'bytes32' }], [toUint(i, 'index'), toBytes32(fp, 'fingerprint')])
}

/**
 * Item leaf i: keccak256(bytes.concat(keccak256(abi.encode(uint256 i, bytes32 contentHash,
 * bytes32 detailHash, uint256 seed)))).
 * @param {Numberish} i
 * @param {Hex} contentHash
 * @param {Hex} detailHash keccak256 of the item's detail bytes
 * @param {Numberish} seed
 * @returns {Hex}
 */
export function itemLeaf(i, contentHash, detailHash, seed) {
  return doubleHash(
    [{ type: 'uint256' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }],
    [toUint(i, 'index'), toBytes32(contentHash, 'contentHash'), toBytes32(detailHash, 'detailHash'), toUint(seed, 'seed')],
  )
}

/**
 * OpenZeppelin's Hashes.commutativeKeccak256: keccak256 of the smaller node, then the larger.
 * @param {Hex} a
 * @param {Hex} b
 * @returns {Hex}
 */
function hashPair(a, b) {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]))
}

/**
 * @param {Hex[]} level
 * @returns {Hex[]}
 */
function parents(level) {
  /** @type {Hex[]} */
  const up = []
  for (let j = 0; j + 1 < level.length; j += 2) up.push(hashPair(level[j], level[j + 1]))
  if (level.length % 2 === 1) up.push(level[level.length - 1])
  return up
}

/**
 * The root over the leaves in index order (at least one leaf).
 * @param {Hex[]} leaves
 * @returns {Hex}
 */
export function merkleRoot(leaves) {
  let level = toLeaves(leaves)
  while (level.length > 1) level = parents(level)
  return level[0]
}

/**
 * Leaf i's proof: its sibling at each level, bottom-up (a level where it is carried adds none),
 * as MerkleProof.verifyCalldata takes it.
 * @param {Hex[]} leaves
 * @param {Numberish} i
 * @returns {Hex[]}
 */
export function merkleProof(leaves, i) {
  let level = toLeaves(leaves)
  let index = Number(toUint(i, 'index', BigInt(level.length)))
  /** @type {Hex[]} */
  const proof = []
  while (level.length > 1) {
    const sibling = index ^ 1
    if (sibling < level.length) proof.push(level[sibling])
    level = parents(level)
    index >>= 1
  }
  return proof
}

/**
 * Whether `proof` leads from `leaf` to `root` (MerkleProof.verify).
 * @param {Hex[]} proof
 * @param {Hex} root
 * @param {Hex} leaf
 * @returns {boolean}
 */
export function verifyProof(proof, root, leaf) {
  if (!Array.isArray(proof)) throw new AigcSdkError('bad_proof', 'proof must be an array')
  let node = toBytes32(leaf, 'leaf')
  for (const [k, p] of proof.entries()) node = hashPair(node, toBytes32(p, `proof[${k}]`))
  return node === toBytes32(root, 'root')
}

/**
 * @param {Hex[]} level
 * @returns {Hex[]}
 */
function orderedParents(level) {
  /** @type {Hex[]} */
  const up = []
  for (let j = 0; j + 1 < level.length; j += 2) up.push(keccak256(concat([level[j], level[j + 1]])))
  if (level.length % 2 === 1) up.push(level[level.length - 1])
  return up
}

/**
 * The ordered (positional) root over the leaves in index order: the items root.
 * @param {Hex[]} leaves
 * @returns {Hex}
 */
export function orderedRoot(leaves) {
  let level = toLeaves(leaves)
  while (level.length > 1) level = orderedParents(level)
  return level[0]
}

/**
 * Leaf i's proof in the ordered tree: its sibling at each level, bottom-up (a level where it is
 * carried adds none).
 * @param {Hex[]} leaves
 * @param {Numberish} i
 * @returns {Hex[]}
 */
export function orderedProof(leaves, i) {
  return orderedProofs(leaves, [i])[0]
}

/**
 * Several leaves' ordered proofs from one pass over the tree (every leaf's when `indexes` is
 * omitted).
 * @param {Hex[]} leaves
 * @param {Numberish[]} [indexes]
 * @returns {Hex[][]}
 */
export function orderedProofs(leaves, indexes) {
  let level = toLeaves(leaves)
  const count = BigInt(level.length)
  let positions = indexes === undefined ? level.map((_, k) => k) : indexes.map((i) => Number(toUint(i, 'index', count)))
  /** @type {Hex[][]} */
  const proofs = positions.map(() => [])
  while (level.length > 1) {
    for (const [k, position] of positions.entries()) {
      const sibling = position ^ 1
      if (sibling < level.length) proofs[k].push(level[sibling])
    }
    level = orderedParents(level)
    positions = positions.map((position) => position >> 1)
  }
  return proofs
}

/**
 * Whether `proof` leads from `leaf` at position `index` of a `count`-leaf ordered tree to `root`
 * (BatchRegistry._checkOpening): the index picks each sibling's side and the levels where the
 * node is carried without one; every proof step must be used.
 * @param {Hex[]} proof
 * @param {Hex} root
 * @param {Hex} leaf
 * @param {Numberish} index
 * @param {Numberish} count
 * @returns {boolean}
 */
export function verifyOrderedProof(proof, root, leaf, index, count) {
  if (!Array.isArray(proof)) throw new AigcSdkError('bad_proof', 'proof must be an array')
  let node = toBytes32(leaf, 'leaf')
  const steps = proof.map((p, k) => toBytes32(p, `proof[${k}]`))
  const want = toBytes32(root, 'root')
  let idx = toUint(index, 'index')
  let size = toUint(count, 'count')
  if (idx >= size) return false
  let k = 0
  while (size > 1n) {
    if (idx % 2n === 0n && idx === size - 1n) {
      // carried up: no sibling at this level
    } else if (k >= steps.length) {
      return false
    } else if (idx % 2n === 0n) {
      node = keccak256(concat([node, steps[k++]]))
    } else {
      node = keccak256(concat([steps[k++], node]))
    }
    idx >>= 1n
    size = (size + 1n) >> 1n
  }
  return k === steps.length && node === want
}

/**
 * keccak256(abi.encodePacked(bytes32[] fingerprints)), as the batch commitment binds them.
 * @param {Hex[]} fps
 * @returns {Hex}
 */
export function fingerprintsHash(fps) {
  return keccak256(concat(toLeaves(fps)))
}

/**
 * The commitment BatchRegistry.commit stores: keccak256(abi.encode(itemsRoot, fingerprintsHash,
 * uint256 count, owner, salt)) (the contract's commitmentFor).
 * @param {{ itemsRoot: Hex, fingerprintsHash: Hex, count: Numberish, owner: Hex, salt: Hex }} c
 * @returns {Hex}
 */
export function batchCommitment({ itemsRoot, fingerprintsHash: fpHash, count, owner, salt }) {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }],
      [toBytes32(itemsRoot, 'itemsRoot'), toBytes32(fpHash, 'fingerprintsHash'), toUint(count, 'count'), toAddress(owner, 'owner'), toBytes32(salt, 'salt')],
    ),
  )
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {Hex}
 */
export function toAddress(value, what) {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new AigcSdkError('bad_address', `${what} is not an address: ${JSON.stringify(value)}`)
  }
  return getAddress(value)
}

const WORD = 2n ** 64n - 1n

/**
 * Whether the contract refuses `fp` as degenerate (FingerprintRule.isDegenerate): one of its four
 * 64-bit words is all zeros or all ones.
 * @param {Hex} fp
 * @returns {boolean}
 */
export function isDegenerateFingerprint(fp) {
  const u = BigInt(toBytes32(fp, 'fingerprint'))
  return [0n, 1n, 2n, 3n].some((k) => {
    const w = (u >> (64n * k)) & WORD
    return w === 0n || w === WORD
  })
}

/**
 * A batch item's token id: (batchId << 32) | index (batch ids from 1, below 2^64).
 * @param {Numberish} batchId
 * @param {Numberish} index
 * @returns {bigint}
 */
export function tokenId(batchId, index) {
  const b = toUint(batchId, 'batchId', BATCH_ID_LIMIT)
  if (b === 0n) throw new AigcSdkError('out_of_range', 'batch ids start at 1')
  return (b << INDEX_BITS) | toUint(index, 'index', 1n << INDEX_BITS)
}

/**
 * A batch token id's parts; an id that no batch can have (batch 0, or 2^96 and above: a single
 * Registry token's content-hash id) is refused with code out_of_range.
 * @param {Numberish} id
 * @returns {{ batchId: bigint, index: bigint }}
 */
export function splitTokenId(id) {
  const n = toUint(id, 'tokenId', BATCH_ID_LIMIT << INDEX_BITS)
  const batchId = n >> INDEX_BITS
  if (batchId === 0n) throw new AigcSdkError('out_of_range', `token ${n} is in no batch (batch ids start at 1)`)
  return { batchId, index: n & ((1n << INDEX_BITS) - 1n) }
}

/**
 * The items in the order a reveal takes them: fingerprints strictly increasing as uint256
 * (BatchRegistry refuses any other order with BatchUnsorted). Two items with the same fingerprint
 * cannot share a batch (code duplicate_fingerprint). Returns a new array; the items are not copied.
 * @template {{ fingerprint: Hex }} T
 * @param {T[]} items
 * @returns {T[]}
 */
export function sortItemsByFingerprint(items) {
  if (!Array.isArray(items)) throw new AigcSdkError('bad_batch', 'items must be an array')
  if (items.length === 0) throw new AigcSdkError('batch_empty', 'a batch has at least one item')
  const keyed = items.map((item, k) => ({ item, key: BigInt(toBytes32(item?.fingerprint, `items[${k}].fingerprint`)) }))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  for (let k = 1; k < keyed.length; k++) {
    if (keyed[k].key === keyed[k - 1].key) {
      throw new AigcSdkError('batch_duplicate_fingerprint', `two items share fingerprint ${keyed[k].item.fingerprint}`)
    }
  }
  return keyed.map((e) => e.item)
}

/**
 * @typedef {object} BatchItem
 * @property {Hex} contentHash the image's canonical content hash
 * @property {Hex} fingerprint the 32-byte perceptual fingerprint
 * @property {Hex} detailHash keccak256 of the item's detail bytes
 * @property {Numberish} seed the generation seed
 */

/**
 * @typedef {object} BuiltBatch
 * @property {BatchItem[]} items sorted by fingerprint: item k becomes token index k
 * @property {Hex[]} fingerprints the reveal's calldata array
 * @property {Hex} fpRoot the root the contract computes at reveal
 * @property {Hex} itemsRoot the root the producer commits to
 * @property {Hex} fingerprintsHash
 * @property {number} count
 * @property {(index: number) => Hex[]} itemProof a proof against itemsRoot
 * @property {(index: number) => Hex[]} fingerprintProof a proof against fpRoot
 */

/**
 * Everything the chain and the ESP need about a batch, from its items (any order: they are
 * sorted by fingerprint, which fixes each item's index), as services.batch.layout.BatchLayout
 * computes it. Refuses an empty batch, one over `maxBatch`, and one image (content hash) twice.
 * @param {BatchItem[]} items
 * @param {{ maxBatch?: number }} [options] the contract's maxBatch (parameters()), if known
 * @returns {BuiltBatch}
 */
export function buildBatch(items, { maxBatch } = {}) {
  if (Array.isArray(items) && maxBatch !== undefined && items.length > maxBatch) {
    throw new AigcSdkError('batch_too_large', `${items.length} items: a batch holds at most ${maxBatch}`)
  }
  /** @type {Map<string, number>} */
  const seen = new Map()
  for (const [k, it] of (Array.isArray(items) ? items : []).entries()) {
    const content = toBytes32(it?.contentHash, `items[${k}].contentHash`)
    const first = seen.get(content)
    if (first !== undefined) throw new AigcSdkError('batch_duplicate_item', `item ${k} repeats item ${first}'s image`)
    seen.set(content, k)
  }
  const sorted = sortItemsByFingerprint(items)
  const fingerprints = sorted.map((it) => toBytes32(it.fingerprint, 'fingerprint'))
  const fpLeaves = fingerprints.map((fp, k) => fingerprintLeaf(k, fp))
  const itemLeaves = sorted.map((it, k) => itemLeaf(k, it.contentHash, it.detailHash, it.seed))
  return {
    items: sorted,
    fingerprints,
    fpRoot: merkleRoot(fpLeaves),
    itemsRoot: orderedRoot(itemLeaves),
    fingerprintsHash: fingerprintsHash(fingerprints),
    count: sorted.length,
    itemProof: (index) => orderedProof(itemLeaves, index),
    fingerprintProof: (index) => merkleProof(fpLeaves, index),
  }
}
