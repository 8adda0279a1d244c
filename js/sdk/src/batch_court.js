// The BatchCourt: an earlier batched item challenges a later single Registry copy (docs/batches.md,
// "A batched original against a later single copy"), and the settle of an upheld batch challenge
// after its reward hold (at the court and at the BatchRegistry).
// Each step is the API's unsigned transaction (POST /v1/tx/batch/court/*, /v1/tx/batch/settle,
// built from the indexed events), checked here to call that step about exactly this pair on the
// deployment's contract, then simulated (a refusal names the contract's custom error) and sent.

import { decodeFunctionData, encodeAbiParameters, getAddress, keccak256, parseAbi, parseAbiParameters, parseEventLogs } from 'viem'
import { registryAbi } from './abis.js'
import { fingerprintLeaf, itemLeaf, verifyOrderedProof, verifyProof } from './batch.js'
import { batchRegistryAbi } from './batch_actions.js'
import { committeeAbi, committeeOf, reviewFee } from './committee.js'
import { getDeployment } from './deployment.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toBigInt, toDecimal, toHex } from './numbers.js'
import { simulateUnsigned, toContractError } from './reverts.js'
import { address, checkCall, sendUnsigned } from './wallet.js'

/** The BatchCourt functions, events and errors the SDK uses (checked against the artifact by a test). */
export const batchCourtAbi = parseAbi([
  'struct RecordProof { bytes32 fingerprint; bytes32 detailHash; address esp; uint64 priorityBlock; uint64 commitBlock; uint64 revealBlock; }',
  'struct ItemOpening { bytes32 contentHash; uint256 seed; bytes32[] proof; RecordProof record; }',
  'function challenge(uint256 original, bytes32 fpA, bytes32[] proofA, uint256 duplicate, RecordProof b) payable',
  'function contest(uint256 original, uint256 duplicate) payable',
  'function resolve(uint256 original, uint256 duplicate, bytes detailA, ItemOpening a, bytes detailB, RecordProof b) returns (bool upheld)',
  'function finalize(uint256 original, uint256 duplicate, RecordProof b) returns (bool upheld)',
  'function settle(uint256 original, uint256 duplicate)',
  'function revokeDuplicateImage(uint256 item, bytes32 detailHash, ItemOpening opening, uint256 single, RecordProof b) returns (uint256 revoked)',
  'function revokeDuplicateItem(uint256 first, bytes32 firstDetailHash, ItemOpening firstOpening, uint256 second, bytes32 secondDetailHash, ItemOpening secondOpening) returns (uint256 revoked)',
  'function reinstate(uint256 original, uint256 duplicate) payable',
  'function disputeOf(uint256 original, uint256 duplicate) view returns ((address challenger, uint64 deadline, uint8 state, address contester, uint96 slash, bytes32 recordHash))',
  'function claimMisattested(uint256 tokenId, RecordProof b) payable returns (bytes32 key)',
  'function claimMisattestedItem(uint256 tokenId, bytes32 fp, bytes32[] fpProof, bytes detail, ItemOpening o) payable returns (bytes32 key)',
  'function finalizeMisattested(uint256 tokenId, RecordProof b) returns (uint8 state)',
  'function misattestationOf(uint256 tokenId) view returns ((address claimant, uint32 round, uint8 state, bytes32 recordHash))',
  'function batchRegistry() view returns (address)',
  'function registry() view returns (address)',
  'event ChallengeOpened(uint256 indexed original, uint256 indexed duplicate, address indexed challenger, uint256 distance, uint64 deadline)',
  'event ChallengeContested(uint256 indexed original, uint256 indexed duplicate, address indexed contester)',
  'event ChallengeDecided(uint256 indexed original, uint256 indexed duplicate, uint8 state, bool contested)',
  'event DuplicateImageRevoked(uint256 indexed revoked, uint256 indexed kept, address indexed caller, bool twoPayers)',
  'event MisattestationClaimed(uint256 indexed tokenId, address indexed claimant, address indexed esp, bytes32 key)',
  'event MisattestationDecided(uint256 indexed tokenId, address indexed claimant, uint8 state)',
  'event ItemOpened(uint256 indexed tokenId, bytes32 contentHash, uint256 seed, bytes detail)',
  'error CourtWrongValue(uint256 sent, uint256 required)',
  'error CourtUnknownToken(uint256 tokenId)',
  'error CourtTokenRevoked(uint256 tokenId)',
  'error CourtBadProof(uint256 tokenId)',
  'error CourtNotOwner(uint256 tokenId, address caller)',
  'error CourtChallengeOutOfOrder(uint256 original, uint256 duplicate)',
  'error CourtSameEsp(uint256 original, uint256 duplicate, address esp)',
  'error CourtCommittedAfterPublication(uint256 original, uint64 committedAt, uint64 duplicateCommittedAt)',
  'error CourtNotAdmissible(uint256 original, uint256 duplicate, uint256 distance)',
  'error CourtDisputeExists(uint256 original, uint256 duplicate, uint8 state)',
  'error CourtDisputeState(uint256 original, uint256 duplicate, uint8 state)',
  'error CourtDisputeWindow(uint256 original, uint256 duplicate, uint64 deadline)',
  'error CourtRewardHeld(uint256 duplicate, uint64 releasableAtBlock)',
  'error CourtTransferFailed(address to, uint256 amount)',
  'error CourtNotSameImage(uint256 item, uint256 single)',
  'error CourtNotSameEsp(uint256 item, uint256 single)',
  'error CourtWinnerActive(uint256 original)',
])

