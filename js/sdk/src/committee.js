// The committee of stage 3 (issue 11, docs/provenance.md "Committee (stage 3)"): the accused of a
// challenge asks the CommitteeVerifier to review the pair, paying the review fee, BEFORE
// contesting it; otherwise the challenger may `resolve` the contested pair by the stage-2 detail
// rule first. The transaction is the API's (POST /v1/tx/review/request, detail hashes from the
// indexed products; the two tokens' record proofs, which the committee checks against the
// Registry's records and an open dispute of the pair), checked here to be requestReview of
// exactly this pair in the Registry's collection, sent to the committee the Registry itself
// consults, then simulated and sent.
// The request draws nobody: the jurors are drawn by `draw(key)` (anyone, once, after the draw
// block, from that block's hash, which the requester cannot know when it asks). The enrolled
// jurors' duty draws it; `drawReview` (POST /v1/tx/review/draw) lets the requester do it too.

import { decodeFunctionData, encodeAbiParameters, getAddress, keccak256, parseAbi, parseEventLogs } from 'viem'
import { getDeployment } from './deployment.js'
import { AigcContractError, AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toBigInt, toDecimal, toHex } from './numbers.js'
import { simulateUnsigned, toContractError } from './reverts.js'
import { address, sendUnsigned } from './wallet.js'

/** The CommitteeVerifier functions, events and errors the SDK uses (checked against the artifact by a test). */
export const committeeAbi = parseAbi([
  'struct RecordProof { bytes32 fingerprint; bytes32 detailHash; address esp; uint64 priorityBlock; uint64 commitBlock; uint64 revealBlock; }',
  'struct ItemOpening { bytes32 contentHash; uint256 seed; bytes32[] proof; RecordProof record; }',
  'function requestReview(address collection, uint256 original, uint256 duplicate, bytes32 detailHashA, bytes32 detailHashB, ItemOpening a, ItemOpening b) payable returns (bytes32 key)',
  'function reviewKey(address collection, uint256 original, uint256 duplicate, bytes32 detailHashA, bytes32 detailHashB) pure returns (bytes32)',
  'function draw(bytes32 key)',
  'struct Review { address requester; address collection; uint256 original; uint256 duplicate; uint64 drawBlock; uint64 commitDeadline; uint64 revealDeadline; uint16 yes; uint16 no; bool settled; bool cancelled; address[] jurors; }',
  'function review(bytes32 key) view returns (Review)',
  'struct Params { uint16 jurors; uint96 jurorBond; uint96 reviewFee; uint64 commitBlocks; uint64 revealBlocks; }',
  'function parameters() view returns (Params)',
  'event ReviewRequested(bytes32 indexed key, address indexed collection, uint256 original, uint256 duplicate, bytes32 detailHashA, bytes32 detailHashB, address requester, uint64 drawBlock)',
  'event ReviewDrawn(bytes32 indexed key, address[] jurors, uint64 commitDeadline, uint64 revealDeadline)',
  'event ReviewRearmed(bytes32 indexed key, uint64 drawBlock)',
  'event ReviewCancelled(bytes32 indexed key)',
  'error CommitteeTooSmall(uint256 enrolled, uint256 needed)',
  'error CommitteeWrongValue(uint256 sent, uint256 expected)',
  'error CommitteeReviewExists(bytes32 key)',
  'error CommitteeReviewPending(bytes32 key, uint64 revealDeadline)',
  'error CommitteeDrawTooEarly(bytes32 key, uint64 drawBlock)',
  'error CommitteeAlreadyDrawn(bytes32 key)',
  'error CommitteeUnknownForum(address forum)',
  'error CommitteeNoOpenDispute(address forum, uint256 original, uint256 duplicate)',
  'error CommitteeBadOpening(uint256 tokenId)',
])

/** The Registry's stage-2 verifier: on a deployment with a committee, the CommitteeVerifier. */
const detailVerifierAbi = parseAbi(['function detailVerifier() view returns (address)'])

/**
 * The committee's key of a dispute's review (CommitteeVerifier.reviewKey):
 * keccak256(abi.encode(collection, original, duplicate, detailHashA, detailHashB)), the original's
 * descriptor hash first. One review per dispute: another dispute of the same descriptors (a
 * Sybil's token carrying yours) has its own, and its verdict does not decide yours.
 * @param {`0x${string}`} collection the forum (the Registry, for the SDK's pairs)
 * @param {bigint} original
 * @param {bigint} duplicate
 * @param {`0x${string}`} detailHashA
 * @param {`0x${string}`} detailHashB
 * @returns {`0x${string}`}
 */
