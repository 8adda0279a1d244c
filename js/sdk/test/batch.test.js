// Batch registration: the SDK's Merkle trees, leaves, commitments, token ids and the ESP's batch
// attestation equal ledger/merkle.py's (vectors/batch.json, from scripts/gen-batch-vectors), and
// bad input is refused with AigcSdkError codes.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  concat, decodeFunctionData, encodeAbiParameters, encodeEventTopics, encodeFunctionData, parseAbiParameters, recoverTypedDataAddress,
  keccak256, toEventSelector, toFunctionSelector, verifyTypedData,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  batchAttestationDigest, batchAttestationTypedData, batchRegistryAbi, createAigcClient, lockId, lockInfoAbi, batchCommitment, buildBatch, fingerprintLeaf, fingerprintsHash,
  challengeBatch, checkBatchAttestation, contestBatch, finalizeBatch, getBatch, getBatchProof, isDegenerateFingerprint, itemLeaf,
  prepareBatchCommit,
  prepareBatchReveal, publishBatchManifest, resolveBatch, merkleProof, merkleRoot, parseBatchAttestation, sortItemsByFingerprint, splitTokenId, tokenId,
  orderedProof, orderedProofs, orderedRoot, verifyOrderedProof, verifyProof,
} from '../src/index.js'
import { ADDRESS, client, fakeApi, HEALTH, HTLC, KEY } from './helpers.js'

const vectors = JSON.parse(readFileSync(new URL('./vectors/batch.json', import.meta.url), 'utf8'))

/** @param {number} n */
const word = (n) => /** @type {`0x${string}`} */ (`0x${n.toString(16).padStart(64, '0')}`)
const NO_RECORD = { fingerprint: word(0), detailHash: word(0), esp: '0x0000000000000000000000000000000000000000', priorityBlock: 0n, commitBlock: 0n, revealBlock: 0n }

/** @param {any} v */
function itemsOf(v) {
  return v.fingerprints.map((/** @type {`0x${string}`} */ fp, /** @type {number} */ i) => ({
    fingerprint: fp, contentHash: v.content_hashes[i], detailHash: v.detail_hashes[i], seed: BigInt(v.seeds[i]),
  }))
}

test('the vectors cover odd and even batch sizes, 1 to 100', () => {
  assert.deepEqual(vectors.batches.map((/** @type {any} */ v) => v.count), [1, 2, 3, 4, 5, 7, 8, 100])
})

for (const v of vectors.batches) {
  test(`a batch of ${v.count}: leaves, roots, proofs, fingerprints hash and commitment equal ledger/merkle.py`, () => {
    const fpLeaves = v.fingerprints.map((/** @type {`0x${string}`} */ fp, /** @type {number} */ i) => fingerprintLeaf(i, fp))
    const itemLeaves = itemsOf(v).map((/** @type {any} */ it, /** @type {number} */ i) => itemLeaf(i, it.contentHash, it.detailHash, it.seed))
    assert.deepEqual(fpLeaves, v.fingerprint_leaves)
    assert.deepEqual(itemLeaves, v.item_leaves)
    assert.equal(merkleRoot(fpLeaves), v.fp_root)
    assert.equal(orderedRoot(itemLeaves), v.items_root)
    for (const [i, proof] of Object.entries(v.fp_proofs)) {
      assert.deepEqual(merkleProof(fpLeaves, Number(i)), proof, `fp proof ${i}`)
      assert.ok(verifyProof(proof, v.fp_root, fpLeaves[Number(i)]))
    }
    for (const [i, proof] of Object.entries(v.item_proofs)) {
      assert.deepEqual(orderedProof(itemLeaves, Number(i)), proof, `item proof ${i}`)
      assert.ok(verifyOrderedProof(proof, v.items_root, itemLeaves[Number(i)], Number(i), v.count))
    }
    assert.equal(fingerprintsHash(v.fingerprints), v.fingerprints_hash)
    assert.equal(
      batchCommitment({ itemsRoot: v.items_root, fingerprintsHash: v.fingerprints_hash, count: v.count, owner: v.owner, salt: v.salt }),
      v.commitment,
    )
  })
}

test('buildBatch sorts shuffled items by fingerprint and gives the vectors\' roots and proofs', () => {
  const v = vectors.batches.find((/** @type {any} */ b) => b.count === 7)
  const items = itemsOf(v)
  const shuffled = [items[4], items[0], items[6], items[2], items[5], items[1], items[3]]
  const b = buildBatch(shuffled)
  assert.deepEqual(b.items, items)
  assert.deepEqual(b.fingerprints, v.fingerprints)
  assert.equal(b.count, 7)
  assert.equal(b.fpRoot, v.fp_root)
  assert.equal(b.itemsRoot, v.items_root)
  assert.equal(b.fingerprintsHash, v.fingerprints_hash)
  assert.deepEqual(b.itemProof(6), v.item_proofs['6'])
  assert.deepEqual(b.fingerprintProof(3), v.fp_proofs['3'])
})

test('a proof does not verify for another leaf, another index\'s leaf, a tampered sibling or another root', () => {
  const v = vectors.batches.find((/** @type {any} */ b) => b.count === 100)
  const proof = v.item_proofs['50']
  const leaf = v.item_leaves[50]
  assert.ok(verifyOrderedProof(proof, v.items_root, leaf, 50, 100))
  assert.ok(!verifyOrderedProof(proof, v.items_root, v.item_leaves[51], 50, 100))
  // the same item claimed at another index has another leaf, and the proof another position
  const it = itemsOf(v)[50]
  assert.ok(!verifyOrderedProof(proof, v.items_root, itemLeaf(51, it.contentHash, it.detailHash, it.seed), 51, 100))
  assert.ok(!verifyOrderedProof(proof, v.items_root, leaf, 51, 100))
  assert.ok(!verifyOrderedProof(proof, v.items_root, leaf, 100, 100))
  const tampered = [...proof]
  tampered[2] = word(1)
  assert.ok(!verifyOrderedProof(tampered, v.items_root, leaf, 50, 100))
  assert.ok(!verifyOrderedProof(proof.slice(0, -1), v.items_root, leaf, 50, 100))
  assert.ok(!verifyOrderedProof([...proof, word(1)], v.items_root, leaf, 50, 100))
  assert.ok(!verifyOrderedProof(proof, v.fp_root, leaf, 50, 100))
  // the fingerprint tree stays commutative
  assert.ok(verifyProof(v.fp_proofs['50'], v.fp_root, v.fingerprint_leaves[50]))
})