/**
 * IRegistry.DisputeState by index (the court's and the Registry's; the BatchRegistry's has the
 * same first six and Settled).
 */
export const DISPUTE_STATES = /** @type {const} */ ([
  'none', 'open', 'contested', 'upheld', 'rejected', 'void', 'settled', 'reversed', 'equivocated',
])

/**
 * A court pair: `original` a batch item, `duplicate` a single Registry token. `batchCourt` (the
 * court's address as you know it) overrides the API's deployment as the only contract the
 * transaction may go to (a deposit sent elsewhere is lost).
 * @typedef {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish,
 *   batchCourt?: `0x${string}` }} CourtPair
 */

/**
 * The court's address: `given`, else the deployment's (GET /v1/deployment publishes it).
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} [given]
 * @returns {Promise<`0x${string}`>}
 */
export async function courtAddress(client, given) {
  if (given !== undefined) return getAddress(given)
  const court = (await getDeployment(client)).addresses.batchCourt
  if (court === null) throw new AigcSdkError('no_court', 'the deployment has no BatchCourt (deployed before it)')
  return court
}

/**
 * One of the deployment's Registry's parameters as the chain holds them (the court copies its
 * bond and challengeDeposit from it at deployment).
 * @param {import('./client.js').AigcClient} client
 * @param {'bond' | 'challengeDeposit'} name
 * @returns {Promise<bigint>}
 */
async function registryParameter(client, name) {
  const dep = await getDeployment(client)
  const p = await client.publicClient.readContract({ address: dep.addresses.registry, abi: registryAbi, functionName: 'parameters' })
  return BigInt(p[name])
}

/**
 * Checks the API's transaction calls `name` on `contract` about exactly (o, d), carrying exactly
 * `value` (no Ether, or the deposit read from the chain); then simulates it (the contract's
 * refusal as AigcContractError) and sends it.
 * @param {import('./client.js').AigcClient} client
 * @param {{ tx: import('./api-types.js').UnsignedTx, abi: readonly any[], name: string, contract: `0x${string}`,
 *   o: bigint, d: bigint, value: bigint, what: string }} p
 */
async function checkAndSend(client, { tx, abi, name, contract, o, d, value, what }) {
  let decoded
  try {
    decoded = decodeFunctionData({ abi, data: toHex(tx.data, 'data') })
  } catch {
    throw new AigcSdkError('tx_mismatch', `the API's ${what} transaction is no call the SDK knows`)
  }
  const args = /** @type {readonly any[]} */ (decoded.args ?? [])
  const dup = decoded.functionName === 'challenge' || decoded.functionName === 'revokeDuplicateImage' ? args[3] : args[1]
  if (decoded.functionName !== name || args[0] !== o || dup !== d) {
    throw new AigcSdkError('tx_mismatch', `the API's ${what} transaction is not ${name}(${o}, ${d})`)
  }
  if (getAddress(tx.to) !== contract) {
    throw new AigcSdkError('tx_mismatch', `the API's ${what} transaction goes to ${tx.to}, not ${contract}`)
  }
  const sends = toBigInt(tx.value ?? 0, 'value')
  if (sends !== value) {
    throw new AigcSdkError('tx_mismatch', `the API's ${what} transaction carries ${sends} wei, not ${value}`)
  }
  await simulateUnsigned(client, tx, abi)
  return sendUnsigned(client, tx)
}

/**
 * One court step: POST /v1/tx/batch/court/{step} for the pair, checked, simulated and sent.
 * @param {import('./client.js').AigcClient} client
 * @param {'challenge' | 'contest' | 'resolve' | 'finalize' | 'settle'} step
 * @param {CourtPair} pair
 */
async function courtStep(client, step, { original, duplicate, batchCourt }) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  const contract = await courtAddress(client, batchCourt)
  const tx = await request(client, `/v1/tx/batch/court/${step}`, {
    method: 'POST', json: { original: toDecimal(o), duplicate: toDecimal(d) },
  })
  // A challenge or a contest carries the Registry's challengeDeposit (the court's, copied from
  // it), read from the chain, never the API's word; the other steps carry nothing.
  const value = step === 'challenge' || step === 'contest' ? await registryParameter(client, 'challengeDeposit') : 0n
  const sent = await checkAndSend(client, { tx, abi: batchCourtAbi, name: step, contract, o, d, value, what: `court ${step}` })
  const logs = sent.receipt.logs ?? []
  const events = parseEventLogs({ abi: batchCourtAbi, logs: /** @type {any} */ (logs) })
    .filter((e) => {
      const args = /** @type {any} */ (e.args)
      return getAddress(e.address) === contract && args.original === o && args.duplicate === d
    })
  return { hash: sent.hash, events }
}

