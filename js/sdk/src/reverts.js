// A contract's refusal before the wallet signs: the call is simulated against the chain, and
// the custom error it reverts with becomes AigcContractError (the error's name as `code`, its
// arguments as `fields`), as the API answers 409 with the same name when it builds the call.

import { decodeErrorResult, getAddress } from 'viem'
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
  try {
    const { errorName, args, abiItem } = decodeErrorResult({ abi, data })
    const inputs = /** @type {{ name?: string }[]} */ (/** @type {any} */ (abiItem).inputs ?? [])
    const values = /** @type {readonly unknown[]} */ (args ?? [])
    const fields = Object.fromEntries(inputs.map((p, i) => [p.name || `arg${i}`, values[i]]))
    return new AigcContractError(errorName, fields, getAddress(contract))
  } catch {
    return null
  }
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