test('the items tree is ordered: one leaf per index, where a commutative tree proves any extra leaf', () => {
  const real = [word(5), word(3), word(9)]
  const decoys = [word(11), word(12)]
  const tree = [...real, ...decoys]
  // commutatively, a decoy appended after the real leaves proves
  assert.ok(verifyProof(merkleProof(tree, 3), merkleRoot(tree), word(11)))
  const root = orderedRoot(tree)
  for (const [k, leaf] of tree.entries()) {
    assert.ok(!verifyOrderedProof(orderedProof(tree, k), root, leaf, 1, 3), `position ${k}`)
  }
  assert.equal(orderedRoot(real), keccak256(concat([keccak256(concat([word(5), word(3)])), word(9)])))
  assert.deepEqual(orderedProofs(real), [[word(3), word(9)], [word(5), word(9)], [keccak256(concat([word(5), word(3)]))]])
  assert.ok(verifyOrderedProof(orderedProof(real, 2), orderedRoot(real), word(9), 2, 3))
  assert.equal(orderedRoot([word(7)]), word(7))
  assert.deepEqual(orderedProof([word(7)], 0), [])
  assert.ok(!verifyOrderedProof([], word(7), word(7), 1, 1))
})

test('a one-leaf tree is its own root with an empty proof; an odd last leaf is carried up', () => {
  const leaves = [word(5), word(3), word(9)]
  assert.equal(merkleRoot([word(7)]), word(7))
  assert.deepEqual(merkleProof([word(7)], 0), [])
  // level 1 = [H(3, 5), 9]: the carried leaf's proof is that one parent
  const proof = merkleProof(leaves, 2)
  assert.equal(proof.length, 1)
  assert.ok(verifyProof(proof, merkleRoot(leaves), word(9)))
})

test('token ids are (batchId << 32) | index, and split back', () => {
  for (const t of vectors.token_ids) {
    const id = tokenId(BigInt(t.batch_id), BigInt(t.index))
    assert.equal(id, BigInt(t.token_id))
    assert.deepEqual(splitTokenId(id), { batchId: BigInt(t.batch_id), index: BigInt(t.index) })
    assert.deepEqual(splitTokenId(t.token_id), { batchId: BigInt(t.batch_id), index: BigInt(t.index) })
  }
  assert.equal(tokenId(1, 0), 2n ** 32n)
  assert.equal(tokenId('0x2', '3'), 2n * 2n ** 32n + 3n)
})

test('the batch attestation signed by a viem account equals ledger.eip712.sign and recovers to it (vector)', async () => {
  const a = vectors.attestation
  const data = batchAttestationTypedData({
    chainId: a.chain_id, verifyingContract: a.verifying_contract, taskId: a.task_id, producer: a.producer,
    itemsRoot: a.items_root, fpRoot: a.fp_root, count: a.count, modelId: a.model_id,
  })
  assert.deepEqual(data.domain, { name: 'AIGC BatchRegistry', version: '1', chainId: 31337, verifyingContract: a.verifying_contract })
  assert.equal(batchAttestationDigest({ ...data.message, chainId: a.chain_id, verifyingContract: a.verifying_contract }), a.digest)
  const account = privateKeyToAccount(a.signer_key)
  const signature = await account.signTypedData(data)
  assert.equal(signature, a.signature)
  assert.equal(await recoverTypedDataAddress({ ...data, signature }), account.address)
  // another contract, chain or count is another digest
  assert.notEqual(batchAttestationDigest({ ...data.message, chainId: 1, verifyingContract: a.verifying_contract }), a.digest)
  assert.notEqual(batchAttestationDigest({ ...data.message, count: 4, chainId: a.chain_id, verifyingContract: a.verifying_contract }), a.digest)
})

test('sortItemsByFingerprint orders by the fingerprint as a uint256 and refuses a duplicate', () => {
  const items = [{ fingerprint: word(0x100), n: 0 }, { fingerprint: word(0xff), n: 1 }, { fingerprint: `0x${'F'.repeat(64)}`, n: 2 }]
  assert.deepEqual(sortItemsByFingerprint(/** @type {any} */ (items)).map((i) => i.n), [1, 0, 2])
  const dup = [{ fingerprint: `0x${'ab'.repeat(32)}` }, { fingerprint: `0x${'AB'.repeat(32)}` }]
  assert.throws(() => sortItemsByFingerprint(/** @type {any} */ (dup)), { name: 'AigcSdkError', code: 'batch_duplicate_fingerprint' })
})

