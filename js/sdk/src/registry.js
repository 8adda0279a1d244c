// Registration (commit, then reveal with the paid lock and the ESP's attestation) and disputes.

import { encodeAbiParameters, getAddress, keccak256, recoverAddress } from 'viem'
import { registryAbi } from './abis.js'
import { getDeployment } from './deployment.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { lockId, lockToApi, newSecret, toLock } from './locks.js'
import { lockInfoAbi } from './batch_actions.js'
import { toBigInt, toBytes32Hex, toHex } from './numbers.js'
import { address, sendUnsigned } from './wallet.js'

/**
 * The commitment the Registry stores before a reveal:
 * keccak256(abi.encode(contentHash, fingerprint, keccak256(detail), owner, salt)).
 * @param {{ contentHash: `0x${string}`, fingerprint: `0x${string}`, detail: `0x${string}`,
 *   owner: `0x${string}`, salt: `0x${string}` }} r
 * @returns {`0x${string}`}
 */
export function commitment(r) {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'address' }, { type: 'bytes32' }],
      [r.contentHash, r.fingerprint, keccak256(r.detail), r.owner, r.salt],
    ),
  )
}

/**
 * Registers a delivered image: commits (with the bond), then reveals in a later block with the
 * paid generation lock and the ESP's attestation. `contentHash` is the hash of the image you
 * opened (openDelivery checks it against the attestation).
 * @param {import('./client.js').AigcClient} client
 * @param {{ task: import('./tasks.js').Task, contentHash?: `0x${string}`, metadataUri?: string,
 *   salt?: `0x${string}` }} params
 * @returns {Promise<{ tokenId: bigint, commitTx: `0x${string}`, revealTx: `0x${string}`,
 *   salt: `0x${string}` }>}
 */
export async function register(client, { task, contentHash, metadataUri = '', salt }) {
  const meta = task.delivery
  if (!meta || !task.lock) throw new AigcSdkError('not_delivered', `task ${task.id} has no delivery`)
  const content = /** @type {`0x${string}`} */ ((contentHash ?? meta.content_hash).toLowerCase())
  if (content !== String(meta.content_hash).toLowerCase()) {
    throw new AigcSdkError('hash_mismatch', 'the image differs from the attested content hash')
  }
  const owner = await address(client)
  const r = {
    contentHash: content,
    fingerprint: meta.fingerprint,
    detail: meta.detail,
    owner,
    salt: salt ?? newSecret().preimage,
  }
  const dep = await getDeployment(client)
  const lock = toLock(task.lock)
  const registration = {
    contentHash: r.contentHash,
    fingerprint: toHex(r.fingerprint, 'fingerprint'),
    salt: r.salt,
    modelId: toHex(meta.model_id, 'model_id'),
    seed: task.seed,
    metadataURI: metadataUri,
  }
  const attestation = toHex(meta.attestation, 'attestation')
  await checkRevealable(client, dep, { lock, registration, detail: toHex(r.detail, 'detail'), attestation, owner })
  const { bond } = await registryParameters(client, dep)
  const committed = commitment(r)
  const c = await sendUnsigned(
    client,
    await request(client, '/v1/tx/registry/commit', { method: 'POST', json: { commitment: committed } }),
    { to: dep.addresses.registry, abi: registryAbi, functionName: 'commit', args: [committed], value: bond, what: 'commit' },
  )
  const reveal = await request(client, '/v1/tx/registry/reveal', {
    method: 'POST',
    json: {
      content_hash: r.contentHash,
      fingerprint: r.fingerprint,
      detail: r.detail,
      salt: r.salt,
      lock: lockToApi(lock),
      model_id: meta.model_id,
      seed: task.seed,
      metadata_uri: metadataUri,
      attestation: meta.attestation,
    },
  })
  const v = await sendUnsigned(client, reveal, {
    to: dep.addresses.registry,
    abi: registryAbi,
    functionName: 'reveal',
    args: [registration, lock, toHex(r.detail, 'detail'), attestation],
    value: 0n,
    what: 'reveal',
  })
  return { tokenId: toBigInt(content), commitTx: c.hash, revealTx: v.hash, salt: r.salt }
}

/**
 * Refuses (`bad_attestation`, `not_producer`, `lock_not_paid`) a delivery whose attestation is
 * not its fee lock's ESP's signature over `contentHash` and the delivery's values for this lock
 * and its payer (you), by the Registry's own `attestationDigest`: what register checks before
 * committing, and openDelivery before returning an image as the paid one.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./tasks.js').Task} task
 * @param {`0x${string}`} contentHash
 */
export async function checkAttested(client, task, contentHash) {
  const meta = task.delivery
  if (!meta || !task.lock) throw new AigcSdkError('not_delivered', `task ${task.id} has no delivery`)
  const dep = await getDeployment(client)
  const registration = {
    contentHash,
    fingerprint: toHex(meta.fingerprint, 'fingerprint'),
    salt: /** @type {`0x${string}`} */ (`0x${'00'.repeat(32)}`),
    modelId: toHex(meta.model_id, 'model_id'),
    seed: task.seed,
    metadataURI: '',
  }
  await checkRevealable(client, dep, {
    lock: toLock(task.lock), registration, detail: toHex(meta.detail, 'detail'), attestation: toHex(meta.attestation, 'attestation'), owner: await address(client),
  })
}

