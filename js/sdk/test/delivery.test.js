// Sealed delivery against docs/delivery-vectors.json (computed by the Python implementation):
// the same message, signature, delivery key, proof, sealing key and sealed bytes, byte for byte;
// and the attacks: a competitor, the preimage alone, another chain or domain open nothing.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { bytesToHex, createWalletClient, custom, hexToBytes } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  DeliveryKeyError,
  SealError,
  contentHash,
  deliveryKeyFromSignature,
  deliveryKeyMessage,
  deriveDeliveryKey,
  espSealingKey,
  keyCommitment,
  open,
  openDelivery,
  recipientSealingKey,
  registrationBody,
  registrationMessage,
  seal,
  sealedRecipient,
} from '../src/delivery.js'

const V = JSON.parse(readFileSync(new URL('../../../docs/delivery-vectors.json', import.meta.url), 'utf8'))

/** @param {any} v */
const where = (v) => ({ address: v.account, chainId: v.chain_id, domain: v.domain })

test('the message, the wallet signature and the derived key match the vectors', async () => {
  for (const v of V.delivery_key) {
    assert.equal(deliveryKeyMessage(where(v)), v.message)
    const wallet = privateKeyToAccount(v.account_private_key)
    const key = await deriveDeliveryKey({ signer: wallet, ...where(v) }) // RFC 6979: same signature
    assert.equal(bytesToHex(key.secret), v.delivery_secret)
    assert.equal(key.publicKeyHex, v.delivery_public)
    const viaFunction = await deriveDeliveryKey({
      signer: ({ message }) => wallet.signMessage({ message }),
      ...where(v),
    })
    assert.equal(viaFunction.publicKeyHex, v.delivery_public)
    for (const sig of [v.signature, ...v.equivalent_signatures]) {
      assert.equal(deliveryKeyFromSignature({ signature: sig, ...where(v) }).publicKeyHex, v.delivery_public)
    }
    assert.equal(registrationMessage({ ...where(v), publicKey: v.delivery_public }), v.registration_message)
    const body = await registrationBody({ deliveryKey: key, ...where(v) })
    assert.deepEqual(body, { public_key: v.delivery_public, proof: v.registration_proof })
  }
})

test('an EIP-1193 wallet (personal_sign over a WalletClient without a local account) derives the same key', async () => {
  const v = V.delivery_key[0]
  const local = privateKeyToAccount(v.account_private_key)
  /** @type {string[]} */
  const calls = []
  const injected = {
    /** @param {{ method: string, params?: any }} args */
    async request({ method, params }) {
      calls.push(method)
      if (method !== 'personal_sign') throw new Error(`unexpected ${method}`)
      const [data, from] = params
      assert.equal(from.toLowerCase(), v.account.toLowerCase())
      return local.signMessage({ message: { raw: data } })
    },
  }
  const walletClient = createWalletClient({ transport: custom(injected) })
  const key = await deriveDeliveryKey({ signer: walletClient, ...where(v) })
  assert.equal(key.publicKeyHex, v.delivery_public)
  assert.deepEqual(calls, ['personal_sign'])
})

test('a wallet that signs as another account is refused', async () => {
  const v = V.delivery_key[0]
  const other = privateKeyToAccount(V.seal_v2.esp_private_key)
  await assert.rejects(deriveDeliveryKey({ signer: other, ...where(v) }), DeliveryKeyError)
  assert.throws(() => deliveryKeyFromSignature({ signature: `0x${'00'.repeat(65)}`, ...where(v) }), DeliveryKeyError)
  assert.throws(() => deliveryKeyMessage({ ...where(v), domain: 'a.org\nChain ID: 5' }), TypeError)
})

