// collectRoyalty: the producer collects a resale's royalty from its `royalty_claimable`
// notification. The notification's lock must be the one it names by id, an Ether lock paying the
// wallet, open on chain, and the secret its hashlock's; the API's transaction must be exactly
// HashTimeLock.withdraw(that lock, that secret) at the deployment's HTLC with no Ether. Anything
// else is refused before the wallet is asked (the web app's button used to sign whatever the API
// returned).

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeFunctionData, sha256 } from 'viem'
import { collectRoyalty, lockId, toLock } from '../src/index.js'
import { hashTimeLockAbi } from '../src/abis.js'
import { ADDRESS, client, fakeApi, HTLC, REGISTRY, testWallet } from './helpers.js'

const BUYER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const ATTACKER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const ZERO = '0x0000000000000000000000000000000000000000'
const PREIMAGE = /** @type {`0x${string}`} */ (`0x${'cd'.repeat(32)}`)
const HASHLOCK = sha256(PREIMAGE)
/** The royalty lock: the buyer's Ether for the producer (the signed-in wallet), 250 wei. */
const LOCK = { sender: BUYER, receiver: ADDRESS, asset: 'ETHER', token: ZERO, amount: '250', hashlock: HASHLOCK, timelock: '1800000000' }
const ID = lockId(toLock(LOCK))
const OPEN = 1
const WITHDRAWN = 2

/** The notification as the API serves it. */
function note(over = {}) {
  return { lockId: ID, lock: LOCK, preimage: PREIMAGE, amount: '250', ...over }
}

/**
 * A client whose API answers the withdrawal honestly unless `answer` edits it, and whose chain
 * holds the lock with `status`.
 * @param {{ answer?: Record<string, unknown>, status?: number }} [o]
 */
function setup({ answer = {}, status = OPEN } = {}) {
  const api = fakeApi({
    'POST /v1/tx/locks/withdraw': ({ body }) => [200, {
      to: HTLC,
      data: encodeFunctionData({ abi: hashTimeLockAbi, functionName: 'withdraw', args: [toLock(body.lock), body.preimage] }),
      value: '0', chainId: 31337, gas: 90000, maxFeePerGas: '1', maxPriorityFeePerGas: '1', from: ADDRESS, ...answer,
    }],
  })
  /** @type {any[]} */
  const sent = []
  /** @type {any[]} */
  const reads = []
  const walletClient = /** @type {any} */ ({ getChainId: async () => 31337,
    account: testWallet().walletClient.account,
    sendTransaction: async (/** @type {any} */ req) => { sent.push(req); return `0x${'01'.repeat(32)}` },
  })
  const c = client(api, walletClient)
  c.publicClient = /** @type {any} */ ({ getChainId: async () => 31337,
    readContract: async (/** @type {any} */ call) => {
      if (call.functionName !== 'statusOf') throw new Error(`no ${call.functionName} here`) // the deployment's domains: defaults
      reads.push(call)
      assert.equal(call.address, HTLC)
      return status
    },
    waitForTransactionReceipt: async () => ({ status: 'success', logs: [] }),
  })
  const withdrawals = () => api.calls.filter((x) => x.path === '/v1/tx/locks/withdraw').length
  return { c, sent, reads, withdrawals }
}

test('collectRoyalty withdraws exactly the notification\'s lock with its secret at the HTLC, no Ether', async () => {
  const { c, sent, reads } = setup()
  const out = await collectRoyalty(c, note())
  assert.equal(out.hash, `0x${'01'.repeat(32)}`)
  assert.equal(out.lockId, ID)
  assert.equal(out.amount, 250n)
  assert.deepEqual(sent.map((s) => [s.to, s.value, s.data]), [[HTLC, 0n,
    encodeFunctionData({ abi: hashTimeLockAbi, functionName: 'withdraw', args: [toLock(LOCK), PREIMAGE] })]])
  assert.deepEqual(reads.map((r) => r.args), [[toLock(LOCK)]])
})

test('a lying API\'s withdrawal (Ether on it, another contract, another lock or secret) is tx_mismatch, unsent', async () => {
  const other = { ...toLock(LOCK), receiver: /** @type {`0x${string}`} */ (ATTACKER) }
  /** @type {[string, Record<string, unknown>][]} */
  const lies = [
    ['one Ether carried', { value: String(10n ** 18n) }],
    ['to another contract', { to: REGISTRY }],
    ['to the attacker', { to: ATTACKER }],
    ['another lock', { data: encodeFunctionData({ abi: hashTimeLockAbi, functionName: 'withdraw', args: [other, PREIMAGE] }) }],
    ['a refund instead', { data: encodeFunctionData({ abi: hashTimeLockAbi, functionName: 'refund', args: [toLock(LOCK)] }) }],
  ]
  for (const [what, answer] of lies) {
    const { c, sent } = setup({ answer })
    await assert.rejects(collectRoyalty(c, note()), { code: 'tx_mismatch' }, what)
    assert.equal(sent.length, 0, what)
  }
})

test('a notification whose lock is not the one it names, not yours, not Ether, not its amount, or whose secret does not open it is refused before the API is asked', async () => {
  /** @type {[string, Record<string, unknown>, string][]} */
  const lies = [
    ['another lock id', { lockId: `0x${'77'.repeat(32)}` }, 'bad_royalty_lock'],
    ['paying someone else', { lock: { ...LOCK, receiver: ATTACKER }, lockId: lockId(toLock({ ...LOCK, receiver: ATTACKER })) }, 'bad_royalty_lock'],
    ['a token lock', { lock: { ...LOCK, asset: 'ERC721', token: REGISTRY }, lockId: lockId(toLock({ ...LOCK, asset: 'ERC721', token: REGISTRY })) }, 'bad_royalty_lock'],
    ['another amount than told', { amount: '999' }, 'bad_royalty_lock'],
    ['a secret that is not the hashlock\'s', { preimage: `0x${'ce'.repeat(32)}` }, 'bad_preimage'],
  ]
  for (const [what, over, code] of lies) {
    const { c, sent, withdrawals } = setup()
    await assert.rejects(collectRoyalty(c, note(over)), { code }, what)
    assert.equal(sent.length + withdrawals(), 0, what)
  }
})

test('a royalty lock already withdrawn or refunded is not open: lock_not_open, nothing sent', async () => {
  for (const status of [WITHDRAWN, 3, 0]) {
    const { c, sent, withdrawals } = setup({ status })
    await assert.rejects(collectRoyalty(c, note()), { code: 'lock_not_open' }, String(status))
    assert.equal(sent.length + withdrawals(), 0)
  }
})