/**
 * @param {import('./client.js').AigcClient} client
 * @param {string} route
 * @param {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish }} ids
 */
async function dispute(client, route, { original, duplicate }) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  const tx = await request(client, `/v1/tx/registry/${route}`, {
    method: 'POST',
    json: { original: toBytes32Hex(o), duplicate: toBytes32Hex(d) },
  })
  const dep = await getDeployment(client)
  const deposit = route === 'challenge' || route === 'contest' ? (await registryParameters(client, dep)).challengeDeposit : 0n
  const { hash } = await sendUnsigned(client, tx, {
    to: dep.addresses.registry,
    abi: registryAbi,
    functionName: route,
    check: (args) => (args[0] === o && args[1] === d ? null : `is about ${args[0]} and ${args[1]}, not ${o} and ${d}`),
    value: deposit,
    what: route,
  })
  return { hash }
}

/**
 * What the reveal needs, checked before the bond is committed (a commitment never revealed
 * forfeits its bond): the fee lock is yours (`not_producer`) and paid, i.e. withdrawn by the ESP
 * (`lock_not_paid`), and the attestation is the lock's ESP's signature over exactly these values
 * by the Registry's own `attestationDigest` (`bad_attestation`: delivery metadata from the API
 * that the ESP did not attest would make the reveal revert after the bond was paid).
 * @param {import('./client.js').AigcClient} client
 * @param {import('./deployment.js').Deployment} dep
 * @param {{ lock: import('./locks.js').Lock, registration: { contentHash: `0x${string}`, fingerprint: `0x${string}`,
 *   modelId: `0x${string}`, seed: bigint }, detail: `0x${string}`, attestation: `0x${string}`, owner: `0x${string}` }} p
 */
async function checkRevealable(client, dep, { lock, registration, detail, attestation, owner }) {
  if (lock.sender !== getAddress(owner)) {
    throw new AigcSdkError('not_producer', `the fee lock was paid by ${lock.sender}, not ${owner}`)
  }
  const id = lockId(lock)
  const pc = client.publicClient
  const [[status], digest] = await Promise.all([
    pc.readContract({ address: dep.addresses.htlc, abi: lockInfoAbi, functionName: 'lockInfo', args: [id] }),
    pc.readContract({
      address: dep.addresses.registry,
      abi: registryAbi,
      functionName: 'attestationDigest',
      args: [id, lock.sender, registration.contentHash, registration.fingerprint, keccak256(detail), registration.modelId, registration.seed],
    }),
  ])
  if (Number(status) !== 2) throw new AigcSdkError('lock_not_paid', `lock ${id} is not paid (status ${status}): the ESP has not claimed its fee`)
  let signer = null
  try {
    signer = await recoverAddress({ hash: digest, signature: attestation })
  } catch {
    // not a signature: refused below
  }
  if (signer !== lock.receiver) {
    throw new AigcSdkError('bad_attestation', `the attestation is not ${lock.receiver}'s over this image's values (signed by ${signer}): nothing was committed`)
  }
}

/**
 * The Registry's parameters as the chain holds them (the bond a commit carries, the deposit a
 * challenge or a contest carries), never the API's word.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./deployment.js').Deployment} dep
 * @returns {Promise<{ bond: bigint, challengeDeposit: bigint }>}
 */
async function registryParameters(client, dep) {
  const p = await client.publicClient.readContract({ address: dep.addresses.registry, abi: registryAbi, functionName: 'parameters' })
  return { bond: BigInt(p.bond), challengeDeposit: BigInt(p.challengeDeposit) }
}

/**
 * Challenges a later near-duplicate with an earlier token you own (pays the deposit).
 * @param {import('./client.js').AigcClient} client
 * @param {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish }} ids
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
export function challenge(client, ids) {
  return dispute(client, 'challenge', ids)
}

/**
 * Contests a challenge of your token within the window (pays the same deposit). Where the
 * deployment has a committee, call `requestReview` first (committee.js): contested without a
 * pending review, the challenger may resolve the pair by the detail rule at once.
 * @param {import('./client.js').AigcClient} client
 * @param {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish }} ids
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
export function contest(client, ids) {
  return dispute(client, 'contest', ids)
}

/**
 * Decides an uncontested challenge after its window (anyone may send it).
 * @param {import('./client.js').AigcClient} client
 * @param {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish }} ids
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
export function finalize(client, ids) {
  return dispute(client, 'finalize', ids)
}

/**
 * Decides a contested challenge by the contract's detail comparison (anyone may send it).
 * @param {import('./client.js').AigcClient} client
 * @param {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish }} ids
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
export function resolve(client, ids) {
  return dispute(client, 'resolve', ids)
}
