// A paid generation from the producer's side: post, pay the quoted fee, wait, feedback.
// The ESP sees a commitment to the prompt (under a salt this SDK draws and checks) until the API
// has indexed the fee lock; then the prompt (services.generation.prompt on the server).

import { bytesToHex, concat, getAddress, hexToBytes, keccak256, recoverTypedDataAddress, stringToBytes } from 'viem'
import { lockInfoAbi } from './batch_actions.js'
import { espRegistryAbi, hashTimeLockAbi } from './abis.js'
import { getDeployment, QUOTE_TYPES } from './deployment.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { lockId, lockToApi, toLock, ZERO_ADDRESS } from './locks.js'
import { chunked } from './logs.js'
import { toBigInt, toHex, toTaskId } from './numbers.js'
import { poll } from './poll.js'
import { address, checkWallet, sendUnsigned, write } from './wallet.js'

/**
 * A task with its numbers as BigInt and its fee lock normalised (`raw` keeps the API's JSON).
 * @typedef {object} Task
 * @property {`0x${string}`} id
 * @property {`0x${string}`} producer
 * @property {`0x${string}`} esp
 * @property {string | null} prompt null for the ESP until the fee lock is indexed
 * @property {`0x${string}` | null} promptSalt the salt of `promptCommitment` (null when `prompt` is)
 * @property {`0x${string}` | null} promptCommitment what the ESP quotes on: {@link promptCommitment}
 *   (null only from a server older than prompt commitments)
 * @property {bigint} seed
 * @property {bigint} maxPrice
 * @property {string} status
 * @property {bigint | null} price
 * @property {`0x${string}` | null} hashlock
 * @property {bigint | null} deadline
 * @property {`0x${string}` | null} quoteSignature
 * @property {import('./locks.js').Lock | null} lock
 * @property {`0x${string}` | null} lockId
 * @property {Record<string, any> | null} delivery the ESP's signed delivery metadata
 * @property {{ code: string, message: string } | null} refusal the ESP's refusal of the locked
 *   task (`prompt_mismatch`: the released prompt does not open the commitment it quoted on);
 *   nothing will be delivered, the fee lock refunds at its deadline
 * @property {import('./api-types.js').TaskOut} raw
 */

/**
 * @param {import('./api-types.js').TaskOut} t
 * @returns {Task}
 */
export function toTask(t) {
  /** @param {any} v @param {string} what */
  const opt = (v, what) => (v === null || v === undefined ? null : toBigInt(v, what))
  return {
    id: toHex(t.id, 'id'),
    producer: getAddress(t.producer),
    esp: getAddress(t.esp),
    prompt: t.prompt ?? null,
    promptSalt: t.prompt_salt ? toHex(t.prompt_salt, 'prompt_salt') : null,
    promptCommitment: t.prompt_commitment ? toHex(t.prompt_commitment, 'prompt_commitment') : null,
    seed: toBigInt(t.seed, 'seed'),
    maxPrice: toBigInt(t.max_price, 'max_price'),
    status: t.status,
    price: opt(t.price, 'price'),
    hashlock: t.hashlock ? toHex(t.hashlock, 'hashlock') : null,
    deadline: opt(t.deadline, 'deadline'),
    quoteSignature: t.quote_signature ? toHex(t.quote_signature, 'quote_signature') : null,
    lock: t.lock ? toLock(t.lock) : null,
    lockId: t.lock_id ? toHex(t.lock_id, 'lock_id') : null,
    delivery: t.delivery ?? null,
    refusal: t.refusal ? { code: String(t.refusal.code), message: String(t.refusal.message) } : null,
    raw: t,
  }
}

/** The domain tag of a prompt commitment (services.generation.PROMPT_TAG). */
export const PROMPT_TAG = 'aigc-prompt-commitment-v1'

/**
 * keccak256(PROMPT_TAG || salt || utf8(prompt)): what the ESP sees of a prompt, and quotes on,
 * until the fee lock is indexed. Mirrors services.generation.prompt_commitment.
 * @param {string} prompt
 * @param {`0x${string}`} salt 32 bytes
 * @returns {`0x${string}`}
 */
export function promptCommitment(prompt, salt) {
  if (!/^0x[0-9a-fA-F]{64}$/.test(salt)) throw new AigcSdkError('bad_salt', 'salt must be 32 bytes of 0x hex')
  return keccak256(concat([stringToBytes(PROMPT_TAG), hexToBytes(salt), stringToBytes(prompt)]))
}