test('bad input is refused with a stable AigcSdkError code', () => {
  const sdk = { name: 'AigcSdkError' }
  const ok = word(1)
  /** @type {[() => unknown, string][]} */
  const cases = [
    [() => fingerprintLeaf(0, /** @type {any} */ ('0x1234')), 'bad_hex'],
    [() => fingerprintLeaf(0, /** @type {any} */ (`0x${'1'.repeat(66)}`)), 'bad_hex'],
    [() => fingerprintLeaf(0, /** @type {any} */ ('1'.repeat(64))), 'bad_hex'],
    [() => fingerprintLeaf(0, /** @type {any} */ (`0x${'g'.repeat(64)}`)), 'bad_hex'],
    [() => fingerprintLeaf(-1, ok), 'bad_uint'],
    [() => fingerprintLeaf(1.5, ok), 'bad_uint'],
    [() => itemLeaf(0, ok, ok, 2n ** 256n), 'out_of_range'],
    [() => itemLeaf(0, ok, /** @type {any} */ (null), 1), 'bad_hex'],
    [() => merkleRoot([]), 'batch_empty'],
    [() => merkleProof([], 0), 'batch_empty'],
    [() => merkleProof([ok, ok], 2), 'out_of_range'],
    [() => merkleProof([ok], -1), 'bad_uint'],
    [() => merkleRoot([ok, /** @type {any} */ ('0xab')]), 'bad_hex'],
    [() => verifyProof([/** @type {any} */ ('0x')], ok, ok), 'bad_hex'],
    [() => verifyProof(/** @type {any} */ ('0x'), ok, ok), 'bad_proof'],
    [() => fingerprintsHash([]), 'batch_empty'],
    [() => batchCommitment({ itemsRoot: ok, fingerprintsHash: ok, count: 1, owner: /** @type {any} */ ('0x1234'), salt: ok }), 'bad_address'],
    [() => tokenId(0, 0), 'out_of_range'],
    [() => tokenId(2n ** 64n, 0), 'out_of_range'],
    [() => tokenId(1, 2n ** 32n), 'out_of_range'],
    [() => splitTokenId(5), 'out_of_range'],
    [() => splitTokenId(2n ** 96n), 'out_of_range'],
    [() => splitTokenId(`0x${'ab'.repeat(32)}`), 'out_of_range'],
    [() => splitTokenId('12x'), 'bad_uint'],
    [() => sortItemsByFingerprint([]), 'batch_empty'],
    [() => buildBatch([]), 'batch_empty'],
    [() => buildBatch([{ fingerprint: ok, contentHash: ok, detailHash: ok, seed: 0 }, { fingerprint: word(2), contentHash: ok, detailHash: ok, seed: 1 }]), 'batch_duplicate_item'],
    [() => buildBatch([{ fingerprint: ok, contentHash: ok, detailHash: ok, seed: 0 }, { fingerprint: word(2), contentHash: word(2), detailHash: ok, seed: 1 }], { maxBatch: 1 }), 'batch_too_large'],
    [() => buildBatch(/** @type {any} */ ('items')), 'bad_batch'],
    [() => buildBatch([/** @type {any} */ ({ fingerprint: ok, contentHash: ok, detailHash: '0x12', seed: 0 })]), 'bad_hex'],
    [() => batchAttestationTypedData({ chainId: 1, verifyingContract: ok, taskId: ok, producer: ok, itemsRoot: ok, fpRoot: ok, count: 1, modelId: ok }), 'bad_address'],
    [() => batchAttestationTypedData({ chainId: 1, verifyingContract: vectors.attestation.producer, taskId: ok, producer: vectors.attestation.producer, itemsRoot: ok, fpRoot: ok, count: 0, modelId: ok }), 'batch_empty'],
    [() => batchAttestationTypedData({ chainId: 1, verifyingContract: vectors.attestation.producer, taskId: ok, producer: vectors.attestation.producer, itemsRoot: ok, fpRoot: ok, count: 2n ** 32n, modelId: ok }), 'out_of_range'],
  ]
  for (const [fn, code] of cases) assert.throws(fn, { ...sdk, code }, `${fn} should throw ${code}`)
})

test('checkBatchAttestation accepts the ESP\'s attestation file (services.batch.SignedBatch.to_json) as signed', async () => {
  const file = vectors.attestation_file
  const c = client(fakeApi({}))
  const a = await checkBatchAttestation(c, { attestation: file, producer: file.producer })
  assert.equal(a.taskId, file.task_id)
  assert.equal(a.esp, file.esp)
  assert.equal(a.batch.count, 3)
  assert.equal(a.batch.itemsRoot, file.items_root)
  assert.deepEqual(a.batch.fingerprints, file.items.map((/** @type {any} */ it) => it.fingerprint))
  assert.equal(a.lock.amount, 3n * 10n ** 15n)
  // bound as a method too
  assert.equal((await c.checkBatchAttestation({ attestation: file })).taskId, file.task_id)
})

test('a tampered attestation file is refused before anything is paid', async () => {
  const file = vectors.attestation_file
  const c = client(fakeApi({}))
  /** @param {(f: any) => void} edit */
  const tampered = (edit) => {
    const f = structuredClone(file)
    edit(f)
    return f
  }
  const other = privateKeyToAccount(`0x${'22'.repeat(32)}`)
  const resigned = tampered(() => {})
  resigned.signature = await other.signTypedData(batchAttestationTypedData({
    chainId: file.chain_id, verifyingContract: file.batch_registry, taskId: file.task_id, producer: file.producer,
    itemsRoot: file.items_root, fpRoot: file.fp_root, count: file.count, modelId: file.model_id,
  }))
  /** @type {[string, any, string][]} */
  const cases = [
    ['a seed changed (the items root no longer follows)', tampered((f) => { f.items[1].seed = '1' }), 'bad_attestation'],
    ['the items root swapped for another', tampered((f) => { f.items_root = vectors.batches[0].items_root }), 'bad_attestation'],
    ['items out of token order', tampered((f) => { f.items.reverse() }), 'bad_attestation'],
    ['an item dropped (count and roots change)', tampered((f) => { f.items.pop() }), 'bad_attestation'],
    ['the lock\'s amount changed (task id no longer follows)', tampered((f) => { f.lock.amount = '1' }), 'bad_attestation'],
    ['another model id than signed', tampered((f) => { f.model_id = `0x${'01'.repeat(32)}` }), 'bad_attestation'],
    ['another contract than signed', tampered((f) => { f.batch_registry = file.producer }), 'bad_attestation'],
    ['signed by someone else', resigned, 'bad_attestation'],
    ['the ESP named as someone else (the lock pays the real one)', tampered((f) => { f.esp = other.address }), 'bad_attestation'],
    ['a garbage signature', tampered((f) => { f.signature = '0x1234' }), 'bad_attestation'],
    ['an unknown version', tampered((f) => { f.version = 2 }), 'bad_attestation'],
    ['no items', tampered((f) => { delete f.items }), 'bad_attestation'],
    ['a short fingerprint', tampered((f) => { f.items[0].fingerprint = '0x12' }), 'bad_hex'],
    ['one image twice', tampered((f) => { f.items[1].content_hash = f.items[0].content_hash }), 'batch_duplicate_item'],
  ]
  for (const [what, f, code] of cases) {
    await assert.rejects(checkBatchAttestation(c, { attestation: f }), { name: 'AigcSdkError', code }, what)
  }
  await assert.rejects(checkBatchAttestation(c, { attestation: file, producer: other.address }), { name: 'AigcSdkError', code: 'not_producer' })
  assert.throws(() => parseBatchAttestation(/** @type {any} */ (null)), { name: 'AigcSdkError', code: 'bad_attestation' })
})