/**
 * Challenges a later single copy (`duplicate`, a Registry token) with an earlier batched item
 * you own (`original`), with the deposit (the Registry's challengeDeposit, the transaction's
 * value); the API adds the item's fingerprint proof and the copy's record from the indexed
 * events. `deadline` is the last block the copy's owner may contest (null if the receipt was
 * not read). The court refuses (409 from the API, AigcContractError from the simulation):
 * CourtNotOwner, CourtSameEsp (one ESP attested both), CourtChallengeOutOfOrder,
 * CourtCommittedAfterPublication, CourtNotAdmissible, CourtDisputeExists, ...
 * @param {import('./client.js').AigcClient} client
 * @param {CourtPair} pair
 * @returns {Promise<{ hash: `0x${string}`, deadline: bigint | null }>}
 */
export async function courtChallenge(client, pair) {
  const { hash, events } = await courtStep(client, 'challenge', pair)
  const opened = events.find((e) => e.eventName === 'ChallengeOpened')
  return { hash, deadline: opened ? /** @type {any} */ (opened.args).deadline : null }
}

/**
 * Contests a court challenge of your single token within the window, with the same deposit
 * (the copy's detail is public already: nothing to open). CourtNotOwner for anyone but the
 * copy's owner (or its producer while the escrow holds it), CourtDisputeWindow once the
 * window has passed.
 * @param {import('./client.js').AigcClient} client
 * @param {CourtPair} pair
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
export async function courtContest(client, pair) {
  const { hash } = await courtStep(client, 'contest', pair)
  return { hash }
}

/**
 * The decision a resolve or finalize emitted (ChallengeDecided): `upheld` (the copy is revoked)
 * and the state's name; nulls when the receipt carries no such event.
 * @param {{ hash: `0x${string}`, events: any[] }} r
 * @returns {{ hash: `0x${string}`, upheld: boolean | null, state: string | null }}
 */
function decided({ hash, events }) {
  const e = events.find((x) => x.eventName === 'ChallengeDecided')
  if (!e) return { hash, upheld: null, state: null }
  const state = DISPUTE_STATES[Number(e.args.state)] ?? String(e.args.state)
  return { hash, upheld: state === 'upheld', state }
}

/**
 * Decides a contested court challenge (anyone may send it): the batched item opened from its
 * published manifest (the API answers 404 manifest_not_published before), the copy's detail
 * from its record. Upheld revokes the copy.
 * @param {import('./client.js').AigcClient} client
 * @param {CourtPair} pair
 */
export async function courtResolve(client, pair) {
  return decided(await courtStep(client, 'resolve', pair))
}

/**
 * Decides a court challenge after its window (anyone may send it): uncontested, the copy is
 * revoked at once and the challenger's reward is HELD (its deposit and the copy's bond stay with
 * the court until courtSettle, after the reward hold; the ESP's slash is burned); contested and
 * never resolved, the contester takes both deposits. CourtDisputeWindow before the deadline.
 * @param {import('./client.js').AigcClient} client
 * @param {CourtPair} pair
 */
export async function courtFinalize(client, pair) {
  return decided(await courtStep(client, 'finalize', pair))
}

/**
 * Settles an upheld court challenge once its reward hold is over (BatchCourt.settle, POST
 * /v1/tx/batch/court/settle; anyone may send it, once). `state` 'settled': the challenger is
 * paid the deposits and the challengeReward (the rest of the bond and the copy's ESP slash are
 * burned). `state` 'reversed': the batched original was itself revoked as a copy meanwhile, so
 * the copy's side is compensated (the deposits and the copy's bond to its contester, else its
 * owner; the slash is burned); the copy stays revoked (the Registry cannot reinstate it).
 * Refusals: CourtRewardHeld (fields.releasableAtBlock: the first block it may be sent) while
 * the hold runs, CourtDisputeState unless the challenge is upheld and not yet settled.
 * @param {import('./client.js').AigcClient} client
 * @param {CourtPair} pair
 * @returns {Promise<{ hash: `0x${string}`, state: string | null }>}
 */
export async function courtSettle(client, pair) {
  const { hash, state } = decided(await courtStep(client, 'settle', pair))
  return { hash, state }
}

/**
 * Revokes the second registration of one image held both as batch item `item` and as single
 * token `single`, both attested by one ESP (anyone may send it, and gets the Registry's
 * challengeReward): the later published one when one producer registered both (nobody is
 * slashed), the one with the later lock when two payers did (the ESP's slash is burned).
 * The API opens the item from its published manifest (404
 * manifest_not_published before; 409 not_same_image when it is another image). The court
 * refuses: CourtNotSameEsp (two ESPs: a challenge decides), CourtTokenRevoked, CourtBadProof,
 * CourtChallengeOutOfOrder (two payers' locks in one block).
 * @param {import('./client.js').AigcClient} client
 * @param {{ item: import('./numbers.js').Numberish, single: import('./numbers.js').Numberish, batchCourt?: `0x${string}` }} pair
 * @returns {Promise<{ hash: `0x${string}`, revoked: bigint | null, kept: bigint | null }>}
 */