export function reviewKey(collection, original, duplicate, detailHashA, detailHashB) {
  return keccak256(encodeAbiParameters(
    [{ type: 'address' }, { type: 'uint256' }, { type: 'uint256' }, { type: 'bytes32' }, { type: 'bytes32' }],
    [collection, original, duplicate, detailHashA, detailHashB]))
}

/**
 * A pair to review. `committeeVerifier` (the committee's address as you know it) overrides the
 * chain's answer (the Registry's `detailVerifier()`) as the only contract the fee may go to.
 * `details`, when you hold the two detail descriptors (the indexed products' `detail`), makes the
 * SDK check the hashes the API put in the call: a review under other hashes is another pair's,
 * and does not hold the challenger's `resolve` of yours.
 * @typedef {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish,
 *   committeeVerifier?: `0x${string}`, details?: { original: `0x${string}`, duplicate: `0x${string}` } }} ReviewPair
 */

/**
 * @typedef {object} ReviewRequest
 * @property {`0x${string}`} hash the transaction
 * @property {`0x${string}`} key the review's key (reviewKey of the dispute and its two detail hashes)
 * @property {bigint} fee the review fee paid: the committee's `parameters().reviewFee`, read from
 *   the chain (the transaction's value must be exactly it)
 * @property {bigint | null} drawBlock the block whose hash draws the jurors: `draw` (drawReview,
 *   or any enrolled juror) succeeds once the chain is past it (null if the receipt holds no
 *   ReviewRequested of this pair from the committee). The challenger's `resolve` reverts
 *   CommitteeReviewPending from the request until the reveal deadline.
 */

/**
 * Asks the committee to review a challenge of your token (the accused: `duplicate` yours,
 * `original` the challenger's), paying the review fee; then `contest` it as before. Do it before
 * contesting: once contested, the challenger may resolve by the detail rule first. The jurors are
 * drawn later, past `drawBlock` (`drawReview`, or the jurors' own duty).
 * Refusals: the API's 409 as AigcApiError with its code, `CommitteeTooSmall` (too few jurors are
 * enrolled: contest on the detail rule, or wait; a request the enrolled jurors are too busy to
 * serve now is accepted and drawn once they are free) and `no_committee` (a deployment without a committee:
 * contest directly); the contract's, simulated before signing, as AigcContractError
 * (`CommitteeReviewExists` when this dispute is already under review); an API transaction that is not
 * requestReview of this pair in the Registry's collection at the Registry's committee, with
 * exactly the committee's reviewFee (read from the chain, never the API's word), as AigcSdkError
 * `tx_mismatch`, unsent.
 * @param {import('./client.js').AigcClient} client
 * @param {ReviewPair} pair
 * @returns {Promise<ReviewRequest>}
 */
export async function requestReview(client, { original, duplicate, committeeVerifier, details }) {
  const { o, d, tx, registry, committee, decoded } = await apiCommitteeTx(
    client, '/v1/tx/review/request', 'review request', { original, duplicate, committeeVerifier })
  const args = /** @type {readonly any[]} */ (decoded.args ?? [])
  if (decoded.functionName !== 'requestReview' || args[1] !== o || args[2] !== d) {
    throw new AigcSdkError('tx_mismatch', `the API's review request is not requestReview of (${o}, ${d})`)
  }
  if (getAddress(args[0]) !== registry) {
    throw new AigcSdkError('tx_mismatch', `the API's review request names the collection ${args[0]}, not the Registry ${registry}`)
  }
  if (getAddress(tx.to) !== committee) {
    throw new AigcSdkError('tx_mismatch', `the API's review request goes to ${tx.to}, not the Registry's committee ${committee}`)
  }
  if (details !== undefined) {
    for (const [i, side] of /** @type {const} */ ([[3, 'original'], [4, 'duplicate']])) {
      if (keccak256(toHex(details[side], `details.${side}`)).toLowerCase() !== String(args[i]).toLowerCase()) {
        throw new AigcSdkError('tx_mismatch', `the API's review request hashes another detail for the ${side}`)
      }
    }
  }
  // the fee is the committee's, read from the chain (as challenge and contest read the
  // Registry's challengeDeposit): the API's word on it is never taken
  const fee = await reviewFee(client, committee)
  const value = toBigInt(tx.value ?? 0, 'value')
  if (value !== fee) {
    throw new AigcSdkError('tx_mismatch', `the API's review request carries ${value} wei, not the committee's reviewFee ${fee}: nothing was signed`)
  }
  const key = reviewKey(registry, o, d, args[3], args[4])
  try {
    await simulateUnsigned(client, tx, committeeAbi)
  } catch (err) {
    throw (err instanceof AigcContractError ? null : await refusalFromState(client, committee, key, 'request')) ?? err
  }
  const sent = await sendUnsigned(client, tx)
  const logs = /** @type {any} */ (sent.receipt.logs ?? [])
  const event = parseEventLogs({ abi: committeeAbi, eventName: 'ReviewRequested', logs })
    .find((e) => getAddress(e.address) === committee && e.args.key === key && e.args.original === o && e.args.duplicate === d)
  return { hash: sent.hash, key, fee, drawBlock: event ? event.args.drawBlock : null }
}