/** An API serving batch 5 = the vectors' batch of 7, manifest published. */
function batchApi() {
  const v = vectors.batches.find((/** @type {any} */ b) => b.count === 7)
  /** @param {number} i */
  const proofOf = (i) => ({
    batch_id: 5, index: i, count: v.count, token_id: String(5n * 2n ** 32n + BigInt(i)), fingerprint: v.fingerprints[i],
    fingerprint_proof: v.fp_proofs[String(i)], fp_root: v.fp_root, items_root: v.items_root,
    content_hash: v.content_hashes[i], detail_hash: v.detail_hashes[i], detail: v.details[i], seed: v.seeds[i],
    item_proof: v.item_proofs[String(i)],
  })
  const batch = {
    batch_id: 5, producer: vectors.attestation.producer, esp: vectors.attestation_file.producer, count: 7,
    start_id: String(5n * 2n ** 32n), fp_root: v.fp_root, items_root: v.items_root, task_id: vectors.attestation.task_id,
    model_id: vectors.attestation.model_id, priority_block: 10, commit_block: 11, reveal_block: 12, tx_hash: `0x${'cd'.repeat(32)}`,
    metadata_uri: '', manifest_published: true,
    items: v.fingerprints.map((/** @type {string} */ fp, /** @type {number} */ i) => ({
      index: i, token_id: String(5n * 2n ** 32n + BigInt(i)), fingerprint: fp, owner: vectors.attestation.producer,
      status: 'active', content_hash: v.content_hashes[i], detail_hash: v.detail_hashes[i], seed: v.seeds[i],
    })),
  }
  return { v, proofOf, batch }
}

test('getBatch reads GET /v1/batches/{id} without a token, uint256 seeds as BigInt', async () => {
  const { v, batch } = batchApi()
  const api = fakeApi({ 'GET /v1/batches/5': () => [200, batch] })
  const b = await client(api).getBatch({ batchId: 5n })
  assert.equal(b.batchId, 5n)
  assert.equal(b.startId, tokenId(5, 0))
  assert.equal(b.items[6].tokenId, tokenId(5, 6))
  assert.equal(b.items[3].seed, BigInt(v.seeds[3]))
  assert.equal(b.itemsRoot, v.items_root)
  assert.ok(!('authorization' in api.calls[0].headers))
  const missing = fakeApi({ 'GET /v1/batches/6': () => [404, { error: { code: 'unknown_batch', message: 'no registered batch 6' } }] })
  await assert.rejects(getBatch(client(missing), { batchId: 6 }), { name: 'AigcApiError', status: 404, code: 'unknown_batch' })
  await assert.rejects(getBatch(client(missing), { batchId: 0 }), { name: 'AigcSdkError', code: 'out_of_range' })
  assert.equal(missing.calls.length, 1, 'a bad id is refused before any request')
})

test('getBatchProof returns an item\'s proofs checked against the roots, by token id or batch and index', async () => {
  const { v, proofOf } = batchApi()
  const api = fakeApi({ 'GET /v1/batches/5/items/3/proof': () => [200, proofOf(3)] })
  const p = await client(api).getBatchProof({ tokenId: tokenId(5, 3) })
  assert.equal(p.tokenId, tokenId(5, 3))
  assert.deepEqual(p.fingerprintProof, v.fp_proofs['3'])
  assert.equal(p.item?.seed, BigInt(v.seeds[3]))
  assert.deepEqual(p.item?.proof, v.item_proofs['3'])
  assert.equal((await getBatchProof(client(api), { batchId: 5, index: 3 })).item?.detail, v.details[3])
  // before the manifest: the fingerprint proof only
  const { item_proof: _, content_hash: __, detail_hash: ___, detail: ____, seed: _____, ...bare } = proofOf(3)
  const early = await getBatchProof(client(fakeApi({ 'GET /v1/batches/5/items/3/proof': () => [200, bare] })), { tokenId: tokenId(5, 3) })
  assert.equal(early.item, null)
})

test('a proof the contract would refuse is refused (an API cannot hand a challenger a false opening)', async () => {
  const { v, proofOf } = batchApi()
  /** @type {[string, (p: any) => void][]} */
  const lies = [
    ['another item\'s fingerprint', (p) => { p.fingerprint = v.fingerprints[4] }],
    ['a tampered fingerprint proof', (p) => { p.fingerprint_proof = [...p.fingerprint_proof].reverse() }],
    ['a seed that is not the committed one', (p) => { p.seed = '7' }],
    ['another content hash', (p) => { p.content_hash = v.content_hashes[4] }],
    ['a detail that does not hash to detail_hash', (p) => { p.detail = '0x00' }],
    ['another item\'s opening', (p) => { Object.assign(p, { ...proofOf(4), index: 3, token_id: p.token_id, fingerprint: p.fingerprint, fingerprint_proof: p.fingerprint_proof }) }],
    ['an answer for another token', (p) => { p.token_id = String(tokenId(5, 4)) }],
    ['a count under which the item proof has a step too many', (p) => { p.count = 4 }],
  ]
  for (const [what, lie] of lies) {
    const p = proofOf(3)
    lie(p)
    const api = fakeApi({ 'GET /v1/batches/5/items/3/proof': () => [200, p] })
    await assert.rejects(getBatchProof(client(api), { tokenId: tokenId(5, 3) }), { name: 'AigcSdkError', code: 'bad_proof' }, what)
  }
  await assert.rejects(getBatchProof(client(fakeApi({})), { tokenId: `0x${'ab'.repeat(32)}` }), { name: 'AigcSdkError', code: 'out_of_range' })
})