/**
 * Posts a generation task (to `esp`, or to one the API picks by reputation from your view) under
 * a fresh random salt (or `promptSalt`), and checks that the API commits the ESP to this prompt
 * (`prompt_commitment_mismatch` otherwise): the ESP reads the prompt only once the fee is locked.
 * @param {import('./client.js').AigcClient} client
 * @param {{ prompt: string, maxPrice: import('./numbers.js').Numberish, seed?: import('./numbers.js').Numberish,
 *   esp?: `0x${string}`, promptSalt?: `0x${string}`, extra?: Record<string, unknown> }} params `extra`: further body fields
 *   (for example the delivery key a wallet derived)
 * @returns {Promise<Task>}
 */
export async function postTask(client, params) {
  const salt = params.promptSalt ?? bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(32)))
  const expected = promptCommitment(params.prompt, salt)
  /** @type {Record<string, unknown>} */
  const body = {
    prompt: params.prompt,
    prompt_salt: salt,
    max_price: toBigInt(params.maxPrice, 'maxPrice'),
    seed: toBigInt(params.seed ?? 0, 'seed'),
    ...(params.esp ? { esp: getAddress(params.esp) } : {}),
    ...(params.extra ?? {}),
  }
  const task = toTask(await request(client, '/v1/tasks', { method: 'POST', json: body }))
  if (task.promptCommitment?.toLowerCase() !== expected) {
    throw new AigcSdkError('prompt_commitment_mismatch', `task ${task.id}: the API commits the ESP to another prompt than yours`)
  }
  const asked = { maxPrice: /** @type {bigint} */ (body.max_price), esp: params.esp ? getAddress(params.esp) : null }
  const me = client.session ? getAddress(client.session.address) : null
  const wrong = task.maxPrice !== asked.maxPrice ? `max_price ${task.maxPrice}, not ${asked.maxPrice}`
    : asked.esp !== null && task.esp !== asked.esp ? `ESP ${task.esp}, not ${asked.esp}`
      : me !== null && task.producer !== me ? `producer ${task.producer}, not ${me}`
        : null
  if (wrong !== null) throw new AigcSdkError('task_mismatch', `task ${task.id}: the API filed it with ${wrong}`)
  client.posted.set(task.id.toLowerCase(), { ...asked, commitment: expected })
  return task
}

/**
 * @param {import('./client.js').AigcClient} client
 * @param {{ taskId: string }} params
 * @returns {Promise<Task>}
 */
export async function getTask(client, { taskId }) {
  return toTask(await request(client, `/v1/tasks/${toTaskId(taskId)}`))
}

/**
 * Waits until the task reaches one of `status` (the indexer follows the chain).
 * @param {import('./client.js').AigcClient} client
 * @param {{ taskId: string, status: string | string[], intervalMs?: number, timeoutMs?: number }} params
 * @returns {Promise<Task>}
 */
export async function waitForTask(client, { taskId, status, ...timing }) {
  const wanted = Array.isArray(status) ? status : [status]
  return poll(async () => {
    const task = await getTask(client, { taskId })
    return wanted.includes(task.status) ? task : undefined
  }, { ...timing, what: `task ${taskId} to be ${wanted.join(' or ')}` })
}

/**
 * Waits until the ESP has delivered and claimed the fee (which publishes the secret that,
 * with the delivery key, opens the sealed image).
 * @param {import('./client.js').AigcClient} client
 * @param {{ taskId: string, intervalMs?: number, timeoutMs?: number }} params
 * @returns {Promise<Task>}
 */
export function waitForDelivery(client, params) {
  return waitForTask(client, { ...params, status: ['claimed', 'registered'] })
}

/**
 * The Ether fee lock a quote promises: producer -> ESP, the quoted price, hashlock, deadline.
 * @param {Task} task
 * @returns {import('./locks.js').Lock}
 */
export function quotedLock(task) {
  if (task.price === null || task.hashlock === null || task.deadline === null) {
    throw new AigcSdkError('not_quoted', `task ${task.id} has no quote`)
  }
  return toLock({
    sender: task.producer,
    receiver: task.esp,
    asset: 0,
    token: ZERO_ADDRESS,
    amount: task.price,
    hashlock: task.hashlock,
    timelock: task.deadline,
  })
}

/**
 * Seconds per block when converting the fee lock's claim window (blocks) into a fee deadline
 * (seconds): Ethereum's 12 s slot, which the deployment's parameters are written for (7,200
 * blocks is a day). The Python figure is services.generation.SECONDS_PER_BLOCK;
 * tests/js/test_sdk_quote_deadline.py holds the two equal.
 */
export const SECONDS_PER_BLOCK = 12n