test('v2 sealing matches the vectors on both sides and opens', () => {
  const s = V.seal_v2
  const k = espSealingKey({
    espPrivateKey: s.esp_private_key,
    recipientPublicKey: s.recipient_public,
    preimage: s.preimage,
    taskId: s.task_id,
  })
  assert.equal(bytesToHex(k), s.key)
  const k2 = recipientSealingKey({
    recipientPrivateKey: s.recipient_private_key,
    espPublicKey: s.esp_public,
    preimage: s.preimage,
    taskId: s.task_id,
  })
  assert.equal(bytesToHex(k2), s.key)
  assert.equal(bytesToHex(keyCommitment(k)), s.key_commitment)
  const sealed = seal({
    plaintext: hexToBytes(s.plaintext),
    key: k,
    taskId: s.task_id,
    recipientPublicKey: s.recipient_public,
    nonce: s.nonce,
  })
  assert.equal(bytesToHex(sealed), s.sealed)
  assert.equal(bytesToHex(/** @type {Uint8Array} */ (sealedRecipient(sealed))), s.recipient_public)
  assert.equal(bytesToHex(open({ sealed, key: k, taskId: s.task_id })), s.plaintext)
  const v1 = V.seal_v1
  assert.equal(bytesToHex(open({ sealed: hexToBytes(v1.sealed), key: v1.key, taskId: v1.task_id })), v1.plaintext)
})

test('only the delivery key opens: not a competitor, the preimage alone, or another chain/domain', () => {
  const s = V.seal_v2
  const sealed = hexToBytes(s.sealed)
  const mine = deliveryKeyFromSignature({ signature: V.delivery_key[0].signature, ...where(V.delivery_key[0]) })
  const opened = openDelivery({ sealed, deliveryKey: mine, espPublicKey: s.esp_public, preimage: s.preimage, taskId: s.task_id })
  assert.equal(bytesToHex(opened.plaintext), s.plaintext)
  assert.equal(bytesToHex(opened.key), s.key)
  /** @param {Uint8Array} secret */
  const attempt = (secret) =>
    open({
      sealed,
      key: recipientSealingKey({ recipientPrivateKey: secret, espPublicKey: s.esp_public, preimage: s.preimage, taskId: s.task_id }),
      taskId: s.task_id,
    })
  const otherChain = V.delivery_key[1] // the same account's key for chain 1 / another domain
  const theirs = deliveryKeyFromSignature({ signature: otherChain.signature, ...where(otherChain) })
  assert.throws(() => attempt(theirs.secret), SealError)
  assert.throws(() => openDelivery({ sealed, deliveryKey: theirs, espPublicKey: s.esp_public, preimage: s.preimage, taskId: s.task_id }), SealError)
  const competitor = hexToBytes(`0x${'42'.repeat(32)}`)
  assert.throws(() => attempt(competitor), SealError)
  assert.throws(() => open({ sealed, key: s.preimage, taskId: s.task_id }), SealError) // preimage only
  const tampered = sealed.slice()
  tampered[tampered.length - 1] ^= 1
  assert.throws(() => open({ sealed: tampered, key: s.key, taskId: s.task_id }), SealError)
  const swapped = sealed.slice()
  swapped[5] ^= 1 // the named recipient is authenticated (AAD)
  assert.throws(() => open({ sealed: swapped, key: s.key, taskId: s.task_id }), SealError)
})

test('content hash: sha256("RGB {w}x{h}\\n" + pixels), RGBA drops alpha', () => {
  const c = V.content_hash
  const rgb = hexToBytes(c.rgb)
  assert.equal(contentHash({ width: c.width, height: c.height, rgb }), c.hash)
  const rgba = new Uint8ClampedArray(c.width * c.height * 4)
  for (let i = 0; i < c.width * c.height; i++) rgba.set([...rgb.slice(i * 3, i * 3 + 3), 128], i * 4)
  assert.equal(contentHash({ width: c.width, height: c.height, rgba }), c.hash)
  assert.throws(() => contentHash({ width: c.width, height: c.height + 1, rgb }), TypeError)
})