test('publishBatchManifest posts the items in token order with decimal seeds, signed in', async () => {
  const { v, batch } = batchApi()
  /** @type {any} */
  let sent
  const api = fakeApi({ 'POST /v1/batches/5/manifest': ({ body }) => { sent = body; return [200, batch] } })
  const items = v.fingerprints.map((/** @type {`0x${string}`} */ fp, /** @type {number} */ i) => ({
    contentHash: v.content_hashes[i], fingerprint: fp, detail: v.details[i], seed: BigInt(v.seeds[i]),
  }))
  const b = await client(api).publishBatchManifest({ batchId: 5, items })
  assert.equal(b.manifestPublished, true)
  assert.equal(sent.items.length, 7)
  assert.deepEqual(sent.items[2], { content_hash: v.content_hashes[2], fingerprint: v.fingerprints[2], detail: v.details[2], seed: v.seeds[2] })
  assert.ok(api.calls[0].headers.authorization)
  const c = client(api)
  await assert.rejects(publishBatchManifest(c, { batchId: 5, items: [] }), { name: 'AigcSdkError', code: 'batch_empty' })
  await assert.rejects(publishBatchManifest(c, { batchId: 5, items: [{ ...items[0], seed: -1 }] }), { name: 'AigcSdkError', code: 'bad_uint' })
  await assert.rejects(publishBatchManifest(c, { batchId: 5, items: [{ ...items[0], detail: '0x1' }] }), { name: 'AigcSdkError', code: 'bad_hex' })
  assert.equal(api.calls.length, 1)
})

const PRODUCER_KEY = /** @type {`0x${string}`} */ ('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')

/**
 * A client whose wallet records writeContract and whose chain answers parameters() and receipts
 * (the reveal's with a BatchRegistered log from `emitter`).
 * @param {{ key?: `0x${string}`, maxBatch?: number, emitter?: `0x${string}`, batchId?: bigint,
 *   api?: ReturnType<typeof fakeApi>, lockStatus?: number, lockedAt?: bigint, block?: bigint,
 *   digest?: `0x${string}` }} [o]
 */
function chainClient({
  key = PRODUCER_KEY, maxBatch = 2048, emitter = vectors.attestation_file.batch_registry, batchId = 9n, api = fakeApi({}),
  lockStatus = 2, lockedAt = 100n, block = 120n, digest,
} = {}) {
  const file = vectors.attestation_file
  /** @type {any[]} */
  const writes = []
  /** @type {any[]} */
  const reads = []
  const log = {
    address: emitter,
    topics: encodeEventTopics({ abi: batchRegistryAbi, eventName: 'BatchRegistered', args: { batchId, producer: file.producer, esp: file.esp } }),
    data: encodeAbiParameters(
      parseAbiParameters('uint256, uint32, bytes32, bytes32, bytes32, uint64, uint64, bytes32, string, bytes32[]'),
      [batchId << 32n, 3, file.fp_root, file.items_root, file.task_id, 10n, 11n, file.model_id, '', file.items.map((/** @type {any} */ it) => it.fingerprint)],
    ),
  }
  const publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    verifyTypedData: (/** @type {any} */ args) => verifyTypedData(args),
    readContract: async (/** @type {any} */ { functionName, args }) => {
      reads.push({ functionName, args })
      if (functionName === 'parameters') return { bondPerItem: 10n ** 15n, maxBatch, challengeDeposit: 0n, registrationWindow: 40n }
      if (functionName === 'attestationDigest') {
        const [taskId, producer, itemsRoot, fpRoot, count, modelId] = args
        return digest ?? batchAttestationDigest({ chainId: file.chain_id, verifyingContract: file.batch_registry, taskId, producer, itemsRoot, fpRoot, count, modelId })
      }
      if (functionName === 'lockInfo') return [lockStatus, lockedAt]
      throw new Error(`unexpected read ${functionName}`)
    },
    getBlockNumber: async () => block,
    simulateContract: async (/** @type {any} */ call) => ({ request: call }),
    waitForTransactionReceipt: async ({ hash }) => ({ status: 'success', logs: hash.endsWith('02') ? [log] : [] }),
  })
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: privateKeyToAccount(key),
    writeContract: async (/** @type {any} */ req) => {
      writes.push(req)
      return `0x${String(writes.length).padStart(64, '0')}`
    },
    sendTransaction: async (/** @type {any} */ req) => {
      writes.push(req)
      return `0x${String(writes.length).padStart(64, '0')}`
    },
  })
  const c = createAigcClient({ baseUrl: 'http://api.test', publicClient, walletClient, fetch: api.fetch })
  c.session = { token: 't', address: privateKeyToAccount(key).address, expiresAt: '' }
  return { c, writes, reads }
}

test('registerBatch commits the attested batch with its bond, reveals it and reads the batch id', async () => {
  const file = vectors.attestation_file
  const { c, writes } = chainClient()
  const salt = /** @type {`0x${string}`} */ (`0x${'5a'.repeat(32)}`)
  const r = await c.registerBatch({ attestation: file, salt, metadataUri: 'ipfs://x' })
  assert.equal(r.batchId, 9n)
  assert.equal(r.startId, tokenId(9, 0))
  assert.equal(r.count, 3)
  assert.equal(writes.length, 2)
  const [commit, reveal] = writes
  assert.equal(commit.functionName, 'commit')
  assert.equal(commit.address, file.batch_registry)
  assert.equal(commit.value, 3n * 10n ** 15n)
  const fps = file.items.map((/** @type {any} */ it) => it.fingerprint)
  assert.deepEqual(commit.args, [
    batchCommitment({ itemsRoot: file.items_root, fingerprintsHash: fingerprintsHash(fps), count: 3, owner: file.producer, salt }), 3,
  ])
  assert.equal(reveal.functionName, 'reveal')
  assert.deepEqual(reveal.args[0], { itemsRoot: file.items_root, salt, modelId: file.model_id, metadataURI: 'ipfs://x' })
  assert.deepEqual(reveal.args[1], fps)
  assert.equal(lockId(reveal.args[2]), file.task_id)
  assert.equal(reveal.args[3], file.signature)
  // the calldata is the contract's reveal
  const data = encodeFunctionData({ abi: batchRegistryAbi, functionName: 'reveal', args: reveal.args })
  assert.equal(decodeFunctionData({ abi: batchRegistryAbi, data }).functionName, 'reveal')
})