export async function courtRevokeDuplicateImage(client, { item, single, batchCourt }) {
  const i = toBigInt(item, 'item')
  const s = toBigInt(single, 'single')
  const contract = await courtAddress(client, batchCourt)
  const tx = await request(client, '/v1/tx/batch/court/duplicate-image', {
    method: 'POST', json: { item: toDecimal(i), single: toDecimal(s) },
  })
  const sent = await checkAndSend(client, {
    tx, abi: batchCourtAbi, name: 'revokeDuplicateImage', contract, o: i, d: s, value: 0n, what: 'duplicate-image ruling',
  })
  const { revoked, kept } = ruling(sent.hash, sent.receipt.logs ?? [], contract, [i, s])
  return { hash: sent.hash, revoked, kept }
}

/**
 * The court's DuplicateImageRevoked in a receipt (its own, about `ids`), as the ruling's result.
 * @param {`0x${string}`} hash
 * @param {readonly any[]} logs
 * @param {`0x${string}`} contract
 * @param {bigint[]} ids the two tokens the ruling was asked about
 */
function ruling(hash, logs, contract, ids) {
  const ruled = parseEventLogs({ abi: batchCourtAbi, logs: /** @type {any} */ (logs), eventName: 'DuplicateImageRevoked' })
    .find((e) => getAddress(e.address) === contract && ids.includes(e.args.revoked) && ids.includes(e.args.kept))
  if (!ruled) return { hash, revoked: null, kept: null, twoPayers: null }
  return { hash, revoked: ruled.args.revoked, kept: ruled.args.kept, twoPayers: ruled.args.twoPayers }
}

/**
 * Revokes the second registration of one image held as two batch items, `first` and `second`
 * (in any order), both attested by one ESP (BatchCourt.revokeDuplicateItem, POST
 * /v1/tx/batch/court/duplicate-item; anyone may send it and gets the Registry's
 * challengeReward): the item with the later lock when two payers registered it (`twoPayers`,
 * the ESP's slash burned), else the later published one its producer still holds. The API opens
 * both items from their published manifests (404 manifest_not_published before, 409
 * not_same_image for one item twice or two images); the SDK sends only that ruling about exactly
 * (first, second), to the court, with no Ether (`tx_mismatch` before the wallet signs anything
 * else), after simulating it. The court refuses by name: CourtNotSameEsp (two ESPs: a
 * challenge decides), CourtTokenRevoked, CourtNotOwner (one producer holding neither),
 * CourtChallengeOutOfOrder (two payers' locks in one block), CourtBadProof.
 * @param {import('./client.js').AigcClient} client
 * @param {{ first: import('./numbers.js').Numberish, second: import('./numbers.js').Numberish, batchCourt?: `0x${string}` }} pair
 * @returns {Promise<{ hash: `0x${string}`, revoked: bigint | null, kept: bigint | null, twoPayers: boolean | null }>}
 *   nulls when the receipt carries no such ruling of the court
 */
export async function courtRevokeDuplicateItem(client, { first, second, batchCourt }) {
  const f = toBigInt(first, 'first')
  const s = toBigInt(second, 'second')
  const contract = await courtAddress(client, batchCourt)
  const tx = await request(client, '/v1/tx/batch/court/duplicate-item', {
    method: 'POST', json: { first: toDecimal(f), second: toDecimal(s) },
  })
  checkCall(tx, {
    to: contract,
    abi: batchCourtAbi,
    functionName: 'revokeDuplicateItem',
    // the openings are the API's (from the published manifests): the court checks them against
    // each batch's items root, so a wrong one reverts and costs only gas
    check: (args) => (args[0] === f && args[3] === s ? null : `is about items ${args[0]} and ${args[3]}, not ${f} and ${s}`),
    value: 0n,
    what: 'duplicate-item ruling',
  })
  await simulateUnsigned(client, tx, batchCourtAbi)
  const sent = await sendUnsigned(client, tx)
  return ruling(sent.hash, sent.receipt.logs ?? [], contract, [f, s])
}

/**
 * Reverses a court win settled after its reward hold whose batched winner `original` was revoked
 * since (BatchCourt.reinstate, POST /v1/tx/batch/court/reinstate; anyone may send it, typically
 * the single's owner): the single `duplicate` is active again at the Registry, backed by the
 * bond the caller posts. The bond is read from the deployment's Registry on chain (its
 * parameters(), never the API's word) and the transaction must carry exactly it, to the court,
 * as reinstate(original, duplicate) (`tx_mismatch` before the wallet signs). The court refuses by
 * name: CourtWinnerActive while the winner stands, CourtDisputeState unless the pair's dispute is
 * settled (once: a reinstated pair is reversed), CourtWrongValue.
 * @param {import('./client.js').AigcClient} client
 * @param {CourtPair} pair
 * @returns {Promise<{ hash: `0x${string}`, state: string | null }>} `state` 'reversed' (null when
 *   the receipt carries no such ChallengeDecided of the court and pair)
 */
