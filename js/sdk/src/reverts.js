// A contract's refusal before the wallet signs: the call is simulated against the chain, and
// the custom error it reverts with becomes AigcContractError (the error's name as `code`, its
// arguments as `fields`), as the API answers 409 with the same name when it builds the call.

import { decodeErrorResult, getAddress, parseAbi } from 'viem'
import { AigcContractError } from './errors.js'
import { toBigInt, toHex } from './numbers.js'
import { address } from './wallet.js'

/**
 * The revert data a failed call carries somewhere along its `cause` chain (viem wraps the
 * node's answer: CallExecutionError -> RawContractError / RpcRequestError with `data`).
 * @param {unknown} err
 * @returns {`0x${string}` | null}
 */
export function revertData(err) {
  /** @type {any} */
  let e = err
  for (let depth = 0; e && depth < 16; depth += 1) {
    const d = typeof e.data === 'object' && e.data !== null ? e.data.data : e.data
    if (typeof d === 'string' && /^0x[0-9a-fA-F]{8}/.test(d)) return /** @type {`0x${string}`} */ (d)
    e = e.cause
  }
  return null
}

/**
 * The custom error of `abi` that `err` reverted with, as AigcContractError; null when `err`
 * carries no revert data or an error `abi` does not declare.
 * @param {unknown} err
 * @param {readonly any[]} abi
 * @param {`0x${string}`} contract
 * @returns {AigcContractError | null}
 */
export function toContractError(err, abi, contract) {
  const data = revertData(err)
  if (data === null) return null
  // the called contract's own errors first, then those a contract it calls reverts with through it
  for (const errors of [abi, NESTED_ERRORS]) {
    try {
      const { errorName, args, abiItem } = decodeErrorResult({ abi: errors, data })
      const inputs = /** @type {{ name?: string }[]} */ (/** @type {any} */ (abiItem).inputs ?? [])
      const values = /** @type {readonly unknown[]} */ (args ?? [])
      const fields = Object.fromEntries(inputs.map((p, i) => [p.name || `arg${i}`, values[i]]))
      return new AigcContractError(errorName, fields, getAddress(contract))
    } catch {
      // not one of these: the next table
    }
  }
  return null
}

/**
 * Errors a call reverts with from a contract it reaches through another: the Registry's escrow
 * refusals surface through the HashTimeLock's lockERC721 (its transferFrom of the token).
 * `RegistryTokenReclaimable`: a fresh (or just reclaimed) token cannot enter the escrow until
 * `untilBlock` (registrationWindow + commitTtl blocks after its reveal or reclaim), while an
 * earlier payer of its ESP could still reclaim it from a buyer. `BatchTokenReclaimable`: a batch
 * item is held the same from its batch's reveal (an earlier payer of its ESP may still register
 * its image, and the court's duplicate-image ruling would revoke the item from a buyer).
 */
export const NESTED_ERRORS = parseAbi([
  'error RegistryTokenReclaimable(uint256 tokenId, uint64 untilBlock)',
  'error BatchTokenReclaimable(uint256 tokenId, uint64 untilBlock)',
  'error RegistryTokenEscrowed(uint256 tokenId)',
  'error RegistryRelistTooSoon(uint256 tokenId, uint64 untilBlock)',
])

/**
 * The block until which the chain refuses to move a token (`RegistryTokenReclaimable`, or a batch
 * item's `BatchTokenReclaimable`), from
 * anywhere along `err`'s causes: the contract's error (AigcContractError, or the API's 409 that
 * carries it: `fields.untilBlock`), or the market's hold (the API's 409 `token_reclaimable`: its
 * `fields.reclaimable_until`, else the block its message names, "until block N"). Null for any
 * other error.
 * @param {unknown} err
 * @returns {bigint | null}
 */
export function reclaimableUntil(err) {
  /** @type {any} */
  let e = err
  for (let depth = 0; e && typeof e === 'object' && depth < 16; depth += 1, e = e.cause) {
    const held = e.code === 'RegistryTokenReclaimable' || e.code === 'BatchTokenReclaimable'
    if (held && e.fields && e.fields.untilBlock !== undefined) {
      return toBigInt(e.fields.untilBlock, 'untilBlock')
    }
    if (e.code === 'token_reclaimable') {
      const given = e.fields?.reclaimable_until ?? e.details?.reclaimable_until
      if (given !== undefined && given !== null) return toBigInt(given, 'reclaimable_until')
      const named = /until block (\d+)/.exec(String(e.message))
      return named ? BigInt(named[1]) : null
    }
  }
  return null
}

/**
 * When a token the escrow refuses until `untilBlock` can be sold, from the chain's `head`:
 * the blocks left, about how long (`secondsPerBlock`, 12 by default), and words for it.
 * @param {{ untilBlock: bigint, head: bigint, secondsPerBlock?: bigint }} p
 * @returns {{ untilBlock: bigint, blocks: bigint, seconds: bigint, text: string }}
 */
export function describeReclaimable({ untilBlock, head, secondsPerBlock = 12n }) {
  const blocks = untilBlock > head ? untilBlock - head : 0n
  const seconds = blocks * secondsPerBlock
  const text = blocks === 0n
    ? `until block ${untilBlock}, which is now: try again after the next block`
    : `until block ${untilBlock}, ${blocks} block${blocks === 1n ? '' : 's'} from now (about ${roughly(seconds)})`
  return { untilBlock, blocks, seconds, text }
}

/**
 * @param {bigint} seconds
 * @returns {string}
 */
function roughly(seconds) {
  /** @type {[bigint, string][]} */
  const units = [[86_400n * 2n, 'day'], [3_600n, 'hour'], [60n, 'minute']]
  for (const [size, name] of units) {
    const unit = name === 'day' ? 86_400n : size
    if (seconds >= size) {
      const n = (seconds + unit / 2n) / unit
      return `${n} ${name}${n === 1n ? '' : 's'}`
    }
  }
  return `${seconds} second${seconds === 1n ? '' : 's'}`
}

/**
 * Simulates the API's unsigned transaction from the wallet's address at the latest block
 * (`eth_call`); a revert that `abi` declares throws AigcContractError, any other failure is
 * rethrown. Nothing is signed.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./api-types.js').UnsignedTx} tx
 * @param {readonly any[]} abi the contract's functions and errors
 */
export async function simulateUnsigned(client, tx, abi) {
  const to = getAddress(tx.to)
  try {
    await client.publicClient.call({
      account: await address(client),
      to,
      data: toHex(tx.data, 'data'),
      value: toBigInt(tx.value ?? 0, 'value'),
    })
  } catch (err) {
    throw toContractError(err, abi, to) ?? err
  }
}
