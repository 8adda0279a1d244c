// Sealed delivery any wallet can open (docs/delivery.md, vectors in docs/delivery-vectors.json).
//
// The producer's wallet personal_signs one fixed, domain-bound message; the delivery key is
// derived from that signature (an RFC 6979 wallet signs it the same way on every device, so the
// key is re-derived anywhere). Only its public half is registered, with a proof of possession
// signed by the delivery key itself; the wallet's signature never leaves the client, because
// whoever holds it can open the deliveries. The ESP seals to the registered key (format v2):
//
//   shared = x(ECDH(esp, recipient))            key = HKDF-SHA256(shared || preimage,
//   salt = taskId, info = "aigc/sealed-delivery/v2" || esp33 || recipient33)
//   sealed = 0x02 || recipient33 || nonce12 || AES-256-GCM(key, nonce, image, aad = 0x02 || recipient33 || taskId)
//
// Pure functions over bytes; no network, no global state.

import { gcm } from '@noble/ciphers/aes'
import { randomBytes } from '@noble/ciphers/webcrypto'
import { secp256k1 } from '@noble/curves/secp256k1'
import { hkdf } from '@noble/hashes/hkdf'
import { sha256 } from '@noble/hashes/sha2'
import { bytesToHex, concatBytes, getAddress, hashMessage, hexToBytes, recoverMessageAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

/** @typedef {`0x${string}`} Hex */
/** @typedef {Hex | Uint8Array} BytesLike */

/**
 * A derived delivery key.
 * @typedef {object} DeliveryKey
 * @property {Uint8Array} secret 32-byte secp256k1 scalar (keep it on the client)
 * @property {Uint8Array} publicKey 33-byte compressed point (what is registered)
 * @property {Hex} publicKeyHex
 */

/**
 * A viem-style message signer: `({ message }) => signature`, or a viem WalletClient / Account
 * (anything with `signMessage`).
 * @typedef {((args: { message: string }) => Promise<Hex>) |
 *   { signMessage: (args: any) => Promise<Hex>, account?: any }} MessageSigner
 */

const N = secp256k1.CURVE.n
const enc = new TextEncoder()
const KEY_INFO = enc.encode('aigc/delivery-key/v1')
const SEAL_INFO = enc.encode('aigc/sealed-delivery/v2')
const COMMIT = enc.encode('aigc/key-commitment/v1')
const V2 = 0x02
const HEADER = 1 + 33
const DOMAIN = /^[\x21-\x7e]{1,253}$/

/** Raised when a delivery key cannot be derived, or a registration or signature is wrong. */
export class DeliveryKeyError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'DeliveryKeyError'
  }
}

/** Raised when a sealed delivery does not open (wrong key, preimage or task, or tampered bytes). */
export class SealError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'SealError'
  }
}

/**
 * @param {BytesLike} value
 * @param {string} name
 * @param {number} [length]
 * @returns {Uint8Array}
 */
function bytes(value, name, length) {
  const out = typeof value === 'string' ? hexToBytes(value) : value
  if (!(out instanceof Uint8Array)) throw new TypeError(`${name} must be hex or bytes`)
  if (length !== undefined && out.length !== length) {
    throw new TypeError(`${name} must be ${length} bytes, got ${out.length}`)
  }
  return out
}

/**
 * @param {{ address: string, chainId: number | bigint, domain: string }} where
 * @returns {{ address: Hex, chainId: bigint, domain: string }}
 */
function checked({ address, chainId, domain }) {
  if (!DOMAIN.test(domain)) {
    throw new TypeError('domain must be 1-253 printable ASCII characters without spaces')
  }
  const id = BigInt(chainId)
  if (id <= 0n || id >= 2n ** 64n) throw new TypeError('chainId must be a positive 64-bit integer')
  return { address: getAddress(address.toLowerCase()), chainId: id, domain }
}