/**
 * The latest fee deadline a producer accepts for a lock made at `lockTime` (the chain's now):
 * the ESP may claim (deliver) as late as the deadline, and the HashTimeLock refuses a claim more
 * than `claimWindowBlocks` blocks after the lock's block, so that the producer keeps the rest of
 * the Registry's registration window to commit. `claimWindowBlocks` is the HashTimeLock's own
 * `claimWindow()` (payFee reads it from the chain): its margin has one home,
 * ledger.deploy.claim_window_blocks, and the SDK keeps no copy of that formula.
 * services.generation.latest_quote_deadline is the Python side (the same figure: a test compares
 * them over several windows).
 * @param {bigint} lockTime unix seconds
 * @param {bigint} claimWindowBlocks the HashTimeLock's claimWindow
 * @param {bigint} [secondsPerBlock]
 * @returns {bigint}
 */
export function latestQuoteDeadline(lockTime, claimWindowBlocks, secondsPerBlock = SECONDS_PER_BLOCK) {
  return lockTime + claimWindowBlocks * secondsPerBlock
}

/**
 * The quote's signature covers the fee lock, not the prompt: what binds the payment to the
 * producer's prompt is the task's commitment, which the ESP quoted on and which the released
 * prompt must open. Refuses (`prompt_commitment_mismatch`) a task whose commitment is not the one
 * this client posted (`posted`: whatever prompt the API now shows, the ESP generates only from
 * one that opens this commitment), or, for a task posted elsewhere, one that the producer's own
 * prompt and salt (the producer always reads them) do not open: paying it would buy a generation
 * of another prompt.
 * @param {Task} task
 * @param {`0x${string}` | null} posted
 */
function checkCommitment(task, posted) {
  const quoted = task.promptCommitment?.toLowerCase() ?? null
  const opened = task.prompt !== null && task.promptSalt !== null ? promptCommitment(task.prompt, task.promptSalt) : null
  const wrong = quoted === null ? 'names no prompt commitment'
    : posted !== null ? (quoted !== posted.toLowerCase() ? `is quoted on commitment ${quoted}, you posted ${posted}` : null)
      : opened === null ? 'does not show you the prompt and salt its commitment opens to'
        : opened !== quoted ? `is quoted on commitment ${quoted}, which your prompt and salt do not open`
          : null
  if (wrong !== null) {
    throw new AigcSdkError('prompt_commitment_mismatch', `task ${task.id} ${wrong}: nothing was paid`)
  }
}

/**
 * Pays a quoted task: checks that the task is quoted on your prompt's commitment
 * (`prompt_commitment_mismatch`: the one this client posted, or the one your prompt and salt open),
 * the ESP's EIP-712 quote (an ECDSA signature by the ESP's key over the contract's Quote type, as
 * EspRegistry.acknowledge checks it: a contract ESP's EIP-1271 / ERC-6492 quote is `bad_quote`) and
 * its deadline (no later than {@link latestQuoteDeadline} of the chain's now and the HashTimeLock's
 * claimWindow, else `deadline_beyond_registration_window`), locks the fee through the
 * wallet (the API's unsigned lockEther transaction) and acknowledges the lock on the EspRegistry with the quote (writeContract with the deployment's ABI).
 * @param {import('./client.js').AigcClient} client
 * @param {{ task: Task }} params
 * @returns {Promise<{ lock: import('./locks.js').Lock, lockId: `0x${string}`,
 *   lockTx: `0x${string}`, acknowledgeTx: `0x${string}` }>}
 */
