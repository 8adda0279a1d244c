// The producer's sealed delivery: register a delivery key the wallet derives (no private key
// leaves the wallet), then open a claimed delivery with it and check it against the ESP's
// attestation. The cryptography is delivery.js's (docs/delivery.md).

import { bytesToHex, getAddress } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { expectedDomain } from './auth.js'
import { pngContentHash } from './content.js'
import { getDeployment } from './deployment.js'
import { deliveryKeyMessage, deriveDeliveryKey, keyCommitment, openDelivery as openSealed, registrationBody } from './delivery.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toLock } from './locks.js'
import { toHex, toTaskId } from './numbers.js'
import { checkAttested } from './registry.js'
import { revealedPreimage } from './tasks.js'
import { address, wallet } from './wallet.js'

/** Raised when an opened delivery differs from the ESP's attestation; `key` is the fraud proof. */
export class DeliveryMismatchError extends AigcSdkError {
  /**
   * @param {string} taskId
   * @param {string} reason
   * @param {`0x${string}`} key the delivery's AES key (opens this delivery only)
   */
  constructor(taskId, reason, key) {
    super('delivery_mismatch', `task ${taskId}: ${reason}`)
    this.name = 'DeliveryMismatchError'
    this.taskId = taskId
    this.key = key
  }
}

/**
 * Derives the delivery key from one wallet signature over the API's domain-bound message
 * (checked equal to the text the server publishes) and caches it on the client.
 * @param {import('./client.js').AigcClient} client
 * @returns {Promise<import('./delivery.js').DeliveryKey>}
 */
export async function deriveKey(client) {
  if (client.cache.deliveryKey) return client.cache.deliveryKey
  const me = await address(client)
  const info = await request(client, `/v1/accounts/${me}/delivery-key`, { auth: false })
  const where = { address: me, chainId: BigInt(info.chain_id), domain: String(info.domain) }
  if (deliveryKeyMessage(where) !== info.message) {
    throw new AigcSdkError('delivery_message_mismatch', 'the server asks to sign another delivery-key message')
  }
  // A phishing API would ask for the real marketplace's key (its domain and chain) and open the
  // user's deliveries there: the message must name this client's domain and deployment's chain.
  const domain = expectedDomain(client)
  const dep = await getDeployment(client)
  if (where.domain !== domain || where.chainId !== BigInt(dep.chainId)) {
    throw new AigcSdkError(
      'delivery_message_mismatch',
      `the server asks for the delivery key of ${where.domain} on chain ${where.chainId}, not ${domain} on chain ${dep.chainId}: nothing was signed`,
    )
  }
  const w = wallet(client)
  const key = await deriveDeliveryKey({ signer: w, ...where })
  client.cache.deliveryKey = key
  client.cache.deliveryKeyRegistered = info.delivery_key === key.publicKeyHex
  return key
}

/**
 * Registers the wallet-derived delivery key with the API (public key and a proof of possession);
 * ESPs then seal deliveries to it. Does nothing when the same key is already registered. Call it
 * after signIn and before posting tasks.
 * @param {import('./client.js').AigcClient} client
 * @returns {Promise<{ publicKey: `0x${string}`, registered: boolean }>} `registered`: newly now
 */
export async function registerDeliveryKey(client) {
  const key = await deriveKey(client)
  if (client.cache.deliveryKeyRegistered) return { publicKey: key.publicKeyHex, registered: false }
  const me = await address(client)
  const info = await request(client, `/v1/accounts/${me}/delivery-key`, { auth: false })
  const body = await registrationBody({ deliveryKey: key, address: me, chainId: BigInt(info.chain_id), domain: String(info.domain) })
  const out = await request(client, '/v1/accounts/me/delivery-key', { method: 'PUT', json: body })
  if (out.delivery_key !== key.publicKeyHex) {
    throw new AigcSdkError('delivery_key_not_registered', `the API holds ${out.delivery_key}`)
  }
  client.cache.deliveryKeyRegistered = true
  return { publicKey: key.publicKeyHex, registered: true }
}

/**
 * Opens a claimed delivery: the preimage from the chain (the ESP's Withdrawn event, not the
 * API's word), the sealed bytes and the ESP's public key from the API, the delivery key from the
 * wallet; then checks the key commitment and the image's content hash against the ESP's
 * attestation. A mismatch throws DeliveryMismatchError carrying the key for reportFraud. The
 * sealing ESP must be the one your fee lock paid (`esp_mismatch`: an API naming an account of
 * its own as the task's ESP could seal any image to your public delivery key with the preimage
 * the chain made public), and the attestation must be that ESP's signature over this image and
 * this lock by the Registry's `attestationDigest` (`bad_attestation`), the check `register`
 * makes before committing: the image returned is the one the paid ESP attested, never one the
 * API chose.
 * @param {import('./client.js').AigcClient} client
 * @param {{ task: import('./tasks.js').Task }} params
 * @returns {Promise<{ image: Uint8Array, contentHash: `0x${string}`, key: `0x${string}` }>}
 *   `image`: the PNG bytes
 */
export async function openDelivery(client, { task }) {
  const meta = task.delivery
  if (!meta || !task.lock) throw new AigcSdkError('not_delivered', `task ${task.id} has no delivery`)
  const lock = toLock(task.lock)
  if (lock.receiver !== getAddress(task.esp)) {
    throw new AigcSdkError('esp_mismatch', `task ${task.id} names ESP ${task.esp}, its fee lock paid ${lock.receiver}: its delivery is not opened`)
  }
  const preimage = await revealedPreimage(client, { lock })
  if (!preimage) throw new AigcSdkError('not_claimed', `task ${task.id}: the ESP has not claimed the fee yet`)
  const esp = await request(client, `/v1/accounts/${task.esp}`)
  const espPublicKey = /** @type {`0x${string}`} */ (esp.public_key)
  if (publicKeyToAddress(espPublicKey) !== getAddress(task.esp)) {
    throw new AigcSdkError('bad_esp_key', `the key the API gives for ${task.esp} is another account's`)
  }
  const sealed = await request(client, `/v1/tasks/${task.id}/sealed`, { as: 'bytes' })
  const deliveryKey = await deriveKey(client)
  let opened
  try {
    opened = openSealed({ sealed, deliveryKey, espPublicKey, preimage, taskId: task.id })
  } catch (e) {
    throw new AigcSdkError('delivery_unopenable', `task ${task.id}: ${/** @type {Error} */ (e).message}`)
  }
  const key = bytesToHex(opened.key)
  if (bytesToHex(keyCommitment(opened.key)) !== String(meta.key_commitment).toLowerCase()) {
    throw new DeliveryMismatchError(task.id, 'the key differs from the ESP\'s key commitment', key)
  }
  let hash
  try {
    hash = await pngContentHash(opened.plaintext)
  } catch (e) {
    throw new DeliveryMismatchError(task.id, `the delivery is not a readable image: ${/** @type {Error} */ (e).message}`, key)
  }
  if (hash !== String(meta.content_hash).toLowerCase()) {
    throw new DeliveryMismatchError(task.id, 'the image differs from the attested content hash', key)
  }
  await checkAttested(client, task, hash)
  return { image: opened.plaintext, contentHash: hash, key }
}

/**
 * Proves a delivery differs from its attestation by revealing its key (after the ESP claimed).
 * @param {import('./client.js').AigcClient} client
 * @param {{ taskId: string, key: `0x${string}` }} params
 */
export async function reportFraud(client, { taskId, key }) {
  return request(client, `/v1/tasks/${toTaskId(taskId)}/fraud`, { method: 'POST', json: { key: toHex(key, 'key') } })
}
