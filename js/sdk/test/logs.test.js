// Log reads against a node that caps the blocks one eth_getLogs may span (logs.js): the
// chunked reader, and revealedPreimage (the secret a seller or an ESP published when it claimed
// its lock: the buyer's claimToken and the producer's openDelivery read it) over a real viem
// publicClient whose transport answers like such a node. Before: one query from block 0 to the
// head, refused once the chain was longer than the cap: the buyer never learnt the secret.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  BaseError,
  createPublicClient,
  custom,
  encodeAbiParameters,
  encodeFunctionResult,
  numberToHex,
  toEventSelector,
} from 'viem'
import { lockInfoAbi } from '../src/batch_actions.js'
import { lockId, revealedPreimage } from '../src/index.js'
import { chunked } from '../src/logs.js'
import { ADDRESS, client, fakeApi, HEALTH, HTLC } from './helpers.js'

const CAP = 1000n // blocks one eth_getLogs may span here
const HEAD = 25_000n
const LOCKED_AT = 4_321n
const WITHDRAWN_AT = 12_345n
const PREIMAGE = /** @type {`0x${string}`} */ (`0x${'5e'.repeat(32)}`)
/** @type {import('../src/locks.js').Lock} */
const LOCK = {
  sender: ADDRESS, receiver: HTLC, asset: 0, token: '0x0000000000000000000000000000000000000000',
  amount: 1n, hashlock: `0x${'ab'.repeat(32)}`, timelock: 1_700_003_600n,
}

test('chunks cover the range in order, a refused chunk is halved and the smaller size kept', async () => {
  /** @type {[bigint, bigint][]} */
  const asked = []
  /** @param {bigint} from @param {bigint} to */
  const fetch = async (from, to) => {
    asked.push([from, to])
    if (to - from + 1n > 3n) throw new BaseError('range too wide')
    const out = []
    for (let b = from; b <= to; b++) out.push(b)
    return out
  }
  const got = []
  for await (const part of chunked(fetch, 10n, 29n, { chunk: 8n })) got.push(...part)
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => 10n + BigInt(i)))
  const answered = asked.filter(([f, t]) => t - f + 1n <= 3n)
  assert.ok(answered.every(([f], i) => i === 0 || f > answered[i - 1][0]))
  assert.ok(asked.length < 20) // not every chunk is refused first
  const down = async () => { throw new BaseError('down') }
  await assert.rejects(async () => { for await (const _ of chunked(down, 1n, 5n)) void _ }, BaseError)
  const bug = async () => { throw new TypeError('a bug, not a refusal') }
  await assert.rejects(async () => { for await (const _ of chunked(bug, 1n, 5n)) void _ }, TypeError)
  await assert.rejects(async () => { for await (const _ of chunked(fetch, 1n, 5n, { chunk: 0n })) void _ }, RangeError)
})

/**
 * An AigcClient whose publicClient talks to a capped node holding one Withdrawn log of LOCK.
 * @param {{ lockedAt?: bigint }} [options]
 */
function cappedClient({ lockedAt = LOCKED_AT } = {}) {
  /** @type {[bigint, bigint][]} */
  const answered = []
  const id = lockId(LOCK)
  const log = {
    address: HTLC.toLowerCase(),
    topics: [toEventSelector('Withdrawn(bytes32,bytes32)'), id],
    data: encodeAbiParameters([{ type: 'bytes32' }], [PREIMAGE]),
    blockNumber: numberToHex(WITHDRAWN_AT),
    blockHash: `0x${'cd'.repeat(32)}`,
    transactionHash: `0x${'ef'.repeat(32)}`,
    transactionIndex: '0x0',
    logIndex: '0x0',
    removed: false,
  }
  const transport = custom({
    /** @param {{ method: string, params?: any }} args */
    async request({ method, params }) {
      if (method === 'eth_chainId') return '0x7a69'
      if (method === 'eth_blockNumber') return numberToHex(HEAD)
      if (method === 'eth_call') {
        return encodeFunctionResult({ abi: lockInfoAbi, functionName: 'lockInfo', result: [lockedAt ? 2 : 0, lockedAt] })
      }
      if (method === 'eth_getLogs') {
        const q = params[0]
        const from = BigInt(q.fromBlock ?? 0)
        const to = q.toBlock === undefined || q.toBlock === 'latest' ? HEAD : BigInt(q.toBlock)
        if (to - from + 1n > CAP) throw Object.assign(new Error(`block range exceeds ${CAP} blocks`), { code: -32602 })
        answered.push([from, to])
        const match = q.topics?.[1] === undefined || q.topics[1] === id
        return from <= WITHDRAWN_AT && WITHDRAWN_AT <= to && match ? [log] : []
      }
      throw new Error(`unexpected RPC ${method}`)
    },
  }, { retryCount: 0 })
  const c = client(fakeApi({ 'GET /healthz': () => [200, HEALTH] }))
  c.publicClient = /** @type {any} */ (createPublicClient({ transport }))
  return { c, answered }
}

test('revealedPreimage finds a withdrawal thousands of blocks after its lock on a capped node', async () => {
  const { c, answered } = cappedClient()
  assert.equal(await revealedPreimage(c, { lock: LOCK }), PREIMAGE)
  assert.ok(answered.length > 0 && answered.every(([f, t]) => t - f + 1n <= CAP))
  assert.equal(answered[0][0], LOCKED_AT) // from the lock's own block, oldest first
  assert.ok((answered.at(-1)?.[1] ?? 0n) >= WITHDRAWN_AT)
  assert.ok(answered.every(([f]) => f <= WITHDRAWN_AT)) // stopped at the chunk holding it
  assert.equal(await revealedPreimage(c, { lock: LOCK, fromBlock: WITHDRAWN_AT + 1n }), null)
  assert.equal(await revealedPreimage(c, { lock: LOCK, fromBlock: 0n }), PREIMAGE)
})

test('revealedPreimage of a lock never made is null without a log query', async () => {
  const { c, answered } = cappedClient({ lockedAt: 0n })
  assert.equal(await revealedPreimage(c, { lock: LOCK }), null)
  assert.deepEqual(answered, [])
})
