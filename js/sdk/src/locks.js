// Hash-time locks as the contracts define them: terms, id, and the shapes the API takes.

import { encodeAbiParameters, getAddress, keccak256, sha256 } from 'viem'
import { toBigInt } from './numbers.js'

export const ASSETS = /** @type {const} */ (['ETHER', 'ERC20', 'ERC721'])
export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'

/**
 * A lock's terms, normalised: addresses checksummed, asset as its index, amounts BigInt.
 * @typedef {object} Lock
 * @property {`0x${string}`} sender
 * @property {`0x${string}`} receiver
 * @property {number} asset 0 Ether, 1 ERC-20, 2 ERC-721
 * @property {`0x${string}`} token
 * @property {bigint} amount wei, or the token id of an ERC-721 lock
 * @property {`0x${string}`} hashlock sha256 of the preimage
 * @property {bigint} timelock unix seconds
 */

/**
 * Normalises a lock from any route's shape (asset 0 or "ETHER", numbers or strings).
 * @param {Record<string, any>} raw
 * @returns {Lock}
 */
export function toLock(raw) {
  if (!raw || typeof raw !== 'object') throw new TypeError('lock must be an object')
  const asset = typeof raw.asset === 'string' && ASSETS.includes(/** @type {any} */ (raw.asset))
    ? ASSETS.indexOf(/** @type {any} */ (raw.asset))
    : Number(toBigInt(raw.asset, 'asset'))
  if (!(asset in ASSETS)) throw new RangeError(`unknown asset ${raw.asset}`)
  const hashlock = String(raw.hashlock).toLowerCase()
  if (!/^0x[0-9a-f]{64}$/.test(hashlock)) throw new TypeError(`hashlock is not 32 bytes: ${raw.hashlock}`)
  return {
    sender: getAddress(raw.sender),
    receiver: getAddress(raw.receiver),
    asset,
    token: getAddress(raw.token ?? ZERO_ADDRESS),
    amount: toBigInt(raw.amount, 'amount'),
    hashlock: /** @type {`0x${string}`} */ (hashlock),
    timelock: toBigInt(raw.timelock, 'timelock'),
  }
}

/**
 * The lock as the API's request bodies take it (asset by name, uints as decimal strings).
 * @param {Lock} lock
 */
export function lockToApi(lock) {
  return {
    sender: lock.sender,
    receiver: lock.receiver,
    asset: ASSETS[lock.asset],
    token: lock.token,
    amount: lock.amount.toString(10),
    hashlock: lock.hashlock,
    timelock: lock.timelock.toString(10),
  }
}

/**
 * The lock id the HashTimeLock contract uses: keccak256 of the ABI-encoded terms.
 * @param {Lock} lock
 * @returns {`0x${string}`}
 */
export function lockId(lock) {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'address' }, { type: 'address' }, { type: 'uint8' }, { type: 'address' },
        { type: 'uint256' }, { type: 'bytes32' }, { type: 'uint64' },
      ],
      [lock.sender, lock.receiver, lock.asset, lock.token, lock.amount, lock.hashlock, lock.timelock],
    ),
  )
}

/**
 * A fresh 32-byte secret and its sha256 hashlock (the seller's swap secret).
 * @returns {{ preimage: `0x${string}`, hashlock: `0x${string}` }}
 */
export function newSecret() {
  const bytes = new Uint8Array(32)
  globalThis.crypto.getRandomValues(bytes)
  return { preimage: bytesToHex32(bytes), hashlock: sha256(bytes) }
}

/**
 * @param {Uint8Array} bytes
 * @returns {`0x${string}`}
 */
function bytesToHex32(bytes) {
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