/**
 * @typedef {object} ReviewDraw
 * @property {`0x${string}`} hash the transaction
 * @property {`0x${string}`} key the review's key
 * @property {'drawn' | 'rearmed' | 'cancelled' | null} outcome what the draw did: jurors drawn;
 *   re-armed (the draw block's hash had aged out, past 256 blocks, or the pool changed after it:
 *   draw again after `drawBlock`); cancelled (too few active jurors enrolled: the fee is owed
 *   back, the detail rule decides the pair);
 *   null if the receipt holds none of these events from the committee
 * @property {`0x${string}`[] | null} jurors the drawn jurors
 * @property {bigint | null} commitDeadline the last block the jurors commit their votes
 * @property {bigint | null} revealDeadline the last block they reveal them
 * @property {bigint | null} drawBlock the new draw block of a re-armed review
 */

/**
 * Draws the jurors of the pair's requested review (anyone may, once, after its draw block).
 * The API's transaction (POST /v1/tx/review/draw) is checked like requestReview's: `draw` at the
 * Registry's committee, of the key of this pair (from `details` when given, else the review the
 * committee holds under that key must be of this pair in the Registry's collection), simulated
 * (`CommitteeDrawTooEarly`, `CommitteeAlreadyDrawn`, `CommitteeTooSmall` while the enrolled
 * jurors are busy in other reviews: draw again once one is settled, as AigcContractError; the
 * first two named from the committee's state when the wallet drops the revert's data), then
 * sent.
 * @param {import('./client.js').AigcClient} client
 * @param {ReviewPair} pair
 * @returns {Promise<ReviewDraw>}
 */
export async function drawReview(client, { original, duplicate, committeeVerifier, details }) {
  const { o, d, tx, registry, committee, decoded } = await apiCommitteeTx(
    client, '/v1/tx/review/draw', 'draw', { original, duplicate, committeeVerifier })
  if (decoded.functionName !== 'draw') {
    throw new AigcSdkError('tx_mismatch', `the API's draw is ${decoded.functionName}, not draw`)
  }
  if (getAddress(tx.to) !== committee) {
    throw new AigcSdkError('tx_mismatch', `the API's draw goes to ${tx.to}, not the Registry's committee ${committee}`)
  }
  if (toBigInt(tx.value ?? 0, 'value') !== 0n) {
    throw new AigcSdkError('tx_mismatch', 'the API\'s draw carries Ether: a draw is free')
  }
  const key = /** @type {`0x${string}`} */ (/** @type {readonly any[]} */ (decoded.args)[0])
  if (details !== undefined) {
    const own = reviewKey(registry, o, d, keccak256(toHex(details.original, 'details.original')), keccak256(toHex(details.duplicate, 'details.duplicate')))
    if (own !== key) throw new AigcSdkError('tx_mismatch', 'the API\'s draw is of another pair\'s review')
  } else {
    const held = /** @type {any} */ (await client.publicClient.readContract({ address: committee, abi: committeeAbi, functionName: 'review', args: [key] }))
    if (getAddress(held.collection) !== registry || held.original !== o || held.duplicate !== d) {
      throw new AigcSdkError('tx_mismatch', `the API's draw is of the review of (${held.original}, ${held.duplicate}), not of (${o}, ${d})`)
    }
  }
  // at the pending block: the draw is mined in the next block at best, and the contract asks for
  // block.number > drawBlock (at `latest` a draw sent in the very next block would be refused)
  try {
    await client.publicClient.call({ account: await address(client), to: committee, data: toHex(tx.data, 'data'), value: 0n, blockTag: 'pending' })
  } catch (err) {
    throw toContractError(err, committeeAbi, committee) ?? await refusalFromState(client, committee, key, 'draw') ?? err
  }
  const sent = await sendUnsigned(client, tx)
  const logs = /** @type {any} */ (sent.receipt.logs ?? [])
  const ours = (/** @type {any} */ e) => getAddress(e.address) === committee && e.args.key === key
  const drawn = parseEventLogs({ abi: committeeAbi, eventName: 'ReviewDrawn', logs }).find(ours)
  const rearmed = parseEventLogs({ abi: committeeAbi, eventName: 'ReviewRearmed', logs }).find(ours)
  const cancelled = parseEventLogs({ abi: committeeAbi, eventName: 'ReviewCancelled', logs }).find(ours)
  return {
    hash: sent.hash,
    key,
    outcome: drawn ? 'drawn' : rearmed ? 'rearmed' : cancelled ? 'cancelled' : null,
    jurors: drawn ? drawn.args.jurors.map((j) => getAddress(j)) : null,
    commitDeadline: drawn ? drawn.args.commitDeadline : null,
    revealDeadline: drawn ? drawn.args.revealDeadline : null,
    drawBlock: rearmed ? rearmed.args.drawBlock : null,
  }
}

