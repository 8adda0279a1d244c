// Everything that needs the user's signature goes through the viem WalletClient (an injected
// EIP-1193 wallet, a smart account, or a local account in tests): the SDK never sees a key.

import { getAddress } from 'viem'
import { AigcSdkError } from './errors.js'
import { toBigInt, toHex } from './numbers.js'

/**
 * @param {import('./client.js').AigcClient} client
 * @returns {import('viem').WalletClient}
 */
export function wallet(client) {
  if (!client.walletClient) throw new AigcSdkError('no_wallet', 'this step needs a walletClient')
  return client.walletClient
}

/**
 * The wallet's account: its own `account`, else the first address it exposes.
 * @param {import('./client.js').AigcClient} client
 * @returns {Promise<import('viem').Account | `0x${string}`>}
 */
export async function account(client) {
  const w = wallet(client)
  if (w.account) return w.account
  const [first] = await w.getAddresses()
  if (!first) throw new AigcSdkError('no_account', 'the wallet exposes no address')
  return first
}

/**
 * @param {import('./client.js').AigcClient} client
 * @returns {Promise<`0x${string}`>}
 */
export async function address(client) {
  const a = await account(client)
  return getAddress(typeof a === 'string' ? a : a.address)
}

/**
 * @typedef {object} TxResult
 * @property {`0x${string}`} hash
 * @property {import('viem').TransactionReceipt} receipt
 */

/**
 * Sends an unsigned transaction the API built (to, data, value, gas, fees) through the wallet
 * and waits for its receipt; a reverted transaction throws.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./api-types.js').UnsignedTx} tx the API's UnsignedTx
 * @returns {Promise<TxResult>}
 */
export async function sendUnsigned(client, tx) {
  const from = await address(client)
  if (tx.from && getAddress(tx.from) !== from) {
    throw new AigcSdkError('wrong_sender', `the transaction is for ${tx.from}, the wallet is ${from}`)
  }
  const w = wallet(client)
  const hash = await w.sendTransaction({
    account: await account(client),
    chain: w.chain ?? null,
    to: getAddress(tx.to),
    data: toHex(tx.data, 'data'),
    value: toBigInt(tx.value ?? 0, 'value'),
    gas: tx.gas === undefined ? undefined : toBigInt(tx.gas, 'gas'),
    maxFeePerGas: tx.maxFeePerGas === undefined ? undefined : toBigInt(tx.maxFeePerGas, 'maxFeePerGas'),
    maxPriorityFeePerGas:
      tx.maxPriorityFeePerGas === undefined ? undefined : toBigInt(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas'),
  })
  return confirm(client, hash)
}

/**
 * Calls a contract function through the wallet (simulated first, so a revert names its error).
 * @param {import('./client.js').AigcClient} client
 * @param {{ address: `0x${string}`, abi: readonly any[], functionName: string, args?: readonly unknown[], value?: bigint }} call
 * @returns {Promise<TxResult>}
 */
export async function write(client, call) {
  const w = wallet(client)
  const acct = await account(client)
  const { request } = await client.publicClient.simulateContract({ ...call, account: acct })
  const hash = await w.writeContract({ ...request, chain: w.chain ?? null, account: acct })
  return confirm(client, hash)
}

/**
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} hash
 * @returns {Promise<TxResult>}
 */
async function confirm(client, hash) {
  const receipt = await client.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') {
    throw new AigcSdkError('tx_reverted', `transaction ${hash} reverted`)
  }
  return { hash, receipt }
}