test('registerBatch refuses before anything is sent: another producer\'s batch, a batch over maxBatch, no event', async () => {
  const file = vectors.attestation_file
  const other = chainClient({ key: KEY })
  await assert.rejects(other.c.registerBatch({ attestation: file }), { name: 'AigcSdkError', code: 'not_producer' })
  assert.equal(other.writes.length, 0, 'a copied attestation is not committed by someone else')
  const small = chainClient({ maxBatch: 2 })
  await assert.rejects(small.c.registerBatch({ attestation: file }), { name: 'AigcSdkError', code: 'batch_too_large' })
  assert.equal(small.writes.length, 0)
  const elsewhere = chainClient({ emitter: ADDRESS })
  await assert.rejects(elsewhere.c.registerBatch({ attestation: file }), { name: 'AigcSdkError', code: 'no_event' })
})

for (const [name, fragments] of /** @type {const} */ ([['BatchRegistry', batchRegistryAbi], ['HashTimeLock', lockInfoAbi]])) {
  test(`the SDK's ${name} fragments for batches are in the compiled ABI (artifact)`, () => {
    const compiled = JSON.parse(readFileSync(new URL(`../../../contracts/artifacts/${name}.json`, import.meta.url), 'utf8')).abi
    for (const item of /** @type {readonly any[]} */ (fragments)) {
      const sel = item.type === 'event' ? toEventSelector(item) : toFunctionSelector(item)
      const match = compiled.find((/** @type {any} */ c) => c.type === item.type && c.name === item.name
        && (c.type === 'event' ? toEventSelector(c) : toFunctionSelector(c)) === sel)
      assert.ok(match, `${name}.${item.name}: no compiled item with this signature`)
      if (item.type === 'function') {
        assert.deepEqual(match.outputs.map((/** @type {any} */ o) => o.type), item.outputs.map((/** @type {any} */ o) => o.type), item.name)
        assert.equal(match.stateMutability, item.stateMutability, item.name)
      } else {
        assert.deepEqual(match.inputs.map((/** @type {any} */ i) => !!i.indexed), item.inputs.map((/** @type {any} */ i) => !!i.indexed), item.name)
      }
    }
  })
}

/**
 * A reveal's calldata with another salt and / or other fingerprints.
 * @param {`0x${string}`} data
 * @param {string} [salt]
 * @param {string[]} [fingerprints]
 */
function resalted(data, salt, fingerprints) {
  const { args } = /** @type {any} */ (decodeFunctionData({ abi: batchRegistryAbi, data }))
  const [r, fps, lock, sig] = args
  return encodeFunctionData({ abi: batchRegistryAbi, functionName: 'reveal', args: [{ ...r, salt: salt ?? r.salt }, fingerprints ?? fps, lock, sig] })
}

/**
 * An API that builds the batch's transactions: `edit` may tamper with what it returns.
 * @param {{ commit?: (tx: any) => void, reveal?: (tx: any) => void }} [edit]
 */
function txApi(edit = {}) {
  /** @type {any[]} */
  const bodies = []
  const file = vectors.attestation_file
  /** @param {`0x${string}`} data @param {string} [value] */
  const unsigned = (data, value = '0') => ({
    to: file.batch_registry, data, value, chainId: 31337, gas: 500000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: file.producer,
  })
  const api = fakeApi({
    'GET /v1/deployment': () => [200, { chain_id: 31337, contracts: HEALTH.contracts }],
    'POST /v1/tx/batch/commit': ({ body }) => {
      bodies.push(body)
      const tx = unsigned(encodeFunctionData({ abi: batchRegistryAbi, functionName: 'commit', args: [body.commitment, body.count] }), '3000000000000000')
      edit.commit?.(tx)
      return [200, tx]
    },
    'POST /v1/tx/batch/reveal': ({ body }) => {
      bodies.push(body)
      const l = body.lock
      const lock = { sender: l.sender, receiver: l.receiver, asset: 0, token: l.token, amount: BigInt(l.amount), hashlock: l.hashlock, timelock: BigInt(l.timelock) }
      const args = /** @type {const} */ ([{ itemsRoot: body.items_root, salt: body.salt, modelId: body.model_id, metadataURI: body.metadata_uri }, body.fingerprints, lock, body.signature])
      const tx = unsigned(encodeFunctionData({ abi: batchRegistryAbi, functionName: 'reveal', args }))
      edit.reveal?.(tx)
      return [200, tx]
    },
  })
  return { api, bodies }
}

test('registerBatch via the API sends its unsigned commit and reveal once they encode this batch', async () => {
  const file = vectors.attestation_file
  const { api, bodies } = txApi()
  const { c, writes } = chainClient({ api })
  const salt = /** @type {`0x${string}`} */ (`0x${'5a'.repeat(32)}`)
  const r = await c.registerBatch({ attestation: file, salt, via: 'api', metadataUri: 'ipfs://x' })
  assert.equal(r.batchId, 9n)
  const fps = file.items.map((/** @type {any} */ it) => it.fingerprint)
  assert.deepEqual(bodies[0], {
    commitment: batchCommitment({ itemsRoot: file.items_root, fingerprintsHash: fingerprintsHash(fps), count: 3, owner: file.producer, salt }), count: 3,
  })
  assert.deepEqual(bodies[1], {
    items_root: file.items_root, salt, model_id: file.model_id, metadata_uri: 'ipfs://x', fingerprints: fps,
    lock: { ...file.lock, timelock: String(file.lock.timelock) }, signature: file.signature,
  })
  assert.equal(writes.length, 2)
  assert.equal(writes[0].value, 3n * 10n ** 15n)
})

