import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sha256 } from 'viem'
import { commitment, lockId, lockToApi, newSecret, toLock } from '../src/index.js'
import { ADDRESS } from './helpers.js'

// Vectors from the Python side: ledger.clients.htlc.LockTerms(...).id and Registration.commitment.
const LOCK = {
  sender: ADDRESS,
  receiver: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  asset: 'ETHER',
  token: '0x0000000000000000000000000000000000000000',
  amount: '1234567890123456789',
  hashlock: `0x${'ab'.repeat(32)}`,
  timelock: 1700000000,
}

test('lock id equals the contract\'s (and the Python client\'s) keccak of the terms', () => {
  assert.equal(lockId(toLock(LOCK)), '0x6ad16650d74e82aae5b0cc7058d74037ed2bb44ad24b79dfb3f2c400a43c6ac4')
})

test('a lock from any route normalises the same: asset 0 or "ETHER", numbers or strings', () => {
  const a = toLock(LOCK)
  const b = toLock({ ...LOCK, asset: 0, amount: 1234567890123456789n, timelock: '1700000000', sender: ADDRESS.toLowerCase() })
  assert.deepEqual(a, b)
  assert.deepEqual(lockToApi(a), { ...LOCK, timelock: '1700000000' })
  assert.throws(() => toLock({ ...LOCK, asset: 'GOLD' }))
  assert.throws(() => toLock({ ...LOCK, hashlock: '0x12' }))
})

test('commitment equals the Registry\'s (Python Registration.commitment vector)', () => {
  assert.equal(
    commitment({
      contentHash: `0x${'01'.repeat(32)}`,
      fingerprint: `0x${'02'.repeat(32)}`,
      detail: `0x${'0304'.repeat(10)}`,
      owner: ADDRESS,
      salt: `0x${'05'.repeat(32)}`,
    }),
    '0x50131581a700371cfcd22276c57734bd9678409906b4baad1f2b762c63c72d3f',
  )
})

test('a fresh secret is 32 random bytes with its sha256 hashlock', () => {
  const a = newSecret()
  const b = newSecret()
  assert.match(a.preimage, /^0x[0-9a-f]{64}$/)
  assert.notEqual(a.preimage, b.preimage)
  assert.equal(a.hashlock, sha256(a.preimage))
})