export async function courtReinstate(client, { original, duplicate, batchCourt }) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  const contract = await courtAddress(client, batchCourt)
  const tx = await request(client, '/v1/tx/batch/court/reinstate', {
    method: 'POST', json: { original: toDecimal(o), duplicate: toDecimal(d) },
  })
  const bond = await registryParameter(client, 'bond')
  checkCall(tx, { to: contract, abi: batchCourtAbi, functionName: 'reinstate', args: [o, d], value: bond, what: 'reinstatement' })
  await simulateUnsigned(client, tx, batchCourtAbi)
  const sent = await sendUnsigned(client, tx)
  const events = parseEventLogs({ abi: batchCourtAbi, logs: /** @type {any} */ (sent.receipt.logs ?? []), eventName: 'ChallengeDecided' })
    .filter((e) => getAddress(e.address) === contract && e.args.original === o && e.args.duplicate === d)
  const { state } = decided({ hash: sent.hash, events })
  return { hash: sent.hash, state }
}

/**
 * @typedef {object} CourtDispute
 * @property {bigint} original
 * @property {bigint} duplicate
 * @property {`0x${string}`} challenger the zero address when the pair was never challenged
 * @property {bigint} deadline the last block to contest, then (contested) to resolve; once upheld,
 *   the first block courtSettle may pay the challenger (the end of the reward hold)
 * @property {string} state 'none', 'open', 'contested', 'upheld', 'rejected', 'void', 'settled' or 'reversed'
 * @property {`0x${string}`} contester
 * @property {bigint} slash always 0: kept in the ABI; the EspRegistry burns every slash, the court holds none
 * @property {`0x${string}`} recordHash the copy's record when challenged
 */

/**
 * The court's dispute of (original, duplicate), read from the chain (`disputeOf`).
 * @param {import('./client.js').AigcClient} client
 * @param {CourtPair} pair
 * @returns {Promise<CourtDispute>}
 */
export async function getCourtDispute(client, { original, duplicate, batchCourt }) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  const address = await courtAddress(client, batchCourt)
  const r = await client.publicClient.readContract({ address, abi: batchCourtAbi, functionName: 'disputeOf', args: [o, d] })
  return {
    original: o,
    duplicate: d,
    challenger: getAddress(r.challenger),
    deadline: BigInt(r.deadline),
    state: DISPUTE_STATES[r.state] ?? String(r.state),
    contester: getAddress(r.contester),
    slash: BigInt(r.slash),
    recordHash: r.recordHash,
  }
}

/**
 * Settles an upheld challenge of a batched item once its reward hold is over
 * (BatchRegistry.settle, POST /v1/tx/batch/settle; anyone may send it, once). An upheld
 * challenge revokes the item at once but pays nothing: after the hold (rewardHoldBlocks) the
 * settle pays the challenger the deposits and the challengeReward and slashes the item's ESP
 * to it; if the challenger's original was revoked as a copy meanwhile, the settle REVERSES the
 * challenge instead: the item is reinstated (Reinstated), the deposits go to its contester or
 * owner, nobody is slashed. Refusals: BatchRewardHeld (fields.releasableAtBlock) while the hold
 * runs, BatchDisputeState unless the challenge is upheld and not yet settled. `batchRegistry`
 * (the contract's address as you know it) overrides the API's deployment as the only contract
 * the transaction may go to.
 * @param {import('./client.js').AigcClient} client
 * @param {{ original: import('./numbers.js').Numberish, duplicate: import('./numbers.js').Numberish,
 *   batchRegistry?: `0x${string}` }} pair
 * @returns {Promise<{ hash: `0x${string}`, state: string | null }>} `state` 'settled' or 'reversed'
 *   (null when the receipt carries no such ChallengeDecided of this contract and pair)
 */
export async function settleBatch(client, { original, duplicate, batchRegistry }) {
  const o = toBigInt(original, 'original')
  const d = toBigInt(duplicate, 'duplicate')
  let contract
  if (batchRegistry !== undefined) {
    contract = getAddress(batchRegistry)
  } else {
    const known = (await getDeployment(client)).addresses.batchRegistry
    if (known === null) throw new AigcSdkError('no_batch_registry', 'the deployment has no BatchRegistry')
    contract = known
  }
  const tx = await request(client, '/v1/tx/batch/settle', { method: 'POST', json: { original: toDecimal(o), duplicate: toDecimal(d) } })
  const sent = await checkAndSend(client, { tx, abi: batchRegistryAbi, name: 'settle', contract, o, d, value: 0n, what: 'settle' })
  const events = parseEventLogs({ abi: batchRegistryAbi, logs: /** @type {any} */ (sent.receipt.logs ?? []) })
    .filter((e) => {
      const args = /** @type {any} */ (e.args)
      return getAddress(e.address) === contract && args.original === o && args.duplicate === d
    })
  const { state } = decided({ hash: sent.hash, events })
  return { hash: sent.hash, state }
}

