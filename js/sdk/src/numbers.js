// Numbers as the API sends them (JSON number, decimal string or 0x hex string) -> BigInt, and
// BigInt -> the decimal strings the API takes for every uint256.

import { AigcSdkError } from './errors.js'

/** @typedef {bigint | number | string} Numberish */

/**
 * Normalises a uint that arrived as a JSON number, a decimal string, a 0x hex string or a bigint.
 * Refuses fractions, negatives, unsafe JSON numbers (already rounded) and anything else.
 * @param {Numberish} value
 * @param {string} [what] names the value in the error message
 * @returns {bigint}
 */
export function toBigInt(value, what = 'value') {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError(`${what} is negative: ${value}`)
    return value
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${what} is not a safe non-negative integer: ${value}`)
    }
    return BigInt(value)
  }
  if (typeof value === 'string') {
    const s = value.trim()
    if (/^[0-9]+$/.test(s) || /^0x[0-9a-fA-F]+$/.test(s)) return BigInt(s)
  }
  throw new TypeError(`${what} is not an unsigned integer: ${JSON.stringify(value)}`)
}

/**
 * A uint as the API takes it: a decimal string (exact at any size, unlike a JSON number).
 * @param {Numberish} value
 * @returns {string}
 */
export function toDecimal(value) {
  return toBigInt(value).toString(10)
}

/**
 * A 32-byte value as 0x + 64 lowercase hex digits (token ids, hashes).
 * @param {Numberish} value
 * @returns {`0x${string}`}
 */
export function toBytes32Hex(value) {
  const n = toBigInt(value)
  if (n >= 2n ** 256n) throw new RangeError(`value does not fit 32 bytes: ${n}`)
  return `0x${n.toString(16).padStart(64, '0')}`
}

/**
 * JSON.stringify that writes every BigInt as a decimal string (JSON has no BigInt).
 * @param {unknown} body
 * @returns {string}
 */
export function stringifyJson(body) {
  return JSON.stringify(body, (_key, v) => (typeof v === 'bigint' ? v.toString(10) : v))
}

/**
 * A 0x-prefixed hex string from the API (hashes, ids, signatures, calldata), checked.
 * @param {string} value
 * @param {string} [what]
 * @returns {`0x${string}`}
 */
export function toHex(value, what = 'value') {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]*$/.test(value)) {
    throw new TypeError(`${what} is not 0x-hex: ${JSON.stringify(value)}`)
  }
  return /** @type {`0x${string}`} */ (value)
}

/**
 * A task id as the API names tasks (0x + 64 hex digits): anything else is refused before it
 * becomes a URL path (`../` in an id would send the bearer token to another route).
 * @param {unknown} value
 * @returns {`0x${string}`}
 */
export function toTaskId(value) {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new AigcSdkError('bad_task_id', `a task id is 0x and 64 hex digits, not ${JSON.stringify(value)}`)
  }
  return /** @type {`0x${string}`} */ (value.toLowerCase())
}

/**
 * A trade id (a positive integer, as a number, a decimal string or a bigint) for a URL path.
 * @param {unknown} value
 * @returns {number}
 */
export function toTradeId(value) {
  const n = typeof value === 'number' ? value
    : typeof value === 'bigint' ? Number(value)
      : typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < 1 || (typeof value === 'bigint' && BigInt(n) !== value)) {
    throw new AigcSdkError('bad_trade_id', `a trade id is a positive integer, not ${typeof value === 'bigint' ? value : JSON.stringify(value)}`)
  }
  return n
}
