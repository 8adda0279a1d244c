// openDelivery against a fake API with real v2 sealing (delivery.js): an honest delivery opens;
// a swapped image, a foreign ESP key and a delivery sealed to another key are caught.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { bytesToHex, keccak256, sha256, stringToBytes } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { deliveryKeyMessage, espSealingKey, keyCommitment, seal } from '../src/delivery.js'
import { deriveDeliveryKey, lockId, openDelivery, toTask } from '../src/index.js'
import { ADDRESS, client, fakeApi, HEALTH, testWallet } from './helpers.js'

const ESP_KEY = /** @type {`0x${string}`} */ (`0x${'22'.repeat(32)}`)
const esp = privateKeyToAccount(ESP_KEY)
const OTHER = privateKeyToAccount(`0x${'44'.repeat(32)}`)
const vectors = JSON.parse(readFileSync(new URL('./vectors/png.json', import.meta.url), 'utf8')).images
const PNG = new Uint8Array(Buffer.from(vectors[0].png_base64, 'base64'))
const OTHER_PNG = new Uint8Array(Buffer.from(vectors[2].png_base64, 'base64'))
const TASK_ID = /** @type {`0x${string}`} */ (`0x${'aa'.repeat(32)}`)
const PREIMAGE = /** @type {`0x${string}`} */ (`0x${'5e'.repeat(32)}`)
const WHERE = { chain_id: 31337, domain: 'api.test' }
const ATTESTED = { fingerprint: `0x${'0f'.repeat(32)}`, detail: `0x${'d0'.repeat(96)}`, model_id: `0x${'4d'.repeat(32)}` }

/** @param {readonly unknown[]} args */
const digestOf = (args) => keccak256(stringToBytes(args.map((a) => String(a).toLowerCase()).join('|')))

/**
 * @param {{ image?: Uint8Array, sealTo?: `0x${string}`, espKeyServed?: `0x${string}`,
 *   attester?: import('viem').PrivateKeyAccount, attestedHash?: string }} [options]
 */
async function setup(options = {}) {
  const { walletClient } = testWallet()
  const message = deliveryKeyMessage({ address: ADDRESS, chainId: 31337, domain: 'api.test' })
  /** @type {Record<string, any>} */
  const state = {}
  const api = fakeApi({
    'GET /healthz': () => [200, HEALTH],
    [`GET /v1/accounts/${ADDRESS}/delivery-key`]: () => [200, { address: ADDRESS, delivery_key: null, message, ...WHERE }],
    [`GET /v1/accounts/${esp.address}`]: () => [200, { address: esp.address, public_key: options.espKeyServed ?? esp.publicKey }],
    [`GET /v1/tasks/${TASK_ID}/sealed`]: () => [200, state.sealed],
  })
  const c = client(api, walletClient)
  c.publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    // the Registry's attestationDigest (a stand-in: the hash of its arguments), else lockInfo:
    // withdrawn, made at block 5
    readContract: async (/** @type {any} */ a) => (a.functionName === 'attestationDigest' ? digestOf(a.args) : [2, 5n]),
    getBlockNumber: async () => 9n,
    getContractEvents: async () => [{ args: { preimage: PREIMAGE } }],
  })
  const recipient = options.sealTo ?? (await deriveDeliveryKey(c)).publicKeyHex
  const key = espSealingKey({ espPrivateKey: ESP_KEY, recipientPublicKey: recipient, preimage: PREIMAGE, taskId: TASK_ID })
  state.sealed = seal({ plaintext: options.image ?? PNG, key, taskId: TASK_ID, recipientPublicKey: recipient })
  const task = toTask({
    id: TASK_ID, producer: ADDRESS, esp: esp.address, prompt: 'p', seed: 1, max_price: '1', status: 'claimed',
    price: '1', hashlock: sha256(PREIMAGE), deadline: 1, quote_signature: null,
    lock: { sender: ADDRESS, receiver: esp.address, asset: 'ETHER', token: '0x0000000000000000000000000000000000000000', amount: '1', hashlock: sha256(PREIMAGE), timelock: 1 },
    lock_id: null,
    delivery: { content_hash: vectors[0].content_hash, key_commitment: bytesToHex(keyCommitment(key)), ...ATTESTED },
  })
  // the ESP's attestation of the attested image (vectors[0]) for this lock and producer
  const lock = task.lock
  if (lock === null) throw new Error('no lock')
  task.delivery = { ...task.delivery, attestation: await (options.attester ?? esp).sign({
    hash: digestOf([lockId(lock), ADDRESS, options.attestedHash ?? vectors[0].content_hash, ATTESTED.fingerprint, keccak256(ATTESTED.detail), ATTESTED.model_id, 1n]),
  }) }
  return { c, task, key: bytesToHex(key) }
}

test('an honest delivery sealed to the wallet-derived key opens and matches its attestation', async () => {
  const { c, task, key } = await setup()
  const out = await openDelivery(c, { task })
  assert.equal(out.contentHash, vectors[0].content_hash)
  assert.deepEqual(out.image, PNG)
  assert.equal(out.key, key)
})

test('an ESP that seals another image than it attested is caught, with the key as fraud proof', async () => {
  const { c, task, key } = await setup({ image: OTHER_PNG })
  await assert.rejects(openDelivery(c, { task }), (/** @type {any} */ e) => {
    assert.equal(e.name, 'DeliveryMismatchError')
    assert.equal(e.key, key)
    return true
  })
})

test('an ESP public key that is not the ESP\'s address is refused before opening', async () => {
  const { c, task } = await setup({ espKeyServed: OTHER.publicKey })
  await assert.rejects(openDelivery(c, { task }), { code: 'bad_esp_key' })
})

test('a delivery sealed to another key does not open', async () => {
  const other = privateKeyToAccount(`0x${'66'.repeat(32)}`).publicKey
  const { c, task } = await setup({ sealTo: other })
  await assert.rejects(openDelivery(c, { task }), { code: 'delivery_unopenable' })
})

test('an attestation that is not the paid ESP\'s over this image is refused: the image is not returned', async () => {
  const { c, task } = await setup({ attester: OTHER })
  await assert.rejects(openDelivery(c, { task }), { code: 'bad_attestation' })
  const other = await setup({ attestedHash: vectors[2].content_hash }) // signed for another image
  await assert.rejects(openDelivery(other.c, { task: other.task }), { code: 'bad_attestation' })
})