/**
 * A single token claimed mis-attested. `batchCourt` (the court's address as you know it)
 * overrides the API's deployment as the only contract the transaction may go to;
 * `committeeVerifier` the Registry's `detailVerifier()` as the committee whose reviewFee the
 * claim carries (the court forwards it to that committee, its own verifier).
 * @typedef {{ token: import('./numbers.js').Numberish, batchCourt?: `0x${string}`,
 *   committeeVerifier?: `0x${string}` }} MisattestedToken
 */

/** The court's and its committee's errors (a claim reverts with the committee's CommitteeTooSmall). */
const courtAndCommitteeAbi = [...batchCourtAbi, ...committeeAbi.filter((x) => x.type === 'error')]

/**
 * The API's mis-attestation transaction for `token` at `path`, checked to be `name(token, proof)`
 * at `contract` carrying exactly `value`; returns the decoded record proof.
 * @param {import('./client.js').AigcClient} client
 * @param {{ path: string, name: 'claimMisattested' | 'claimMisattestedItem' | 'finalizeMisattested', t: bigint, contract: `0x${string}`, value: () => Promise<bigint>, what: string }} p
 */
async function misattestedTx(client, { path, name, t, contract, value, what }) {
  const tx = await request(client, path, { method: 'POST', json: { token: toDecimal(t) } })
  const refuse = (/** @type {string} */ why) => new AigcSdkError('tx_mismatch', `the API's ${what} transaction ${why}: nothing was signed`)
  let decoded
  try {
    decoded = decodeFunctionData({ abi: batchCourtAbi, data: toHex(tx.data, 'data') })
  } catch {
    throw refuse('is no call the SDK knows')
  }
  const args = /** @type {readonly any[]} */ (decoded.args ?? [])
  if (decoded.functionName !== name || args[0] !== t) throw refuse(`is not ${name}(${t}, ...)`)
  let to
  try {
    to = getAddress(tx.to ?? '')
  } catch {
    throw refuse('has no valid recipient')
  }
  if (to !== contract) throw refuse(`goes to ${to}, not the court ${contract}`)
  const want = await value()
  const sends = toBigInt(tx.value ?? 0, 'value')
  if (sends !== want) throw refuse(`carries ${sends} wei, not ${want}`)
  return { tx, proof: args[1], args, refuse }
}

/**
 * Whether `t` is a batch item's id (batch id << 32 | index, batch ids from 1 below 2^64), as
 * the API tells them apart (a single registration's id is its content hash, far above).
 * @param {bigint} t
 */
function isBatchItem(t) {
  return t < 2n ** 96n && t >> 32n >= 1n
}

/**
 * The court's BatchRegistry and item `t`'s batch record there (`batchOf`, the roots the court
 * proves an item's claim against).
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} contract the court
 * @param {bigint} t
 * @returns {Promise<{ index: bigint, batch: any }>}
 */
async function itemBatch(client, contract, t) {
  const registry = /** @type {`0x${string}`} */ (await client.publicClient.readContract({ address: contract, abi: batchCourtAbi, functionName: 'batchRegistry' }))
  const batch = /** @type {any} */ (await client.publicClient.readContract({ address: getAddress(registry), abi: batchRegistryAbi, functionName: 'batchOf', args: [t >> 32n] }))
  return { index: t & 0xffffffffn, batch }
}

const ITEM_RECORD = parseAbiParameters('bytes32, bytes32, address')

/**
 * A batch item's claimed record hash (BatchCourt._itemRecordHash): keccak256(abi.encode(fp,
 * detailHash, esp)) with its lowest bit set.
 * @param {any} proof a RecordProof (its blocks are not hashed)
 * @returns {`0x${string}`}
 */
export function itemRecordHash(proof) {
  const h = BigInt(keccak256(encodeAbiParameters(ITEM_RECORD, [proof.fingerprint, proof.detailHash, proof.esp]))) | 1n
  return /** @type {`0x${string}`} */ (`0x${h.toString(16).padStart(64, '0')}`)
}

/**
 * The Registry's record hash of a record proof (its pure `recordHashOf`, asked of the chain).
 * @param {import('./client.js').AigcClient} client
 * @param {`0x${string}`} registry
 * @param {any} proof
 * @returns {Promise<`0x${string}`>}
 */
async function recordHashOf(client, registry, proof) {
  return /** @type {`0x${string}`} */ (await client.publicClient.readContract({ address: registry, abi: registryAbi, functionName: 'recordHashOf', args: [proof] }))
}

