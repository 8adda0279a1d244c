// What the wallet signs is exactly the transaction the API built (to, data, value, gas, fees),
// for the actions that relay an API transaction (challenge and feedback), once the SDK has
// checked it is the call asked for (test_redteam3_sdk.py: one that is not is never signed).

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createWalletClient, custom, encodeFunctionData, keccak256, parseTransaction, recoverTransactionAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { challenge, feedback, toLock, toTask } from '../src/index.js'
import { espRegistryAbi, registryAbi } from '../src/abis.js'
import { ADDRESS, client, ESP_REGISTRY, fakeApi, KEY, REGISTRY } from './helpers.js'

const ESP = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

/** A wallet whose node accepts raw transactions (recorded) and a chain that mines them at once. */
function sendingWallet() {
  /** @type {`0x${string}`[]} */
  const raw = []
  const walletClient = createWalletClient({
    account: privateKeyToAccount(KEY),
    transport: custom({
      async request({ method, params }) {
        if (method === 'eth_chainId') return '0x7a69'
        if (method === 'eth_getTransactionCount') return '0x5'
        // the fees come from the wallet's own node, never the API's transaction
        if (method === 'eth_maxPriorityFeePerGas') return '0x3b9aca00' // 1 gwei
        if (method === 'eth_getBlockByNumber') {
          return { number: '0x1', hash: `0x${'00'.repeat(32)}`, timestamp: '0x1', baseFeePerGas: '0x3b9aca00', gasLimit: '0x1c9c380', gasUsed: '0x0', transactions: [] }
        }
        if (method === 'eth_sendRawTransaction') {
          raw.push(params[0])
          return keccak256(params[0])
        }
        throw new Error(`unexpected RPC ${method}`)
      },
    }),
  })
  return { walletClient, raw }
}

const publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
  readContract: async () => ({ bond: 1n, challengeDeposit: 10n ** 18n }),
  waitForTransactionReceipt: async ({ hash }) => ({ status: 'success', transactionHash: hash }),
})

const PROOF = { fingerprint: `0x${'01'.repeat(32)}`, detailHash: `0x${'02'.repeat(32)}`, esp: ADDRESS, priorityBlock: 1n, commitBlock: 1n, revealBlock: 2n }
const CHALLENGE = encodeFunctionData({ abi: registryAbi, functionName: 'challenge', args: [1n, 2n, PROOF, PROOF] })

/** @param {Record<string, unknown>} over */
function unsigned(over = {}) {
  return {
    to: REGISTRY, data: CHALLENGE, value: '1000000000000000000', chainId: 31337, gas: 210000,
    maxFeePerGas: '2000000000', maxPriorityFeePerGas: '1000000000', from: ADDRESS, ...over,
  }
}

test('challenge sends the API\'s transaction as built (the fees the wallet\'s own), with the token ids as 32-byte hex', async () => {
  const api = fakeApi({ 'POST /v1/tx/registry/challenge': () => [200, unsigned()] })
  const { walletClient, raw } = sendingWallet()
  const c = client(api, walletClient)
  c.publicClient = publicClient
  const { hash } = await challenge(c, { original: 1n, duplicate: '0x02' })
  assert.deepEqual(api.calls[0].body, { original: `0x${'0'.repeat(63)}1`, duplicate: `0x${'0'.repeat(63)}2` })
  assert.equal(raw.length, 1)
  assert.equal(hash, keccak256(raw[0]))
  const tx = parseTransaction(raw[0])
  assert.equal(tx.to?.toLowerCase(), REGISTRY.toLowerCase())
  assert.equal(tx.data, CHALLENGE)
  assert.equal(tx.value, 10n ** 18n)
  assert.equal(tx.gas, 210000n)
  // the node's base fee (1 gwei) x 1.2 + its priority fee (1 gwei), not the API's 2 gwei / 1 gwei
  assert.equal(tx.maxPriorityFeePerGas, 1_000_000_000n)
  assert.equal(tx.maxFeePerGas, 2_200_000_000n)
  assert.equal(tx.chainId, 31337)
  assert.equal(await recoverTransactionAddress({ serializedTransaction: /** @type {any} */ (raw[0]) }), ADDRESS)
})

test('a transaction the API built for another sender is refused, nothing is signed', async () => {
  const api = fakeApi({ 'POST /v1/tx/registry/challenge': () => [200, unsigned({ from: ESP })] })
  const { walletClient, raw } = sendingWallet()
  const c = client(api, walletClient)
  c.publicClient = publicClient
  await assert.rejects(challenge(c, { original: 1n, duplicate: 2n }), { code: 'wrong_sender' })
  assert.equal(raw.length, 0)
})

test('a reverted transaction is an error, not a silent success', async () => {
  const api = fakeApi({ 'POST /v1/tx/registry/challenge': () => [200, unsigned()] })
  const { walletClient } = sendingWallet()
  const c = client(api, walletClient)
  c.publicClient = /** @type {any} */ ({ ...publicClient, waitForTransactionReceipt: async () => ({ status: 'reverted' }) })
  await assert.rejects(challenge(c, { original: 1n, duplicate: 2n }), { code: 'tx_reverted' })
})

test('feedback sends the task\'s lock as the API takes it (asset by name, decimal amounts)', async () => {
  const api = fakeApi({ 'POST /v1/tx/feedback': ({ body }) => [200, unsigned({
    to: ESP_REGISTRY, value: '0',
    data: encodeFunctionData({ abi: espRegistryAbi, functionName: 'submitFeedback', args: [toLock(body.lock), body.positive] }),
  })] })
  const { walletClient, raw } = sendingWallet()
  const c = client(api, walletClient)
  c.publicClient = publicClient
  const task = toTask({
    id: `0x${'aa'.repeat(32)}`, producer: ADDRESS, esp: ESP, prompt: 'p', seed: '1', max_price: '1', status: 'registered',
    price: '1', hashlock: `0x${'ab'.repeat(32)}`, deadline: '9', quote_signature: null, lock_id: null, delivery: null,
    lock: { sender: ADDRESS, receiver: ESP, asset: 0, token: '0x0000000000000000000000000000000000000000', amount: 1000, hashlock: `0x${'ab'.repeat(32)}`, timelock: 9 },
  })
  await feedback(c, { task, positive: true })
  assert.deepEqual(api.calls[0].body, {
    positive: true,
    lock: { sender: ADDRESS, receiver: ESP, asset: 'ETHER', token: '0x0000000000000000000000000000000000000000', amount: '1000', hashlock: `0x${'ab'.repeat(32)}`, timelock: '9' },
  })
  assert.equal(raw.length, 1)
})