test('an API transaction that is not this batch\'s commit or reveal is refused before the wallet sees it', async () => {
  const file = vectors.attestation_file
  const a = parseBatchAttestation(file)
  const other = `0x${'77'.repeat(32)}`
  /** @type {[string, Parameters<typeof txApi>[0]][]} */
  const lies = [
    ['a commit to another commitment', { commit: (tx) => { tx.data = encodeFunctionData({ abi: batchRegistryAbi, functionName: 'commit', args: [other, 3] }) } }],
    ['a commit for another count', { commit: (tx) => { tx.data = encodeFunctionData({ abi: batchRegistryAbi, functionName: 'commit', args: [other, 4] }) } }],
    ['a commit to another contract', { commit: (tx) => { tx.to = ADDRESS } }],
    ['a reveal under another salt', { reveal: (tx) => { tx.data = resalted(tx.data, other) } }],
    ['a reveal of other fingerprints', { reveal: (tx) => { tx.data = resalted(tx.data, undefined, [other]) } }],
    ['a reveal that sends Ether', { reveal: (tx) => { tx.value = '1' } }],
  ]
  for (const [what, edit] of lies) {
    const { api } = txApi(edit)
    const { c, writes } = chainClient({ api })
    const salt = /** @type {`0x${string}`} */ (`0x${'5a'.repeat(32)}`)
    const step = edit?.commit ? prepareBatchCommit(c, { attestation: a, salt }) : prepareBatchReveal(c, { attestation: a, salt })
    await assert.rejects(step, { name: 'AigcSdkError', code: 'tx_mismatch' }, what)
    assert.equal(writes.length, 0)
  }
})

test('batch disputes post the pair as decimal strings and send only a call about that pair', async () => {
  const o = tokenId(3, 1)
  const d = tokenId(9, 2)
  /** @type {Record<string, `0x${string}`>} */
  const calldata = {
    challenge: encodeFunctionData({ abi: batchRegistryAbi, functionName: 'challenge', args: [o, word(1), [], d, word(2), []] }),
    contest: encodeFunctionData({ abi: batchRegistryAbi, functionName: 'contest', args: [o, d, '0xdead', { contentHash: word(3), seed: 7n, proof: [word(4)], record: NO_RECORD }] }),
    finalize: encodeFunctionData({ abi: batchRegistryAbi, functionName: 'finalize', args: [o, d] }),
  }
  /** @type {any[]} */
  const bodies = []
  /** @param {`0x${string}`} data */
  const tx = (data) => ({ to: vectors.attestation_file.batch_registry, data, value: '0', chainId: 31337, gas: 1, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: vectors.attestation_file.producer })
  /** @type {Record<string, any>} */
  let answers = { ...calldata }
  const api = fakeApi(Object.fromEntries(['challenge', 'contest', 'finalize', 'resolve'].map((r) => [
    `POST /v1/tx/batch/${r}`, (/** @type {any} */ { body }) => { bodies.push(body); return [200, tx(answers[r])] },
  ])))
  const { c, writes } = chainClient({ api })
  await c.challengeBatch({ original: o, duplicate: d })
  await c.contestBatch({ original: o, duplicate: d })
  await c.finalizeBatch({ original: String(o), duplicate: `0x${d.toString(16)}`, batchRegistry: vectors.attestation_file.batch_registry })
  assert.deepEqual(bodies[0], { original: String(o), duplicate: String(d) })
  assert.deepEqual(bodies[2], { original: String(o), duplicate: String(d) })
  assert.equal(writes.length, 3)
  // a contest before the manifest is published carries the item's opening
  const opening = { detail: /** @type {`0x${string}`} */ ('0xDEAD'), contentHash: word(3), seed: 7n, itemProof: [word(4)] }
  await c.contestBatch({ original: o, duplicate: d }, opening)
  assert.deepEqual(bodies[3], { original: String(o), duplicate: String(d), detail: '0xDEAD', content_hash: word(3), seed: '7', item_proof: [word(4)] })
  assert.equal(writes.length, 4)
  // an API that opens another detail than yours, or an opening that is no hex
  await assert.rejects(c.contestBatch({ original: o, duplicate: d }, { ...opening, detail: '0xbeef' }), { name: 'AigcSdkError', code: 'tx_mismatch' })
  await assert.rejects(c.contestBatch({ original: o, duplicate: d }, { ...opening, detail: /** @type {any} */ ('dead') }), { name: 'AigcSdkError', code: 'bad_hex' })
  assert.equal(writes.length, 4)
  // an API that answers with a call about another pair, another function or no call at all
  answers = {
    challenge: encodeFunctionData({ abi: batchRegistryAbi, functionName: 'challenge', args: [o, word(1), [], d + 1n, word(2), []] }),
    contest: calldata.finalize,
    finalize: '0x1234',
    resolve: calldata.contest,
  }
  for (const fn of [challengeBatch, contestBatch, finalizeBatch, resolveBatch]) {
    await assert.rejects(fn(c, { original: o, duplicate: d }), { name: 'AigcSdkError', code: 'tx_mismatch' }, fn.name)
  }
  // the right call, sent to a contract that is not the BatchRegistry you know (the deposit would be lost)
  answers = calldata
  await assert.rejects(challengeBatch(c, { original: o, duplicate: d, batchRegistry: ADDRESS }), { name: 'AigcSdkError', code: 'tx_mismatch' })
  assert.equal(writes.length, 4)
})

test('getBatchProof with the contract\'s address refuses an API whose own consistent tree is not the chain\'s', async () => {
  const { v, proofOf } = batchApi()
  // the API forges item 3 (another seed) and serves proofs consistent with its own roots
  const items = itemsOf(v)
  items[3] = { ...items[3], seed: 42n }
  const forged = buildBatch(items)
  const lie = {
    ...proofOf(3), seed: '42', items_root: forged.itemsRoot, item_proof: forged.itemProof(3),
  }
  const api = fakeApi({ 'GET /v1/batches/5/items/3/proof': () => [200, lie] })
  const c = client(api)
  const accepted = await getBatchProof(c, { tokenId: tokenId(5, 3) })
  assert.equal(accepted.item?.seed, 42n, 'without the chain, only the API\'s word backs the roots')
  const registry = vectors.attestation_file.batch_registry
  /** @type {any[]} */
  const reads = []
  c.publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    readContract: async (/** @type {any} */ call) => {
      reads.push(call)
      return { fpRoot: v.fp_root, itemsRoot: v.items_root, count: 7 }
    },
  })
  await assert.rejects(getBatchProof(c, { tokenId: tokenId(5, 3), batchRegistry: registry }), { name: 'AigcSdkError', code: 'bad_proof' })
  assert.deepEqual([reads[0].functionName, reads[0].args, reads[0].address], ['batchOf', [5n], registry])
  const honest = fakeApi({ 'GET /v1/batches/5/items/3/proof': () => [200, proofOf(3)] })
  const h = client(honest)
  h.publicClient = c.publicClient
  assert.equal((await getBatchProof(h, { tokenId: tokenId(5, 3), batchRegistry: registry })).item?.seed, BigInt(v.seeds[3]))
})

