// The committee of stage 3 (issue 11, docs/provenance.md "Committee (stage 3)"): the accused of a
// challenge asks the CommitteeVerifier to review the pair, paying the review fee, BEFORE
// contesting it; otherwise the challenger may `resolve` the contested pair by the stage-2 detail
// rule first. The transaction is the API's (POST /v1/tx/review/request, detail hashes from the
// indexed products), checked here to be requestReview of exactly this pair in the Registry's
// collection, sent to the committee the Registry itself consults, then simulated and sent.

import { decodeFunctionData, encodeAbiParameters, getAddress, keccak256, parseAbi, parseEventLogs } from 'viem'
import { getDeployment } from './deployment.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toBigInt, toDecimal, toHex } from './numbers.js'
import { simulateUnsigned } from './reverts.js'
import { sendUnsigned } from './wallet.js'

/** The CommitteeVerifier functions, events and errors the SDK uses (checked against the artifact by a test). */
export const committeeAbi = parseAbi([
  'function requestReview(address collection, uint256 original, uint256 duplicate, bytes32 detailHashA, bytes32 detailHashB) payable returns (bytes32 key)',
  'function reviewKey(bytes32 detailHashA, bytes32 detailHashB) pure returns (bytes32)',
  'event ReviewRequested(bytes32 indexed key, address indexed collection, uint256 original, uint256 duplicate, bytes32 detailHashA, bytes32 detailHashB, address requester, address[] jurors, uint64 commitDeadline, uint64 revealDeadline)',
  'error CommitteeTooSmall(uint256 enrolled, uint256 needed)',
  'error CommitteeWrongValue(uint256 sent, uint256 expected)',
  'error CommitteeReviewExists(bytes32 key)',
  'error CommitteeReviewPending(bytes32 key, uint64 revealDeadline)',
])

/** The Registry's stage-2 verifier: on a deployment with a committee, the CommitteeVerifier. */
const detailVerifierAbi = parseAbi(['function detailVerifier() view returns (address)'])

/**
 * The committee's key of a pair (CommitteeVerifier.reviewKey): keccak256(abi.encode(detailHashA,
 * detailHashB)), the original's descriptor hash first.
 * @param {`0x${string}`} detailHashA
 * @param {`0x${string}`} detailHashB
 * @returns {`0x${string}`}
 */
export function reviewKey(detailHashA, detailHashB) {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [detailHashA, detailHashB]))
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
 * @property {`0x${string}`} key the review's key (reviewKey of the two detail hashes)
 * @property {bigint} fee the review fee paid (the transaction's value)
 * @property {`0x${string}`[] | null} jurors the drawn jurors (null if the receipt holds no
 *   ReviewRequested of this pair from the committee)
 * @property {bigint | null} commitDeadline the last block the jurors commit their votes
 * @property {bigint | null} revealDeadline the last block they reveal them; the challenger's
 *   `resolve` reverts CommitteeReviewPending until the review is settled after it
 */

/**
 * Asks the committee to review a challenge of your token (the accused: `duplicate` yours,
 * `original` the challenger's), paying the review fee; then `contest` it as before. Do it before
 * contesting: once contested, the challenger may resolve by the detail rule first.
 * Refusals: the API's 409 as AigcApiError with its code, `CommitteeTooSmall` (too few jurors are
 * free: contest on the detail rule, or wait) and `no_committee` (a deployment without a committee:
 * contest directly); the contract's, simulated before signing, as AigcContractError
 * (`CommitteeReviewExists` when the pair is already under review); an API transaction that is not
 * requestReview of this pair in the Registry's collection at the Registry's committee, as
 * AigcSdkError `tx_mismatch`, unsent.
 * @param {import('./client.js').AigcClient} client
 * @param {ReviewPair} pair
 * @returns {Promise<ReviewRequest>}
 */
export async function requestReview(client, { original, duplicate, committeeVerifier, details }) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  const tx = await request(client, '/v1/tx/review/request', {
    method: 'POST', json: { original: toDecimal(o), duplicate: toDecimal(d) },
  })
  const registry = (await getDeployment(client)).addresses.registry
  const committee = committeeVerifier !== undefined
    ? getAddress(committeeVerifier)
    : getAddress(await client.publicClient.readContract({ address: registry, abi: detailVerifierAbi, functionName: 'detailVerifier' }))
  let decoded
  try {
    decoded = decodeFunctionData({ abi: committeeAbi, data: toHex(tx.data, 'data') })
  } catch {
    throw new AigcSdkError('tx_mismatch', 'the API\'s review request is no call the SDK knows')
  }
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
  const key = reviewKey(args[3], args[4])
  await simulateUnsigned(client, tx, committeeAbi)
  const sent = await sendUnsigned(client, tx)
  const logs = /** @type {any} */ (sent.receipt.logs ?? [])
  const event = parseEventLogs({ abi: committeeAbi, eventName: 'ReviewRequested', logs })
    .find((e) => getAddress(e.address) === committee && e.args.key === key && e.args.original === o && e.args.duplicate === d)
  return {
    hash: sent.hash,
    key,
    fee: toBigInt(tx.value ?? 0, 'value'),
    jurors: event ? event.args.jurors.map((j) => getAddress(j)) : null,
    commitDeadline: event ? event.args.commitDeadline : null,
    revealDeadline: event ? event.args.revealDeadline : null,
  }
}