/**
 * The compressed form (33 bytes) of a secp256k1 public key given in any SEC1 encoding.
 * @param {BytesLike} publicKey 33 or 65 bytes (64: x || y)
 * @returns {Uint8Array}
 */
export function compressPublicKey(publicKey) {
  let raw = bytes(publicKey, 'publicKey')
  if (raw.length === 64) raw = concatBytes([new Uint8Array([4]), raw])
  try {
    return secp256k1.ProjectivePoint.fromHex(raw).toRawBytes(true)
  } catch (e) {
    throw new DeliveryKeyError(`public key is not a secp256k1 point: ${/** @type {Error} */ (e).message}`)
  }
}

/**
 * The exact text the wallet signs (personal_sign) to derive the delivery key.
 * @param {{ address: string, chainId: number | bigint, domain: string }} params
 * @returns {string}
 */
export function deliveryKeyMessage(params) {
  const { address, chainId, domain } = checked(params)
  return (
    'AIGC delivery key v1\n\n' +
    `Sign only on ${domain}. This signature derives the key that opens the images delivered` +
    ' to you there; it cannot move funds or sign you in.\n\n' +
    `Account: ${address}\n` +
    `Chain ID: ${chainId}\n` +
    `Domain: ${domain}`
  )
}

/**
 * The text the delivery key signs (personal_sign) to prove possession when it is registered.
 * @param {{ address: string, chainId: number | bigint, domain: string, publicKey: BytesLike }} params
 * @returns {string}
 */
export function registrationMessage(params) {
  const { address, chainId, domain } = checked(params)
  return (
    'AIGC delivery key registration v1\n' +
    `Account: ${address}\n` +
    `Chain ID: ${chainId}\n` +
    `Domain: ${domain}\n` +
    `Delivery key: ${bytesToHex(compressPublicKey(params.publicKey))}`
  )
}

/**
 * `r || s` with s in low form (65-byte r,s,v or 64-byte EIP-2098 in); other lengths as given.
 * @param {Uint8Array} sig
 * @returns {Uint8Array}
 */
function ikmOf(sig) {
  if (sig.length !== 64 && sig.length !== 65) {
    if (sig.length === 0) throw new DeliveryKeyError('empty signature')
    return sig
  }
  const r = sig.slice(0, 32)
  const sBytes = sig.slice(32, 64)
  if (sig.length === 64) sBytes[0] &= 0x7f // EIP-2098: the top bit is the y parity
  let s = BigInt(bytesToHex(sBytes))
  const rn = BigInt(bytesToHex(r))
  if (rn <= 0n || rn >= N || s <= 0n || s >= N) {
    throw new DeliveryKeyError('signature r or s is out of range')
  }
  if (s > N - s) s = N - s
  return concatBytes([r, hexToBytes(`0x${s.toString(16).padStart(64, '0')}`)])
}

/**
 * The delivery key from a signature over deliveryKeyMessage (no wallet call).
 * @param {{ signature: BytesLike, address: string, chainId: number | bigint, domain: string }} params
 * @returns {DeliveryKey}
 */
export function deliveryKeyFromSignature({ signature, ...where }) {
  const message = deliveryKeyMessage(where)
  const salt = hexToBytes(hashMessage(message))
  const okm = hkdf(sha256, ikmOf(bytes(signature, 'signature')), salt, KEY_INFO, 48)
  const scalar = BigInt(bytesToHex(okm)) % N
  if (scalar === 0n) throw new DeliveryKeyError('the signature derives the zero scalar; sign again')
  const secret = hexToBytes(`0x${scalar.toString(16).padStart(64, '0')}`)
  const publicKey = secp256k1.getPublicKey(secret, true)
  return { secret, publicKey, publicKeyHex: bytesToHex(publicKey) }
}

/**
 * Asks the wallet to sign deliveryKeyMessage and derives the delivery key. A 65-byte signature
 * must recover to `address` (a contract wallet's longer signature is used as it is).
 * @param {{ signer: MessageSigner, address: string, chainId: number | bigint, domain: string }} params
 * @returns {Promise<DeliveryKey>}
 */
