// Everything that needs the user's signature goes through the viem WalletClient (an injected
// EIP-1193 wallet, a smart account, or a local account in tests): the SDK never sees a key.

import { decodeFunctionData, encodeFunctionData, getAddress } from 'viem'
import { getDeployment } from './deployment.js'
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
 * Refuses (`wrong_chain`) unless the wallet is on the deployment's chain: a wallet switched to
 * another network mid-flow would sign the API's transaction there (a viem WalletClient over an
 * injected provider has no `chain` of its own, so viem does not check), where the HTLC's address
 * may hold anything or nothing. An injected wallet (a JSON-RPC account) must still expose the
 * client's account (`eth_accounts`; else `account_changed`): a wallet switched to another account
 * mid-flow exposes only that one to the site. Asked before every signature, not cached.
 * @param {import('./client.js').AigcClient} client
 * @returns {Promise<import('./deployment.js').Deployment>}
 */
export async function checkWallet(client) {
  const dep = await getDeployment(client)
  await checkWalletOn(client, dep.chainId)
  return dep
}

/**
 * checkWallet against `chainId` (no deployment needed).
 * @param {import('./client.js').AigcClient} client
 * @param {number} chainId
 */
async function checkWalletOn(client, chainId) {
  const w = client.walletClient
  if (w) {
    const id = await w.getChainId()
    if (id !== chainId) {
      throw new AigcSdkError('wrong_chain', `the wallet is on chain ${id}, the marketplace's deployment on chain ${chainId}: switch networks`)
    }
    if (w.account?.type === 'json-rpc') {
      const mine = getAddress(w.account.address)
      const exposed = (await w.getAddresses()).map((a) => getAddress(a))
      if (!exposed.includes(mine)) {
        throw new AigcSdkError('account_changed', `the wallet now exposes ${exposed.join(', ') || 'no account'}, not ${mine} whose flow this is: switch back or sign in again`)
      }
    }
  }
}

/**
 * What an API-built transaction must be before the wallet signs it: the SDK never relays calldata
 * it has not checked against the user's request (a compromised API could otherwise return a plain
 * transfer to itself, or the right call with another receiver, amount or timelock).
 * @typedef {object} ExpectedCall
 * @property {`0x${string}`} to a contract of the client's deployment
 * @property {readonly any[]} abi the SDK's own fragments (never the API's ABI)
 * @property {string} functionName
 * @property {readonly unknown[]} [args] the exact arguments: the calldata must encode them
 * @property {(args: readonly any[]) => string | null} [check] for calls with arguments the API
 *   supplies (proofs): what is wrong with the decoded arguments, or null
 * @property {bigint} value the Ether the call carries, exactly
 * @property {string} what names the step in the error
 */

/**
 * Refuses (`tx_mismatch`) an unsigned transaction that is not exactly `expected`.
 * @param {import('./api-types.js').UnsignedTx} tx
 * @param {ExpectedCall} expected
 */
export function checkCall(tx, expected) {
  const { what } = expected
  /** @param {string} why */
  const refuse = (why) => new AigcSdkError('tx_mismatch', `the API's ${what} transaction ${why}: nothing was signed`)
  let to
  try {
    to = getAddress(tx.to ?? '')
  } catch {
    throw refuse('has no valid recipient')
  }
  if (to !== getAddress(expected.to)) throw refuse(`goes to ${to}, not ${getAddress(expected.to)}`)
  let value
  let data
  try {
    value = toBigInt(tx.value ?? 0, 'value')
    data = toHex(tx.data, 'data').toLowerCase()
  } catch (e) {
    throw refuse(`is malformed (${/** @type {Error} */ (e).message})`)
  }
  if (value !== expected.value) throw refuse(`carries ${value} wei, not ${expected.value}`)
  if (expected.args !== undefined) {
    const want = encodeFunctionData({ abi: expected.abi, functionName: expected.functionName, args: expected.args })
    if (data !== want.toLowerCase()) throw refuse(`is not ${expected.functionName} with the arguments asked for`)
    return
  }
  let decoded
  try {
    decoded = decodeFunctionData({ abi: expected.abi, data: /** @type {`0x${string}`} */ (data) })
  } catch {
    throw refuse(`is no ${expected.functionName} call`)
  }
  if (decoded.functionName !== expected.functionName) throw refuse(`calls ${decoded.functionName}, not ${expected.functionName}`)
  const wrong = expected.check?.(/** @type {readonly any[]} */ (decoded.args ?? [])) ?? null
  if (wrong !== null) throw refuse(wrong)
}

/**
 * @typedef {object} TxResult
 * @property {`0x${string}`} hash
 * @property {import('viem').TransactionReceipt} receipt
 */

/**
 * Sends an unsigned transaction the API built (to, data, value, gas; the fees the wallet's own)
 * through the wallet and waits for its receipt; a reverted transaction throws. With `expected`, the transaction must
 * be exactly that call (checkCall, `tx_mismatch`); without, the caller has checked it. Either way
 * the wallet must be on the deployment's chain (`wrong_chain`) and the transaction for it.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./api-types.js').UnsignedTx} tx the API's UnsignedTx
 * @param {ExpectedCall} [expected]
 * @returns {Promise<TxResult>}
 */
export async function sendUnsigned(client, tx, expected) {
  const from = await address(client)
  if (tx.from && getAddress(tx.from) !== from) {
    throw new AigcSdkError('wrong_sender', `the transaction is for ${tx.from}, the wallet is ${from}`)
  }
  if (expected !== undefined) checkCall(tx, expected)
  const dep = await checkWallet(client)
  if (tx.chainId !== undefined && tx.chainId !== null && Number(tx.chainId) !== dep.chainId) {
    throw new AigcSdkError('wrong_chain', `the API's transaction is for chain ${tx.chainId}, the deployment's is ${dep.chainId}`)
  }
  const w = wallet(client)
  const hash = await w.sendTransaction({
    account: await account(client),
    chain: w.chain ?? null,
    to: getAddress(tx.to),
    data: toHex(tx.data, 'data'),
    value: toBigInt(tx.value ?? 0, 'value'),
    gas: tx.gas === undefined ? undefined : toBigInt(tx.gas, 'gas'),
    // The fees are the wallet's to choose from its own node (viem fills them for a local
    // account, an injected wallet fills its own): the API's maxPriorityFeePerGas is ignored, since
    // a lying API could set it to anything and have the user tip a builder it colludes with.
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
  // The call names its contract already (a step that needs no API, such as registerBatch's own
  // commit): the wallet must be on the deployment's chain when the client knows it, else on the
  // chain reader's.
  const known = client.cache.deployment?.chainId
  await checkWalletOn(client, known ?? Number(await client.publicClient.getChainId()))
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