test('registerBatch checks what the reveal needs before the bond is committed (an unrevealed bond is burned)', async () => {
  const file = vectors.attestation_file
  /** @type {[string, Parameters<typeof chainClient>[0], string][]} */
  const cases = [
    ['the ESP has not claimed the fee (lock open)', { lockStatus: 1 }, 'lock_not_paid'],
    ['the lock was refunded', { lockStatus: 3 }, 'lock_not_paid'],
    ['the registration window has closed', { lockedAt: 100n, block: 140n }, 'registration_too_late'],
    ['the contract checks another domain than the ESP signed', { digest: `0x${'00'.repeat(32)}` }, 'bad_attestation'],
  ]
  for (const [what, o, code] of cases) {
    const { c, writes } = chainClient(o)
    await assert.rejects(c.registerBatch({ attestation: file, htlc: HTLC }), { name: 'AigcSdkError', code }, what)
    assert.equal(writes.length, 0, what)
  }
  // the last block of the window still commits
  const edge = chainClient({ lockedAt: 100n, block: 139n })
  await edge.c.registerBatch({ attestation: file, htlc: HTLC })
  assert.equal(edge.writes.length, 2)
  const lockRead = edge.reads.find((r) => r.functionName === 'lockInfo')
  assert.deepEqual(lockRead.args, [file.task_id])
  // without an HTLC address (wallet path, no deployment cached) the lock is left to the contract
  const blind = chainClient({ lockStatus: 1 })
  await blind.c.registerBatch({ attestation: file })
  assert.ok(!blind.reads.some((r) => r.functionName === 'lockInfo'))
})

test('a degenerate fingerprint (a 64-bit word of zeros or ones) is refused as the contract does', async () => {
  assert.equal(isDegenerateFingerprint(`0x${'12'.repeat(24)}${'00'.repeat(8)}`), true)
  assert.equal(isDegenerateFingerprint(`0x${'ff'.repeat(8)}${'12'.repeat(24)}`), true)
  assert.equal(isDegenerateFingerprint(`0x${'12'.repeat(8)}${'00'.repeat(8)}${'12'.repeat(16)}`), true)
  assert.equal(isDegenerateFingerprint(`0x${'12'.repeat(32)}`), false)
  assert.equal(isDegenerateFingerprint(`0x${'00'.repeat(7)}01${'ff'.repeat(7)}fe${'12'.repeat(16)}`), false)
  // an attestation over a degenerate fingerprint, though signed, commits nothing
  const esp = privateKeyToAccount(KEY)
  const file = structuredClone(vectors.attestation_file)
  file.items[0].fingerprint = `0x${'00'.repeat(8)}${file.items[0].fingerprint.slice(18)}`
  file.items.sort((/** @type {any} */ x, /** @type {any} */ y) => (BigInt(x.fingerprint) < BigInt(y.fingerprint) ? -1 : 1))
  const b = buildBatch(file.items.map((/** @type {any} */ it) => ({ contentHash: it.content_hash, fingerprint: it.fingerprint, detailHash: it.detail_hash, seed: it.seed })))
  Object.assign(file, { items_root: b.itemsRoot, fp_root: b.fpRoot })
  file.signature = await esp.signTypedData(batchAttestationTypedData({
    chainId: file.chain_id, verifyingContract: file.batch_registry, taskId: file.task_id, producer: file.producer,
    itemsRoot: b.itemsRoot, fpRoot: b.fpRoot, count: 3, modelId: file.model_id,
  }))
  const { c, writes } = chainClient()
  await assert.rejects(c.registerBatch({ attestation: file }), { name: 'AigcSdkError', code: 'batch_degenerate_fingerprint' })
  assert.equal(writes.length, 0)
})

test('every leaf of trees of 1 to 17, 31 to 33 and 63 to 65 leaves proves against the root, no other leaf does, proofs stay within ceil(log2 n)', () => {
  let state = 0x9e3779b9n
  const next = () => {
    state = (state * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n
    return state
  }
  for (const n of [...Array.from({ length: 17 }, (_, k) => k + 1), 31, 32, 33, 63, 64, 65]) {
    const leaves = Array.from({ length: n }, () => '0x' + (next().toString(16) + next().toString(16) + next().toString(16) + next().toString(16)).padStart(64, '0').slice(-64))
    const root = merkleRoot(/** @type {`0x${string}`[]} */ (leaves))
    const depth = Math.ceil(Math.log2(n))
    for (let i = 0; i < n; i++) {
      const proof = merkleProof(/** @type {`0x${string}`[]} */ (leaves), i)
      assert.ok(proof.length <= depth, `n=${n} i=${i}: ${proof.length} > ${depth}`)
      assert.ok(verifyProof(proof, root, /** @type {`0x${string}`} */ (leaves[i])), `n=${n} i=${i}`)
      if (n > 1) assert.ok(!verifyProof(proof, root, /** @type {`0x${string}`} */ (leaves[(i + 1) % n])), `n=${n} i=${i} other`)
    }
    const hexLeaves = /** @type {`0x${string}`[]} */ (leaves)
    const oRoot = orderedRoot(hexLeaves)
    const oProofs = orderedProofs(hexLeaves)
    for (let i = 0; i < n; i++) {
      assert.deepEqual(oProofs[i], orderedProof(hexLeaves, i), `n=${n} i=${i} ordered`)
      assert.ok(oProofs[i].length <= depth)
      assert.ok(verifyOrderedProof(oProofs[i], oRoot, hexLeaves[i], i, n), `n=${n} i=${i} ordered`)
      if (n > 1) assert.ok(!verifyOrderedProof(oProofs[i], oRoot, hexLeaves[i], (i + 1) % n, n), `n=${n} i=${i} ordered elsewhere`)
    }
  }
})