/**
 * Claims that single token `token`'s ESP attested a fingerprint or detail descriptor that are
 * not its image's (BatchCourt.claimMisattested, POST /v1/tx/batch/court/claim-misattested;
 * anyone may). The claim carries the court's challenge deposit plus the committee's review fee;
 * the committee's jurors recompute both values from the token's content-addressed bytes and vote
 * (a few thousand blocks: the draw, then the commit and reveal phases); then
 * `finalizeMisattested`. Upheld: the token is revoked, its ESP slashed (burned), the claimant
 * paid its deposit and the challenge reward. Rejected: the deposit goes to the token's owner.
 * No verdict (too few jurors voted, the token reclaimed or revoked meanwhile): the deposit back.
 * The API's transaction must be claimMisattested of exactly `token` at the court, carrying
 * exactly the Registry's challengeDeposit plus the committee's reviewFee (both read from the
 * chain, never the API's word), with a record proof whose Registry hash (`recordHashOf`) is the
 * token's stored record's (`recordOf`): else AigcSdkError `tx_mismatch`, nothing signed. A batch
 * item's claim (its id batchId << 32 | index) must be claimMisattestedItem of exactly the item,
 * its attested fingerprint and opening (content hash, descriptor, seed: what the jurors judge)
 * proven against its batch's fpRoot and itemsRoot as the court's BatchRegistry holds them
 * (`batchOf`), the same deposit and fee; the court names the batch's ESP (returned `esp`). Then
 * simulated (the court's and committee's refusals by name: CourtTokenRevoked,
 * CourtDisputeExists while a claim is open, CommitteeTooSmall with too few jurors enrolled)
 * and sent.
 * @param {import('./client.js').AigcClient} client
 * @param {MisattestedToken} claim
 * @returns {Promise<{ hash: `0x${string}`, key: `0x${string}` | null, esp: `0x${string}` | null,
 *   deposit: bigint, fee: bigint }>} `key` the committee's review of the record, `esp` the accused
 *   ESP (nulls when the receipt carries no MisattestationClaimed of the court and token)
 */
export async function claimMisattested(client, { token, batchCourt, committeeVerifier }) {
  const t = toBigInt(token, 'token')
  const contract = await courtAddress(client, batchCourt)
  const { registry, committee } = await committeeOf(client, committeeVerifier)
  const item = isBatchItem(t)
  let deposit = 0n
  let fee = 0n
  const { tx, proof, args, refuse } = await misattestedTx(client, {
    path: '/v1/tx/batch/court/claim-misattested',
    name: item ? 'claimMisattestedItem' : 'claimMisattested',
    t,
    contract,
    what: 'mis-attestation claim',
    value: async () => {
      deposit = await registryParameter(client, 'challengeDeposit')
      fee = await reviewFee(client, committee)
      return deposit + fee
    },
  })
  /** @type {`0x${string}` | null} */
  let batchEsp = null
  if (item) {
    // the item's attested fingerprint and its opening (content hash, descriptor, seed) proven
    // against its batch's roots as the chain holds them; the ESP the court names is the batch's
    const { index, batch } = await itemBatch(client, contract, t)
    // an unknown item (index past its batch's count) has no roots: the court's own CourtUnknownToken says so
    if (index < BigInt(batch.count)) {
      batchEsp = getAddress(batch.esp)
      const [, fp, fpProof, detail, o] = args
      if (!verifyProof([...fpProof], batch.fpRoot, fingerprintLeaf(index, fp))) {
        throw refuse(`opens a fingerprint that is not item ${t}'s leaf under its batch's fpRoot`)
      }
      if (!verifyOrderedProof([...o.proof], batch.itemsRoot, itemLeaf(index, o.contentHash, keccak256(detail), o.seed), index, batch.count)) {
        throw refuse(`opens a content hash, descriptor or seed that are not item ${t}'s leaf under its batch's itemsRoot`)
      }
    }
  } else {
    const record = /** @type {any} */ (await client.publicClient.readContract({ address: registry, abi: registryAbi, functionName: 'recordOf', args: [t] }))
    // an unknown token (status None) has no record: the court's own CourtUnknownToken says so
    if (Number(record.status) !== 0 && (await recordHashOf(client, registry, proof)) !== record.recordHash) {
      throw refuse(`claims against a record proof that is not token ${t}'s record at the Registry`)
    }
  }
  await simulateUnsigned(client, tx, courtAndCommitteeAbi)
  const sent = await sendUnsigned(client, tx)
  const e = parseEventLogs({ abi: batchCourtAbi, logs: /** @type {any} */ (sent.receipt.logs ?? []), eventName: 'MisattestationClaimed' })
    .find((x) => getAddress(x.address) === contract && x.args.tokenId === t && (batchEsp === null || getAddress(x.args.esp) === batchEsp))
  return { hash: sent.hash, key: e ? e.args.key : null, esp: e ? getAddress(e.args.esp) : null, deposit, fee }
}