export async function payFee(client, { task }) {
  if (task.status !== 'quoted') throw new AigcSdkError('not_quoted', `task ${task.id} is ${task.status}`)
  const me = await address(client)
  if (getAddress(task.producer) !== me) {
    throw new AigcSdkError('not_producer', `task ${task.id} belongs to ${task.producer}`)
  }
  const lock = quotedLock(task)
  // The quote may not exceed what the producer offered: the maximum it posted through this
  // client (the API's max_price may have been raised since), else the task's own.
  const asked = client.posted.get(task.id.toLowerCase())
  const max = asked && asked.maxPrice < task.maxPrice ? asked.maxPrice : task.maxPrice
  if (lock.amount > max) {
    throw new AigcSdkError('price_above_max', `task ${task.id}: the quote asks ${lock.amount} wei, above the ${max} wei you offered: nothing was paid`)
  }
  if (asked?.esp && lock.receiver !== asked.esp) {
    throw new AigcSdkError('task_mismatch', `task ${task.id}: quoted by ${lock.receiver}, you asked ${asked.esp}`)
  }
  checkCommitment(task, asked?.commitment ?? null)
  const dep = await checkWallet(client)
  const signature = /** @type {`0x${string}`} */ (task.quoteSignature ?? '0x')
  // ECDSA, as EspRegistry.acknowledge checks it (ECDSA.tryRecover over its quoteDigest): an
  // EIP-1271 / ERC-6492 quote from a contract ESP would pass viem's verifyTypedData, the fee
  // would be locked, and the acknowledgement that puts the ESP's stake behind the lock would
  // revert. The types are the contract's (QUOTE_TYPES), never the API's.
  let signer = null
  try {
    signer = await recoverTypedDataAddress({ domain: dep.domains.quote, types: QUOTE_TYPES, primaryType: 'Quote', message: lock, signature })
  } catch {
    // not a 65-byte ECDSA signature: refused below
  }
  if (signer !== lock.receiver) {
    throw new AigcSdkError('bad_quote', `task ${task.id}: the quote is not signed by its ESP's key (the EspRegistry acknowledges ECDSA quotes only): nothing was paid`)
  }
  // The ESP may claim (deliver) as late as the deadline: refuse one that would leave no time to
  // commit inside the Registry's registration window, i.e. past the HashTimeLock's claim window
  // (read from the chain, not the API's word).
  const pc = client.publicClient
  const [claimWindow, block] = await Promise.all([
    pc.readContract({ address: dep.addresses.htlc, abi: hashTimeLockAbi, functionName: 'claimWindow' }),
    pc.getBlock({ blockTag: 'pending' }).catch(() => pc.getBlock()),
  ])
  const latest = latestQuoteDeadline(BigInt(block.timestamp), BigInt(claimWindow))
  if (lock.timelock > latest) {
    throw new AigcSdkError('deadline_beyond_registration_window', `task ${task.id}: deadline ${lock.timelock} is after ${latest}: an ESP claiming its fee that late would deliver after the fee lock's registration window closed, and the paid image could not be registered`)
  }
  const tx = await request(client, '/v1/tx/locks/ether', {
    method: 'POST',
    json: { receiver: lock.receiver, amount: lock.amount, hashlock: lock.hashlock, timelock: lock.timelock },
  })
  const locked = await sendUnsigned(client, tx, {
    to: dep.addresses.htlc,
    abi: hashTimeLockAbi,
    functionName: 'lockEther',
    args: [lock.receiver, lock.hashlock, lock.timelock],
    value: lock.amount,
    what: 'fee lock',
  })
  const ack = await write(client, {
    address: dep.addresses.espRegistry,
    abi: espRegistryAbi,
    functionName: 'acknowledge',
    args: [lock, signature],
  })
  return { lock, lockId: lockId(lock), lockTx: locked.hash, acknowledgeTx: ack.hash }
}

/**
 * Feedback on the ESP a withdrawn fee lock paid (once per lock, by its sender).
 * @param {import('./client.js').AigcClient} client
 * @param {{ task?: Task, lock?: import('./locks.js').Lock | Record<string, any>, positive: boolean }} params
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
export async function feedback(client, { task, lock, positive }) {
  const terms = lock ? toLock(lock) : task?.lock
  if (!terms) throw new AigcSdkError('no_lock', 'feedback needs the task\'s fee lock')
  const tx = await request(client, '/v1/tx/feedback', {
    method: 'POST',
    json: { lock: lockToApi(terms), positive },
  })
  const dep = await getDeployment(client)
  const { hash } = await sendUnsigned(client, tx, {
    to: dep.addresses.espRegistry, abi: espRegistryAbi, functionName: 'submitFeedback', args: [terms, positive], value: 0n, what: 'feedback',
  })
  return { hash }
}

/**
 * The preimage the ESP published on chain when it claimed the fee (read from the chain's
 * Withdrawn event, not from the API's word); null while the fee is unclaimed. Searched from the
 * lock's own block (the HashTimeLock's `lockInfo`; a lock never made has no withdrawal) unless
 * `fromBlock` is given, up to the head in chunks: a node caps the blocks one eth_getLogs may
 * span (logs.js), and a lock older than that cap is still read.
 * @param {import('./client.js').AigcClient} client
 * @param {{ lock: import('./locks.js').Lock, fromBlock?: bigint }} params
 * @returns {Promise<`0x${string}` | null>}
 */
export async function revealedPreimage(client, { lock, fromBlock }) {
  const dep = await getDeployment(client)
  const id = lockId(lock)
  const pc = client.publicClient
  let start = fromBlock
  if (start === undefined) {
    const info = await pc.readContract({ address: dep.addresses.htlc, abi: lockInfoAbi, functionName: 'lockInfo', args: [id] })
    start = BigInt(info[1])
    if (start === 0n) return null
  }
  const head = await pc.getBlockNumber()
  /** @param {bigint} from @param {bigint} to */
  const read = (from, to) => pc.getContractEvents({
    address: dep.addresses.htlc,
    abi: hashTimeLockAbi, // the SDK's own fragment (Withdrawn), never the API's ABI
    eventName: 'Withdrawn',
    args: { id },
    fromBlock: from,
    toBlock: to,
    strict: true,
  })
  for await (const logs of chunked(read, start, head)) {
    const first = /** @type {any} */ (logs[0])
    if (first) return first.args.preimage
  }
  return null
}