export async function deriveDeliveryKey({ signer, ...where }) {
  const message = deliveryKeyMessage(where)
  const signature =
    typeof signer === 'function'
      ? await signer({ message })
      : await signer.signMessage({ account: signer.account ?? getAddress(where.address), message })
  if (hexToBytes(signature).length === 65) {
    const who = await recoverMessageAddress({ message, signature })
    if (who !== getAddress(where.address)) {
      throw new DeliveryKeyError(`the wallet signed as ${who}, not ${getAddress(where.address)}`)
    }
  }
  return deliveryKeyFromSignature({ signature, ...where })
}

/**
 * The proof of possession the API's PUT /v1/accounts/me/delivery-key takes.
 * @param {{ deliveryKey: DeliveryKey, address: string, chainId: number | bigint, domain: string }} params
 * @returns {Promise<{ public_key: Hex, proof: Hex }>} the request body
 */
export async function registrationBody({ deliveryKey, ...where }) {
  const message = registrationMessage({ ...where, publicKey: deliveryKey.publicKey })
  const proof = await privateKeyToAccount(bytesToHex(deliveryKey.secret)).signMessage({ message })
  return { public_key: deliveryKey.publicKeyHex, proof }
}

/**
 * @param {{ shared: Uint8Array, esp: Uint8Array, recipient: Uint8Array, preimage: BytesLike, taskId: BytesLike }} p
 * @returns {Uint8Array}
 */
function v2Key({ shared, esp, recipient, preimage, taskId }) {
  const s = bytes(preimage, 'preimage', 32)
  const t = bytes(taskId, 'taskId', 32)
  return hkdf(sha256, concatBytes([shared, s]), t, concatBytes([SEAL_INFO, esp, recipient]), 32)
}

/**
 * The v2 sealing key as the ESP derives it.
 * @param {{ espPrivateKey: BytesLike, recipientPublicKey: BytesLike, preimage: BytesLike, taskId: BytesLike }} p
 * @returns {Uint8Array}
 */
export function espSealingKey({ espPrivateKey, recipientPublicKey, preimage, taskId }) {
  const own = bytes(espPrivateKey, 'espPrivateKey', 32)
  const recipient = compressPublicKey(recipientPublicKey)
  const shared = secp256k1.getSharedSecret(own, recipient, true).slice(1)
  return v2Key({ shared, esp: secp256k1.getPublicKey(own, true), recipient, preimage, taskId })
}

/**
 * The v2 sealing key as the recipient derives it (its delivery key, the ESP's public key).
 * @param {{ recipientPrivateKey: BytesLike, espPublicKey: BytesLike, preimage: BytesLike, taskId: BytesLike }} p
 * @returns {Uint8Array}
 */
export function recipientSealingKey({ recipientPrivateKey, espPublicKey, preimage, taskId }) {
  const own = bytes(recipientPrivateKey, 'recipientPrivateKey', 32)
  const esp = compressPublicKey(espPublicKey)
  const shared = secp256k1.getSharedSecret(own, esp, true).slice(1)
  return v2Key({ shared, esp, recipient: secp256k1.getPublicKey(own, true), preimage, taskId })
}

/**
 * `sha256("aigc/key-commitment/v1" || key)`: what the ESP publishes with its delivery.
 * @param {BytesLike} key
 * @returns {Uint8Array}
 */
export function keyCommitment(key) {
  return sha256(concatBytes([COMMIT, bytes(key, 'key', 32)]))
}

/**
 * Seals bytes to a recipient (format v2). `nonce` is random unless given (test vectors only).
 * @param {{ plaintext: Uint8Array, key: BytesLike, taskId: BytesLike, recipientPublicKey: BytesLike, nonce?: BytesLike }} p
 * @returns {Uint8Array}
 */