/**
 * Decides the open mis-attestation claim of `token` once its review's reveal deadline has
 * passed (BatchCourt.finalizeMisattested, POST /v1/tx/batch/court/finalize-misattested; anyone
 * may). The API's transaction must be finalizeMisattested of exactly `token` at the court with
 * no Ether, its record proof the one the claim was made against (the court's
 * `misattestationOf(token).recordHash`, by the Registry's `recordHashOf`; a batch item's: its
 * claimed leaf values and its batch's ESP, by `itemRecordHash`): else `tx_mismatch`,
 * unsigned; then simulated at the pending block (the one it is mined in at best) and sent.
 * Refusals by name: CourtDisputeWindow (fields.deadline, the review's reveal deadline: the
 * finalize may be mined from the block after it), CourtDisputeState without an open claim.
 * @param {import('./client.js').AigcClient} client
 * @param {MisattestedToken} claim
 * @returns {Promise<{ hash: `0x${string}`, state: string | null, upheld: boolean | null }>}
 *   `state` 'upheld' (the token revoked, its ESP slashed), 'rejected' or 'void' (nulls when the
 *   receipt carries no MisattestationDecided of the court and token)
 */
export async function finalizeMisattested(client, { token, batchCourt }) {
  const t = toBigInt(token, 'token')
  const contract = await courtAddress(client, batchCourt)
  const { tx, proof, refuse } = await misattestedTx(client, {
    path: '/v1/tx/batch/court/finalize-misattested', name: 'finalizeMisattested', t, contract, what: 'mis-attestation finalize', value: async () => 0n,
  })
  const claim = await getMisattestation(client, { token: t, batchCourt: contract })
  if (claim.state !== 'none') {
    if (isBatchItem(t)) {
      // an item's claimed record: its attested leaf values and its batch's ESP
      const { batch } = await itemBatch(client, contract, t)
      if (getAddress(proof.esp) !== getAddress(batch.esp) || itemRecordHash(proof) !== claim.recordHash) {
        throw refuse(`finalizes with a record that is not the one item ${t} was claimed against`)
      }
    } else {
      const registry = (await getDeployment(client)).addresses.registry
      if ((await recordHashOf(client, registry, proof)) !== claim.recordHash) {
        throw refuse(`finalizes with a record proof that is not the one token ${t} was claimed against`)
      }
    }
  }
  // at the pending block: the finalize is mined in the next block at best, and the court asks
  // for block.number > the review's reveal deadline (at `latest` one sent in the very next block
  // would be refused)
  try {
    await client.publicClient.call({ account: await address(client), to: contract, data: toHex(tx.data, 'data'), value: 0n, blockTag: 'pending' })
  } catch (err) {
    throw toContractError(err, courtAndCommitteeAbi, contract) ?? err
  }
  const sent = await sendUnsigned(client, tx)
  const e = parseEventLogs({ abi: batchCourtAbi, logs: /** @type {any} */ (sent.receipt.logs ?? []), eventName: 'MisattestationDecided' })
    .find((x) => getAddress(x.address) === contract && x.args.tokenId === t)
  if (!e) return { hash: sent.hash, state: null, upheld: null }
  const state = DISPUTE_STATES[Number(e.args.state)] ?? String(e.args.state)
  return { hash: sent.hash, state, upheld: state === 'upheld' }
}

/**
 * @typedef {object} Misattestation
 * @property {bigint} token
 * @property {`0x${string}`} claimant the zero address when the token was never claimed
 * @property {number} round claims of the token so far (a new one may follow a rejected or void one)
 * @property {string} state 'none', 'open', 'upheld', 'rejected' or 'void'
 * @property {`0x${string}`} recordHash the record claimed against
 */

/**
 * The court's mis-attestation claim of `token`, read from the chain (`misattestationOf`).
 * @param {import('./client.js').AigcClient} client
 * @param {{ token: import('./numbers.js').Numberish, batchCourt?: `0x${string}` }} q
 * @returns {Promise<Misattestation>}
 */
export async function getMisattestation(client, { token, batchCourt }) {
  const t = toBigInt(token, 'token')
  const address = await courtAddress(client, batchCourt)
  const r = /** @type {any} */ (await client.publicClient.readContract({ address, abi: batchCourtAbi, functionName: 'misattestationOf', args: [t] }))
  return {
    token: t,
    claimant: getAddress(r.claimant),
    round: Number(r.round),
    state: DISPUTE_STATES[Number(r.state)] ?? String(r.state),
    recordHash: r.recordHash,
  }
}

/**
 * What a mis-attestation claim costs, read from the chain: the court's deposit (the Registry's
 * challengeDeposit, returned when the claim is upheld or void) and the committee's review fee
 * (the Registry's `detailVerifier()`, or `committeeVerifier`; it pays the jurors).
 * @param {import('./client.js').AigcClient} client
 * @param {{ committeeVerifier?: `0x${string}` }} [q]
 * @returns {Promise<{ deposit: bigint, fee: bigint, total: bigint }>}
 */
export async function misattestationCost(client, { committeeVerifier } = {}) {
  const { committee } = await committeeOf(client, committeeVerifier)
  const deposit = await registryParameter(client, 'challengeDeposit')
  const fee = await reviewFee(client, committee)
  return { deposit, fee, total: deposit + fee }
}