/**
 * The contract's refusal of a simulated request or draw, named from the review the committee holds
 * under `key`, for a revert whose data the wallet dropped (some wallets, like the browser tests'
 * node-backed one, answer a reverted eth_call with "execution reverted" and no data). Without it
 * the SDK's draw failed with no code, and the web's draw loop, which asks again on
 * CommitteeDrawTooEarly and is done on CommitteeAlreadyDrawn, gave the draw up. The contract's
 * own checks, in its order: a request of a review held is CommitteeReviewExists; a draw of a
 * review drawn or cancelled is CommitteeAlreadyDrawn, one whose draw block the pending block is
 * not past CommitteeDrawTooEarly. Anything else (or a failed read): null, the error stands.
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} committee
 * @param {`0x${string}`} key
 * @param {'request' | 'draw'} step
 * @returns {Promise<AigcContractError | null>}
 */
async function refusalFromState(client, committee, key, step) {
  let held
  let latest
  try {
    held = /** @type {any} */ (await client.publicClient.readContract({ address: committee, abi: committeeAbi, functionName: 'review', args: [key] }))
    latest = step === 'draw' ? await client.publicClient.getBlockNumber() : 0n
  } catch {
    return null
  }
  const drawBlock = BigInt(held.drawBlock)
  if (drawBlock === 0n) return null // no review under the key (a draw's read: CommitteeNoReview)
  if (step === 'request') return new AigcContractError('CommitteeReviewExists', { key }, committee)
  if (BigInt(held.revealDeadline) !== 0n || held.cancelled) return new AigcContractError('CommitteeAlreadyDrawn', { key }, committee)
  if (latest + 1n <= drawBlock) return new AigcContractError('CommitteeDrawTooEarly', { key, drawBlock }, committee)
  return null
}

/**
 * The committee's review fee (its immutable parameters().reviewFee), read from the chain.
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} committee
 * @returns {Promise<bigint>}
 */
export async function reviewFee(client, committee) {
  const p = /** @type {any} */ (await client.publicClient.readContract({ address: committee, abi: committeeAbi, functionName: 'parameters' }))
  return BigInt(p.reviewFee)
}

/**
 * The Registry's address and its committee's (the Registry's detailVerifier(), unless given).
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}` | undefined} committeeVerifier
 */
export async function committeeOf(client, committeeVerifier) {
  const registry = (await getDeployment(client)).addresses.registry
  const committee = committeeVerifier !== undefined
    ? getAddress(committeeVerifier)
    : getAddress(await client.publicClient.readContract({ address: registry, abi: detailVerifierAbi, functionName: 'detailVerifier' }))
  return { registry, committee }
}

/**
 * The API's unsigned committee transaction at `path` for the pair, with its call decoded against
 * the committee's ABI, the pair as bigints and the Registry's and its committee's addresses (the
 * checks both actions start with); a call the SDK cannot decode is AigcSdkError `tx_mismatch`.
 * @param {import('./client.js').AigcClient} client
 * @param {string} path
 * @param {string} what the action, for the error's message
 * @param {ReviewPair} pair
 */
async function apiCommitteeTx(client, path, what, { original, duplicate, committeeVerifier }) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  const tx = await request(client, path, {
    method: 'POST', json: { original: toDecimal(o), duplicate: toDecimal(d) },
  })
  const { registry, committee } = await committeeOf(client, committeeVerifier)
  let decoded
  try {
    decoded = decodeFunctionData({ abi: committeeAbi, data: toHex(tx.data, 'data') })
  } catch {
    throw new AigcSdkError('tx_mismatch', `the API's ${what} is no call the SDK knows`)
  }
  return { o, d, tx, registry, committee, decoded }
}