export function seal({ plaintext, key, taskId, recipientPublicKey, nonce }) {
  const header = concatBytes([new Uint8Array([V2]), compressPublicKey(recipientPublicKey)])
  const iv = nonce === undefined ? randomBytes(12) : bytes(nonce, 'nonce', 12)
  const aad = concatBytes([header, bytes(taskId, 'taskId', 32)])
  const body = gcm(bytes(key, 'key', 32), iv, aad).encrypt(plaintext)
  return concatBytes([header, iv, body])
}

/**
 * The recipient key a v2 delivery names, or null when the bytes are not shaped like v2.
 * @param {Uint8Array} sealed
 * @returns {Uint8Array | null}
 */
export function sealedRecipient(sealed) {
  if (sealed.length < HEADER + 12 + 16 || sealed[0] !== V2) return null
  return sealed.slice(1, HEADER)
}

/**
 * Opens a v2 (or an old v1: nonce || ciphertext, aad = taskId) delivery with its key.
 * @param {{ sealed: Uint8Array, key: BytesLike, taskId: BytesLike }} p
 * @returns {Uint8Array}
 */
export function open({ sealed, key, taskId }) {
  if (sealed.length < 12 + 16) throw new SealError('sealed delivery is too short')
  const k = bytes(key, 'key', 32)
  const t = bytes(taskId, 'taskId', 32)
  if (sealedRecipient(sealed) !== null) {
    try {
      return gcm(k, sealed.slice(HEADER, HEADER + 12), concatBytes([sealed.slice(0, HEADER), t])).decrypt(
        sealed.slice(HEADER + 12),
      )
    } catch {
      // a v1 delivery whose random nonce starts with 0x02: try it as v1 below
    }
  }
  try {
    return gcm(k, sealed.slice(0, 12), t).decrypt(sealed.slice(12))
  } catch {
    throw new SealError('cannot open the delivery: wrong key or tampered bytes')
  }
}

/**
 * Opens a delivery sealed to this delivery key: derives the key, checks the sealed bytes name
 * it, and decrypts. Returns the image bytes and the key (which a fraud proof reveals).
 * @param {{ sealed: Uint8Array, deliveryKey: DeliveryKey, espPublicKey: BytesLike, preimage: BytesLike, taskId: BytesLike }} p
 * @returns {{ plaintext: Uint8Array, key: Uint8Array }}
 */
export function openDelivery({ sealed, deliveryKey, espPublicKey, preimage, taskId }) {
  const named = sealedRecipient(sealed)
  if (named === null || bytesToHex(named) !== deliveryKey.publicKeyHex) {
    throw new SealError(
      `the delivery is sealed to ${named ? bytesToHex(named) : 'an account key (v1)'}, not to this delivery key`,
    )
  }
  const key = recipientSealingKey({ recipientPrivateKey: deliveryKey.secret, espPublicKey, preimage, taskId })
  return { plaintext: open({ sealed, key, taskId }), key }
}

/**
 * The on-chain content hash: sha256("RGB {w}x{h}\n" || pixels), pixels row-major RGB. Pass
 * `rgba` (a canvas ImageData's data) instead of `rgb` to drop the alpha channel.
 * @param {{ width: number, height: number, rgb?: Uint8Array, rgba?: Uint8Array | Uint8ClampedArray }} p
 * @returns {Hex}
 */
export function contentHash({ width, height, rgb, rgba }) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new TypeError('width and height must be positive integers')
  }
  let pixels = rgb
  if (pixels === undefined) {
    if (rgba === undefined) throw new TypeError('pass rgb or rgba pixels')
    if (rgba.length !== width * height * 4) throw new TypeError('rgba must be width * height * 4 bytes')
    pixels = new Uint8Array(width * height * 3)
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      pixels[j] = rgba[i]
      pixels[j + 1] = rgba[i + 1]
      pixels[j + 2] = rgba[i + 2]
    }
  }
  if (pixels.length !== width * height * 3) throw new TypeError('rgb must be width * height * 3 bytes')
  return bytesToHex(sha256(concatBytes([enc.encode(`RGB ${width}x${height}\n`), pixels])))
}
