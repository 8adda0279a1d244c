// Listings (EIP-712 signed offers) and sales as hash-time-locked swaps under one hashlock:
//   seller: list  ->  buyer: buy (request)  ->  seller: lockForSale (approve + token lock)
//   buyer: payTrade (payment and, on a resale, the producer's royalty lock)
//   seller: claimPayment (reveals the secret)  ->  buyer: claimToken (token + royalty to producer)
// A token belongs to a collection: the Registry (single registrations, the default) or the
// BatchRegistry (batched items). Its offer is signed under that contract's EIP-712 domain, its
// lock holds that contract's token, and its royalty is that contract's ERC-2981 answer.

import { getAddress, parseAbi, sha256 } from 'viem'
import { hashTimeLockAbi, registryAbi } from './abis.js'
import { batchCourtAbi } from './batch_court.js'
import { getDeployment, OFFER_TYPES } from './deployment.js'
import { batchRegistryAbi, lockInfoAbi } from './batch_actions.js'
import { AigcSdkError, ChallengeOpenError, ClaimTooLateError, ClaimWindowClosedError, PaymentAmountError } from './errors.js'
import { chunked } from './logs.js'
import { request } from './http.js'
import { lockId, lockToApi, newSecret, toLock, ZERO_ADDRESS } from './locks.js'
import { toBigInt, toBytes32Hex, toHex, toTradeId } from './numbers.js'
import { poll } from './poll.js'
import { revealedPreimage, SECONDS_PER_BLOCK } from './tasks.js'
import { account, address, checkCall, checkWallet, sendUnsigned, wallet, write } from './wallet.js'

/** @typedef {import('./numbers.js').Numberish} Numberish */

/**
 * A collection as a caller names it: 'registry' or 'batch' (a product's `collection`), or the
 * contract's address; undefined is the Registry.
 * @typedef {'registry' | 'batch' | `0x${string}` | string | undefined | null} CollectionName
 */

/** The ERC-721 / ERC-2981 functions a sale calls on either collection (checked by a test). */
export const collectionAbi = parseAbi([
  'function approve(address to, uint256 tokenId)',
  'function ownerOf(uint256 tokenId) view returns (address)',
  'function royaltyInfo(uint256 tokenId, uint256 salePrice) view returns (address, uint256)',
])

/**
 * The BatchRegistry's view of an item's status (IBatchRegistry.Status: None, Active, Revoked;
 * checked against the artifact by a test). A Registry token's is its `recordOf(id).status`.
 */
export const tokenStatusAbi = parseAbi(['function statusOf(uint256 tokenId) view returns (uint8)'])

/**
 * A duplicate challenge opening (the same event at the Registry, the BatchRegistry and the
 * BatchCourt; `duplicate`, the accused token, is an indexed topic); checked against the artifacts.
 */
export const challengeOpenedAbi = parseAbi([
  'event ChallengeOpened(uint256 indexed original, uint256 indexed duplicate, address indexed challenger, uint256 distance, uint64 deadline)',
])

/** The Registry's registration of a token (`tokenId` indexed): where its challenges can start. */
export const registeredAbi = parseAbi([
  'event Registered(uint256 indexed tokenId, address indexed producer, address indexed esp, bytes32 fingerprint, bytes32 taskId, uint64 priorityBlock, uint64 commitBlock, bytes32 modelId, uint256 seed, string metadataURI, bytes detail)',
])

/** The Registry's dispute of a pair (IRegistry.Dispute). */
export const registryDisputeAbi = parseAbi([
  'function disputeOf(uint256 original, uint256 duplicate) view returns ((address challenger, uint64 deadline, uint8 state, bool equivocal, uint8 epochOriginal, uint8 epochDuplicate, address contester))',
])

/** The BatchRegistry's dispute of a pair (IBatchRegistry.Dispute). */
export const batchDisputeAbi = parseAbi([
  'function disputeOf(uint256 original, uint256 duplicate) view returns ((address challenger, uint64 deadline, uint8 state, bool single, address contester))',
])

/**
 * The collection's address and the EIP-712 domain its offers are signed under.
 * @param {import('./deployment.js').Deployment} dep
 * @param {CollectionName} collection
 * @returns {{ kind: 'registry' | 'batch', address: `0x${string}`, domain: import('./deployment.js').Eip712Domain }}
 */
export function collectionOf(dep, collection) {
  const name = collection ?? 'registry'
  const batch = dep.addresses.batchRegistry
  if (name === 'registry' || (name.startsWith('0x') && eqAddress(name, dep.addresses.registry))) {
    return { kind: 'registry', address: dep.addresses.registry, domain: dep.domains.offer }
  }
  if (batch && dep.domains.batchOffer && (name === 'batch' || (name.startsWith('0x') && eqAddress(name, batch)))) {
    return { kind: 'batch', address: batch, domain: dep.domains.batchOffer }
  }
  throw new AigcSdkError('unknown_collection', `${name} is not a collection of this deployment`)
}

/**
 * @param {string} a
 * @param {string} b
 */
function eqAddress(a, b) {
  return a.toLowerCase() === b.toLowerCase()
}

/**
 * @typedef {object} Listing
 * @property {number} id
 * @property {bigint} tokenId
 * @property {`0x${string}` | null} collection the token's contract (the Registry or the
 *   BatchRegistry; null from a server before batches: the Registry)
 * @property {`0x${string}`} seller
 * @property {bigint} price
 * @property {bigint} expiry
 * @property {bigint} nonce
 * @property {`0x${string}`} signature
 * @property {string} status
 */

/**
 * @param {import('./api-types.js').ListingOut} l
 * @returns {Listing}
 */
export function toListing(l) {
  return {
    id: Number(l.id),
    tokenId: toBigInt(l.token_id, 'token_id'),
    collection: l.collection ? getAddress(l.collection) : null,
    seller: getAddress(l.seller),
    price: toBigInt(l.price, 'price'),
    expiry: toBigInt(l.expiry, 'expiry'),
    nonce: toBigInt(l.nonce, 'nonce'),
    signature: toHex(l.signature, 'signature'),
    status: l.status,
  }
}

/**
 * @typedef {object} Trade
 * @property {number} id
 * @property {number} listingId
 * @property {bigint} tokenId
 * @property {`0x${string}` | null} collection the token's contract (the Registry or the
 *   BatchRegistry; null from a server before batches: the Registry)
 * @property {`0x${string}`} seller
 * @property {`0x${string}`} buyer
 * @property {bigint} price
 * @property {string} status
 * @property {`0x${string}` | null} hashlock
 * @property {import('./locks.js').Lock | null} assetLock
 * @property {import('./locks.js').Lock | null} paymentLock
 * @property {import('./locks.js').Lock | null} royaltyLock
 */

/**
 * @param {import('./api-types.js').TradeOut} t
 * @returns {Trade}
 */
export function toTrade(t) {
  return {
    id: Number(t.id),
    listingId: Number(t.listing_id),
    tokenId: toBigInt(t.token_id, 'token_id'),
    collection: t.collection ? getAddress(t.collection) : null,
    seller: getAddress(t.seller),
    buyer: getAddress(t.buyer),
    price: toBigInt(t.price, 'price'),
    status: t.status,
    hashlock: t.hashlock ? toHex(t.hashlock, 'hashlock') : null,
    assetLock: t.asset_lock ? toLock(t.asset_lock) : null,
    paymentLock: t.payment_lock ? toLock(t.payment_lock) : null,
    royaltyLock: t.royalty_lock ? toLock(t.royalty_lock) : null,
  }
}

/**
 * Lists a token you own: signs the EIP-712 offer with the wallet, under the domain of the
 * token's collection, and posts it.
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId: Numberish, price: Numberish, expiry?: Numberish, nonce?: Numberish,
 *   collection?: CollectionName }} params `expiry` defaults to the chain's time + 1 day, `nonce`
 *   to a random 64-bit value, `collection` to the Registry ('batch' for a batched item)
 * @returns {Promise<Listing>}
 */
export async function list(client, params) {
  toBytes32Hex(params.tokenId) // a token id past 2^256 (or not a uint) is refused before any signature
  // An offer at price 0 gives the token away to whoever holds the signature (the API refuses it,
  // 422, but only after the wallet has signed it and handed it over); 2^128 wei and above the
  // API refuses too. Neither is signed.
  const asked = toBigInt(params.price, 'price')
  if (asked === 0n || asked >= 2n ** 128n) {
    throw new AigcSdkError('bad_price', `a listing's price is 1 wei to 2^128 - 1 wei, not ${asked}: nothing was signed`)
  }
  const dep = await checkWallet(client)
  const collection = collectionOf(dep, params.collection)
  const seller = await address(client)
  const expiry = params.expiry !== undefined
    ? toBigInt(params.expiry, 'expiry')
    : (await client.publicClient.getBlock()).timestamp + 86_400n
  const nonce = params.nonce !== undefined
    ? toBigInt(params.nonce, 'nonce')
    : toBigInt(newSecret().preimage.slice(0, 18))
  const message = {
    tokenId: toBigInt(params.tokenId, 'tokenId'),
    seller,
    price: toBigInt(params.price, 'price'),
    expiry,
    nonce,
  }
  const signature = await wallet(client).signTypedData({
    account: await account(client),
    domain: collection.domain,
    types: dep.types.offer,
    primaryType: 'Offer',
    message,
  })
  const out = await request(client, '/v1/listings', {
    method: 'POST',
    json: {
      token_id: toBytes32Hex(message.tokenId),
      collection: collection.address,
      price: message.price,
      expiry: message.expiry,
      nonce: message.nonce,
      signature,
    },
  })
  return toListing(out)
}

/**
 * Lists a token you bought: the same signed offer; returns what the ERC-2981 royalty on this
 * price will pay the original producer (the buyer locks it next to your payment); for a batched
 * item, the BatchRegistry's royalty to its batch's producer.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId: Numberish, price: Numberish, expiry?: Numberish, nonce?: Numberish,
 *   collection?: CollectionName }} params
 * @returns {Promise<{ listing: Listing, royalty: { receiver: `0x${string}`, amount: bigint } }>}
 */
export async function resell(client, params) {
  const dep = await getDeployment(client)
  const collection = collectionOf(dep, params.collection)
  const [receiver, amount] = /** @type {[`0x${string}`, bigint]} */ (
    await client.publicClient.readContract({
      address: collection.address,
      abi: collectionAbi,
      functionName: 'royaltyInfo',
      args: [toBigInt(params.tokenId), toBigInt(params.price)],
    })
  )
  return { listing: await list(client, params), royalty: { receiver, amount } }
}

/**
 * Asks to buy a listing (the seller then locks the token for you).
 * @param {import('./client.js').AigcClient} client
 * @param {{ listingId: number }} params
 * @returns {Promise<Trade>}
 */
export async function buy(client, { listingId }) {
  const id = toTradeId(listingId) // the same shape: a positive integer
  const trade = toTrade(await request(client, '/v1/trades', { method: 'POST', json: { listing_id: id } }))
  if (trade.listingId !== id) throw new AigcSdkError('trade_mismatch', `the API opened trade ${trade.id} on listing ${trade.listingId}, not ${id}`)
  client.bought.set(trade.id, id)
  return trade
}

/**
 * @param {import('./client.js').AigcClient} client
 * @param {{ tradeId: number }} params
 * @returns {Promise<Trade>}
 */
export async function getTrade(client, { tradeId }) {
  return toTrade(await request(client, `/v1/trades/${toTradeId(tradeId)}`))
}

/**
 * @param {import('./client.js').AigcClient} client
 * @param {{ tradeId: number, status: string | string[], intervalMs?: number, timeoutMs?: number }} params
 * @returns {Promise<Trade>}
 */
export async function waitForTrade(client, { tradeId, status, ...timing }) {
  const wanted = Array.isArray(status) ? status : [status]
  return poll(async () => {
    const trade = await getTrade(client, { tradeId })
    return wanted.includes(trade.status) ? trade : undefined
  }, { ...timing, what: `trade ${tradeId} to be ${wanted.join(' or ')}` })
}

/**
 * The seller's swap leg: approves the escrow and locks the token for the buyer under a fresh
 * secret's hashlock. Keep the returned `preimage`: claimPayment needs it. The token is the
 * trade's collection's: a Registry token is approved through the API's unsigned transaction, a
 * batched item by the wallet's own `approve` call on the BatchRegistry (the same ERC-721 call).
 * @param {import('./client.js').AigcClient} client
 * @param {{ trade: Trade, timelock?: Numberish }} params `timelock` defaults to chain time + 2 h
 * @returns {Promise<{ preimage: `0x${string}`, hashlock: `0x${string}`, timelock: bigint,
 *   approveTx: `0x${string}`, lockTx: `0x${string}` }>}
 */
export async function lockForSale(client, { trade, timelock }) {
  const me = await address(client)
  if (getAddress(trade.seller) !== me) throw new AigcSdkError('not_seller', `trade ${trade.id} is ${trade.seller}'s`)
  const dep = await getDeployment(client)
  await checkOffer(client, dep, trade) // the trade's price is what this seller's offer asked
  const collection = collectionOf(dep, trade.collection)
  const tokenId = toBytes32Hex(trade.tokenId)
  const t1 = timelock !== undefined
    ? toBigInt(timelock, 'timelock')
    : (await client.publicClient.getBlock()).timestamp + 7_200n
  const approve = collection.kind === 'registry'
    ? await sendUnsigned(
      client,
      await request(client, '/v1/tx/registry/approve', { method: 'POST', json: { token_id: tokenId } }),
      {
        to: collection.address, abi: collectionAbi, functionName: 'approve', args: [dep.addresses.htlc, trade.tokenId], value: 0n,
        what: 'escrow approval',
      },
    )
    : await write(client, {
      address: collection.address, abi: collectionAbi, functionName: 'approve', args: [dep.addresses.htlc, trade.tokenId],
    })
  const { preimage, hashlock } = newSecret()
  const lock = await sendUnsigned(
    client,
    await request(client, '/v1/tx/locks/token', {
      method: 'POST',
      json: { token_id: trade.tokenId, collection: collection.address, receiver: trade.buyer, hashlock, timelock: t1 },
    }),
    {
      to: dep.addresses.htlc,
      abi: hashTimeLockAbi,
      functionName: 'lockERC721',
      args: [collection.address, trade.tokenId, getAddress(trade.buyer), hashlock, t1],
      value: 0n,
      what: 'token lock',
    },
  )
  return { preimage, hashlock, timelock: t1, approveTx: approve.hash, lockTx: lock.hash }
}

/**
 * The buyer's swap leg: once the token lock is indexed, checks it holds this token for you,
 * and locks every payment the offer requires (the seller's share and, on a resale, the
 * producer's royalty) through the wallet.
 *
 * Refused before the API is asked for the payment, nothing signed: a token lock that is not an
 * ERC-721 lock of this trade's token, from its seller, for you (`bad_token_lock`); a trade that
 * is not the listing's signed offer (`trade_mismatch`, `bad_offer`); and what the chain says
 * against the API's word (services.exchange.swap.buyer_pay's rule), read together: the
 * HashTimeLock's status of the lock's exact terms, which must be open (`token_lock_not_on_chain`:
 * never made, refunded, withdrawn, or under another hashlock or timelock than the API says; the
 * seller would claim the payment and the buyer's claim of the token fail), the token's status in
 * its collection, which must be active (`token_revoked`; `token_unknown`), and the BatchCourt's
 * latest mis-attestation claim of it, which must not be open or contested
 * (`misattestation_claim_open`: upheld, it revokes the token from the buyer); then the duplicate
 * challenges of the token (`checkChallenges`: none may be open or contested, ChallengeOpenError,
 * `challenge_open`; decided for the accuser, it revokes the token from the buyer).
 * @param {import('./client.js').AigcClient} client
 * @param {{ tradeId: number, timelock?: Numberish, intervalMs?: number, timeoutMs?: number }} params
 * @returns {Promise<{ trade: Trade, locks: { role: string, receiver: `0x${string}`, amount: bigint,
 *   hash: `0x${string}` }[] }>}
 */
export async function payTrade(client, { tradeId, timelock, ...timing }) {
  const trade = await waitForTrade(client, { tradeId, status: 'asset_locked', ...timing })
  const dep = await getDeployment(client)
  const me = await address(client)
  const held = trade.assetLock
  const collection = collectionOf(dep, trade.collection)
  if (
    !held || held.asset !== 2 || held.receiver !== me || held.token !== collection.address ||
    held.amount !== trade.tokenId || held.sender !== getAddress(trade.seller)
  ) {
    throw new AigcSdkError('bad_token_lock', `trade ${tradeId}: the token lock does not hold this token for you from its seller`)
  }
  await checkOffer(client, dep, trade)
  await checkOnChain(client, dep, trade, held, collection)
  await checkChallenges(client, dep, trade, collection)
  const out = await request(client, `/v1/trades/${toTradeId(tradeId)}/payment-tx`, {
    method: 'POST',
    json: timelock === undefined ? {} : { timelock: toBigInt(timelock, 'timelock') },
  })
  if (String(out.hashlock).toLowerCase() !== held.hashlock) {
    throw new AigcSdkError('bad_hashlock', `trade ${tradeId}: payment hashlock differs from the token lock's`)
  }
  // The legs must be exactly what the trade owes (services.exchange.trade.required_payment_locks,
  // the royalty read from the chain) and expire early enough: a payment lock that outlasts
  // T1 - PAYMENT_MARGIN_S lets the seller refund the token and still claim the payment.
  const t2 = toBigInt(out.timelock, 'timelock')
  const owed = await requiredLegs(client, trade)
  const given = /** @type {any[]} */ (out.locks).map((l) => `${getAddress(l.receiver)}:${toBigInt(l.amount, 'amount')}`).sort()
  const wanted = owed.map((l) => `${l.receiver}:${l.amount}`).sort()
  const now = (await client.publicClient.getBlock()).timestamp
  const why = given.join() !== wanted.join() ? `the legs ${given.join(', ')} are not what the trade owes (${wanted.join(', ')})`
    : t2 > held.timelock - PAYMENT_MARGIN_S ? `the payment timelock ${t2} is later than the token lock's ${held.timelock} less ${PAYMENT_MARGIN_S} s`
      : t2 < now + PAYMENT_MARGIN_S ? `the payment timelock ${t2} leaves the seller under ${PAYMENT_MARGIN_S} s from the chain's time ${now}`
        : timelock !== undefined && t2 !== toBigInt(timelock, 'timelock') ? `the payment timelock ${t2} is not the ${timelock} asked for`
          : null
  if (why !== null) throw new AigcSdkError('bad_payment_legs', `trade ${tradeId}: ${why}: nothing was paid`)
  const checked = /** @type {any[]} */ (out.locks).map((leg) => {
    const receiver = getAddress(leg.receiver)
    const amount = toBigInt(leg.amount, 'amount')
    /** @type {import('./wallet.js').ExpectedCall} */
    const expected = {
      to: dep.addresses.htlc, abi: hashTimeLockAbi, functionName: 'lockEther', args: [receiver, held.hashlock, t2], value: amount,
      what: `${leg.role} lock`,
    }
    return { leg, receiver, amount, expected }
  })
  for (const { leg, expected } of checked) checkCall(leg.tx, expected) // all legs, before the first is signed
  const locks = []
  for (const { leg, receiver, amount, expected } of checked) {
    const { hash } = await sendUnsigned(client, leg.tx, expected)
    locks.push({ role: leg.role, receiver, amount, hash })
  }
  return { trade, locks }
}

/**
 * What the chain says of a trade's token lock and token (services.exchange.swap.buyer_pay's
 * checks), three reads at once: the HashTimeLock's `statusOf` the lock's exact terms (its id is
 * keccak256 of them, so another hashlock, timelock, sender or amount than the chain's lock is a
 * lock that does not exist), the collection's status of the token (the Registry's
 * `recordOf(id).status`, the BatchRegistry's `statusOf(id)`), and the BatchCourt's latest
 * `misattestationOf(id)` (none without a court). A token still inside its transfer hold cannot be
 * in an open escrow lock (the collection refuses the transfer), so the first read covers it.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./deployment.js').Deployment} dep
 * @param {Trade} trade
 * @param {import('./locks.js').Lock} held the token lock as the API describes it
 * @param {ReturnType<typeof collectionOf>} collection
 */
async function checkOnChain(client, dep, trade, held, collection) {
  const pc = client.publicClient
  const court = dep.addresses.batchCourt
  const [lockStatus, tokenStatus, claim] = await Promise.all([
    pc.readContract({ address: dep.addresses.htlc, abi: hashTimeLockAbi, functionName: 'statusOf', args: [held] }),
    collection.kind === 'registry'
      ? pc.readContract({ address: collection.address, abi: registryAbi, functionName: 'recordOf', args: [trade.tokenId] })
        .then((r) => /** @type {any} */ (r).status)
      : pc.readContract({ address: collection.address, abi: tokenStatusAbi, functionName: 'statusOf', args: [trade.tokenId] }),
    court === null
      ? null
      : pc.readContract({ address: court, abi: batchCourtAbi, functionName: 'misattestationOf', args: [trade.tokenId] }),
  ])
  const id = trade.id
  if (Number(lockStatus) !== 1) {
    throw new AigcSdkError('token_lock_not_on_chain', `trade ${id}: the token lock ${lockId(held)} the API describes is ${LOCK_STATUS[Number(lockStatus)] ?? lockStatus} on chain, not open: nothing was paid`)
  }
  if (Number(tokenStatus) === 2) {
    throw new AigcSdkError('token_revoked', `trade ${id}: token ${trade.tokenId} is revoked on chain: nothing was paid`)
  }
  if (Number(tokenStatus) !== 1) {
    throw new AigcSdkError('token_unknown', `trade ${id}: token ${trade.tokenId} is not an active token of ${collection.address} (status ${tokenStatus}): nothing was paid`)
  }
  const state = claim === null ? 0 : Number(/** @type {any} */ (claim).state)
  if (state === 1 || state === 2) { // IRegistry.DisputeState Open, Contested
    throw new AigcSdkError('misattestation_claim_open', `trade ${id}: token ${trade.tokenId} is under a ${state === 1 ? 'open' : 'contested'} mis-attestation claim at the BatchCourt (upheld, it revokes the token from its holder): nothing was paid`)
  }
}

/** IRegistry.DisputeState of a pending challenge: it may still revoke its accused token. */
const PENDING = /** @type {Record<number, 'open' | 'contested'>} */ ({ 1: 'open', 2: 'contested' })

/**
 * Refuses (ChallengeOpenError, `challenge_open`) a token a pending duplicate challenge accuses
 * (services.exchange.collection.disputes_against, check_tradable): open, even past its deadline
 * (anyone may finalize it, upheld), or contested. No view lists a token's accusers, so they are
 * the `original`s of the chain's ChallengeOpened logs with the token as `duplicate` (an indexed
 * topic), each pair's state read from its contract (`disputeOf`). Where: a batch item at the
 * BatchRegistry; a Registry token at the Registry and at the BatchCourt (a batched original's
 * challenge of a single copy), one query for both. The search is bounded below by the token's
 * registration, from the chain, never the API's word: a batch item's batch reveal block
 * (`batchOf(id >> 32).revealBlock`); a Registry token's first Registered log, searched from the
 * deployment's block (a pinned manifest's, else the API's, 0 from /healthz) to the head. The API
 * cannot hide a challenge by naming a later deployment block: the token's registration would not
 * be found after it (`registration_not_found`; a reclaim's later Registered log voids every
 * earlier challenge of the token). Logs are read in chunks a node accepts (logs.js).
 * @param {import('./client.js').AigcClient} client
 * @param {import('./deployment.js').Deployment} dep
 * @param {Trade} trade
 * @param {ReturnType<typeof collectionOf>} collection
 */
async function checkChallenges(client, dep, trade, collection) {
  const pc = client.publicClient
  const id = trade.tokenId
  const head = await pc.getBlockNumber()
  /** @type {bigint} */ let start
  /** @type {`0x${string}`[]} */ let courts
  if (collection.kind === 'batch') {
    const batch = /** @type {any} */ (await pc.readContract({
      address: collection.address, abi: batchRegistryAbi, functionName: 'batchOf', args: [id >> 32n],
    }))
    start = BigInt(batch.revealBlock)
    courts = [collection.address]
  } else {
    start = await registrationBlock(client, dep, trade, head)
    courts = dep.addresses.batchCourt === null ? [collection.address] : [collection.address, dep.addresses.batchCourt]
  }
  /** @param {bigint} from @param {bigint} to */
  const read = (from, to) => pc.getContractEvents({
    address: courts, abi: challengeOpenedAbi, eventName: 'ChallengeOpened', args: { duplicate: id }, fromBlock: from, toBlock: to, strict: true,
  })
  /** @type {Map<string, { contract: `0x${string}`, original: bigint }>} */
  const pairs = new Map()
  for await (const logs of chunked(read, start, head)) {
    for (const log of /** @type {any[]} */ (logs)) {
      const contract = getAddress(log.address)
      const original = BigInt(log.args.original)
      pairs.set(`${contract}:${original}`, { contract, original })
    }
  }
  const found = [...pairs.values()]
  const states = await Promise.all(found.map(({ contract, original }) => pc.readContract({
    address: contract,
    abi: eqAddress(contract, dep.addresses.registry) ? registryDisputeAbi
      : eqAddress(contract, dep.addresses.batchCourt ?? ZERO_ADDRESS) ? batchCourtAbi : batchDisputeAbi,
    functionName: 'disputeOf',
    args: [original, id],
  }).then((d) => Number(/** @type {any} */ (d).state))))
  found.forEach(({ contract, original }, i) => {
    const state = PENDING[states[i]]
    if (state) throw new ChallengeOpenError({ tradeId: trade.id, tokenId: id, original, contract, state })
  })
}

/**
 * The block of a Registry token's first Registered log from the deployment's block (`dep.block`,
 * 0 when unknown) to `head`; `registration_not_found` when there is none (the token is active, so
 * the block the search started from is after its registration: the API's deployment block lies).
 * @param {import('./client.js').AigcClient} client
 * @param {import('./deployment.js').Deployment} dep
 * @param {Trade} trade
 * @param {bigint} head
 * @returns {Promise<bigint>}
 */
async function registrationBlock(client, dep, trade, head) {
  const from = dep.block ?? 0n
  /** @param {bigint} lo @param {bigint} hi */
  const read = (lo, hi) => client.publicClient.getContractEvents({
    address: dep.addresses.registry, abi: registeredAbi, eventName: 'Registered', args: { tokenId: trade.tokenId }, fromBlock: lo, toBlock: hi, strict: true,
  })
  for await (const logs of chunked(read, from, head)) {
    const first = /** @type {any} */ (logs[0])
    if (first) return BigInt(first.blockNumber)
  }
  throw new AigcSdkError('registration_not_found', `trade ${trade.id}: token ${trade.tokenId} has no Registered log at the Registry from block ${from} (the deployment's, as the API says) to ${head}: its challenges cannot be searched: nothing was paid`)
}

/**
 * Refuses a trade that is not its listing's offer: the trade must be of the listing `buy` asked
 * for through this client (`trade_mismatch`), and that listing's offer must be signed by the
 * trade's seller for this token, collection and price under the collection's EIP-712 domain
 * (`bad_offer`). The API can then neither raise a trade's price for the buyer (payTrade's legs add
 * up to it) nor lower it for the seller (lockForSale, claimPayment: the seller would lock the
 * token, and reveal the secret, for what the API says the price is).
 * @param {import('./client.js').AigcClient} client
 * @param {import('./deployment.js').Deployment} dep
 * @param {Trade} trade
 */
async function checkOffer(client, dep, trade) {
  const asked = client.bought.get(trade.id)
  if (asked !== undefined && asked !== trade.listingId) {
    throw new AigcSdkError('trade_mismatch', `trade ${trade.id} is of listing ${trade.listingId}, you bought listing ${asked}`)
  }
  const listing = toListing(await request(client, `/v1/listings/${toTradeId(trade.listingId)}`, { auth: false }))
  const collection = collectionOf(dep, trade.collection)
  if (
    listing.id !== trade.listingId || listing.tokenId !== trade.tokenId || listing.seller !== getAddress(trade.seller)
    || listing.price !== trade.price || (listing.collection !== null && listing.collection !== collection.address)
  ) {
    throw new AigcSdkError('trade_mismatch', `trade ${trade.id} (token ${trade.tokenId}, price ${trade.price}) is not its listing's offer (token ${listing.tokenId}, price ${listing.price})`)
  }
  const signed = await client.publicClient.verifyTypedData({
    address: listing.seller,
    domain: collection.domain,
    types: OFFER_TYPES,
    primaryType: 'Offer',
    message: { tokenId: listing.tokenId, seller: listing.seller, price: listing.price, expiry: listing.expiry, nonce: listing.nonce },
    signature: listing.signature,
  })
  if (!signed) throw new AigcSdkError('bad_offer', `trade ${trade.id}: listing ${listing.id}'s offer is not signed by its seller ${listing.seller}`)
}

/**
 * Seconds every buyer lock must expire before the seller's token lock, and last at least after
 * it is made (services.exchange.trade.SAFETY_MARGIN_S): payTrade refuses legs outside them.
 */
export const PAYMENT_MARGIN_S = 600n

/**
 * The Ether locks a buyer owes (services.exchange.trade.required_payment_locks): the seller gets
 * the price less the collection's ERC-2981 royalty, the royalty receiver its share in a lock of
 * its own unless it is the seller (the whole price to the seller) or the buyer (nothing).
 * @param {import('./client.js').AigcClient} client
 * @param {Trade} trade
 * @returns {Promise<{ receiver: `0x${string}`, amount: bigint }[]>}
 */
async function requiredLegs(client, trade) {
  const collection = collectionOf(await getDeployment(client), trade.collection)
  const [receiver, royalty] = /** @type {[`0x${string}`, bigint]} */ (
    await client.publicClient.readContract({
      address: collection.address, abi: collectionAbi, functionName: 'royaltyInfo', args: [trade.tokenId, trade.price],
    })
  )
  if (royalty < 0n || royalty > trade.price) {
    throw new AigcSdkError('bad_royalty', `trade ${trade.id}: royalty ${royalty} is outside [0, price ${trade.price}]`)
  }
  const seller = getAddress(trade.seller)
  if (royalty === 0n || eqAddress(receiver, seller)) return [{ receiver: seller, amount: trade.price }]
  const payment = { receiver: seller, amount: trade.price - royalty }
  if (eqAddress(receiver, trade.buyer)) return [payment]
  return [payment, { receiver: getAddress(receiver), amount: royalty }]
}

/**
 * Seconds a seller's claim needs to be mined before the payment lock expires
 * (services.exchange.swap.CLAIM_MARGIN_S): closer to T2, claimPayment refuses.
 */
export const CLAIM_MARGIN_S = 60n

/**
 * Blocks a seller's claim needs before the payment lock's claim window closes (its block + the
 * HashTimeLock's claimWindow): CLAIM_MARGIN_S at Ethereum's 12 s slot, five blocks
 * (services.exchange.swap.CLAIM_MARGIN_BLOCKS). A claim is estimated at one block and mined in a
 * later one (the next slot, the user reading the wallet's prompt); closer to the window's end,
 * claimPayment refuses.
 */
export const CLAIM_MARGIN_BLOCKS = CLAIM_MARGIN_S / SECONDS_PER_BLOCK

/**
 * What a sale owes its seller in the payment lock (services.exchange.trade.required_payment_locks):
 * the price, less the collection's ERC-2981 royalty on it unless that royalty is nothing or the
 * seller's own (a primary sale by the producer); the buyer locks the royalty apart, for the producer.
 * @param {import('./client.js').AigcClient} client
 * @param {Trade} trade
 * @returns {Promise<bigint>}
 */
export async function sellerShare(client, trade) {
  const [payment] = await requiredLegs(client, trade)
  return payment.amount
}

/**
 * The seller takes the payment with the secret (which publishes it for the buyer). Refused
 * before the secret leaves the SDK: a payment lock that does not pay you Ether from the buyer
 * under the token lock's hashlock (`bad_payment_lock`: the withdrawal would publish the secret
 * and pay someone else, or in a token of the buyer's choosing); one that locks other than the
 * seller's share of the price (PaymentAmountError, code `payment_amount`: the price less the
 * producer's royalty on a resale, `sellerShare`; less would sell the token for what was
 * locked); and a claim that could be mined too late, since one that fails on chain has still
 * published the secret (the buyer would take the token and refund the payment; both sides
 * refund instead): within CLAIM_MARGIN_S of the payment lock's timelock by the chain's clock
 * (ClaimTooLateError, code `claim_too_late`), or within CLAIM_MARGIN_BLOCKS of the end of its
 * claim window, its block + the HashTimeLock's claimWindow, both read from the chain
 * (ClaimWindowClosedError, code `claim_window_closed`); a payment lock not open on chain
 * (`lock_not_open`: the API's trade status is not the chain's).
 * @param {import('./client.js').AigcClient} client
 * @param {{ tradeId: number, preimage: `0x${string}`, intervalMs?: number, timeoutMs?: number }} params
 * @returns {Promise<{ trade: Trade, hash: `0x${string}` }>}
 */
export async function claimPayment(client, { tradeId, preimage, ...timing }) {
  const trade = await waitForTrade(client, { tradeId, status: 'payment_locked', ...timing })
  const paid = trade.paymentLock
  if (!paid) throw new AigcSdkError('no_payment', `trade ${tradeId} has no payment lock`)
  const me = await address(client)
  if (
    paid.receiver !== me || paid.sender !== trade.buyer || paid.asset !== 0 ||
    (trade.assetLock !== null && paid.hashlock !== trade.assetLock.hashlock)
  ) {
    throw new AigcSdkError('bad_payment_lock', `trade ${tradeId}: the payment lock does not pay ${me} Ether from the buyer under the token lock's hashlock`)
  }
  const dep = await getDeployment(client)
  await checkOffer(client, dep, trade) // the price owed is the one offered
  const owed = await sellerShare(client, trade)
  if (paid.amount !== owed) throw new PaymentAmountError({ tradeId, expected: owed, locked: paid.amount })
  const now = (await client.publicClient.getBlock()).timestamp
  if (paid.timelock < now + CLAIM_MARGIN_S) {
    throw new ClaimTooLateError({ deadline: paid.timelock, now, margin: CLAIM_MARGIN_S })
  }
  // The claim window and the lock's block from the chain, never the API's word: the API's
  // transaction carries its gas, so the wallet does not estimate it again before it sends.
  const pc = client.publicClient
  const [info, window, head] = await Promise.all([
    pc.readContract({ address: dep.addresses.htlc, abi: lockInfoAbi, functionName: 'lockInfo', args: [lockId(paid)] }),
    pc.readContract({ address: dep.addresses.htlc, abi: hashTimeLockAbi, functionName: 'claimWindow' }),
    pc.getBlockNumber(),
  ])
  const [status, lockedAt] = /** @type {readonly [number, bigint]} */ (info)
  if (Number(status) !== 1) {
    throw new AigcSdkError('lock_not_open', `trade ${tradeId}: the payment lock is ${LOCK_STATUS[Number(status)] ?? status} on chain, not open: not claiming (a failed claim still publishes the secret)`)
  }
  const lastBlock = BigInt(lockedAt) + BigInt(/** @type {bigint} */ (window))
  if (head + CLAIM_MARGIN_BLOCKS > lastBlock) {
    throw new ClaimWindowClosedError({ lastBlock, block: head, margin: CLAIM_MARGIN_BLOCKS })
  }
  const { hash } = await withdraw(client, paid, preimage)
  return { trade, hash }
}

/**
 * The buyer takes the token with the secret the seller published on chain, and releases the
 * royalty lock to the producer (anyone may; the buyer does it so the sale completes).
 * @param {import('./client.js').AigcClient} client
 * @param {{ tradeId: number, intervalMs?: number, timeoutMs?: number }} params
 * @returns {Promise<{ trade: Trade, preimage: `0x${string}`, tokenTx: `0x${string}`,
 *   royaltyTx: `0x${string}` | null }>}
 */
export async function claimToken(client, { tradeId, ...timing }) {
  const trade = await waitForTrade(client, { tradeId, status: ['payment_claimed', 'payment_locked'], ...timing })
  if (!trade.assetLock || !trade.paymentLock) throw new AigcSdkError('not_paid', `trade ${tradeId} is ${trade.status}`)
  const paid = /** @type {import('./locks.js').Lock} */ (trade.paymentLock)
  const held = trade.assetLock
  const me = await address(client)
  const collection = collectionOf(await getDeployment(client), trade.collection)
  if (held.asset !== 2 || held.receiver !== me || held.token !== collection.address || held.amount !== trade.tokenId
    || paid.hashlock !== held.hashlock) {
    throw new AigcSdkError('bad_token_lock', `trade ${tradeId}: the token lock does not hold this token for you under the payment's hashlock`)
  }
  const preimage = await poll(
    async () => (await revealedPreimage(client, { lock: paid })) ?? undefined,
    { ...timing, what: `the seller's claim of trade ${tradeId}` },
  )
  const tokenTx = (await withdraw(client, trade.assetLock, preimage)).hash
  const royaltyTx = trade.royaltyLock ? (await withdraw(client, trade.royaltyLock, preimage)).hash : null
  return { trade, preimage, tokenTx, royaltyTx }
}

/**
 * Withdraws a lock to its receiver with the preimage (anyone may send it).
 * @param {import('./client.js').AigcClient} client
 * @param {import('./locks.js').Lock} lock
 * @param {`0x${string}`} preimage
 * @returns {Promise<{ hash: `0x${string}` }>}
 */
export async function withdraw(client, lock, preimage) {
  const terms = toLock(lock)
  const tx = await request(client, '/v1/tx/locks/withdraw', {
    method: 'POST',
    json: { lock: lockToApi(terms), preimage },
  })
  const dep = await getDeployment(client)
  const { hash } = await sendUnsigned(client, tx, {
    to: dep.addresses.htlc, abi: hashTimeLockAbi, functionName: 'withdraw', args: [terms, toHex(preimage, 'preimage')], value: 0n,
    what: 'withdrawal',
  })
  return { hash }
}

/** HashTimeLock's Status: None, Open, Withdrawn, Refunded. */
const LOCK_STATUS = ['none', 'open', 'withdrawn', 'refunded']

/**
 * @typedef {object} RoyaltyNote what a `royalty_claimable` notification tells its producer
 * @property {`0x${string}`} lockId the royalty lock's id (the notification's `lock_id`)
 * @property {Record<string, any>} lock its terms (`prepared_withdrawal.body.lock`)
 * @property {`0x${string}`} preimage the trade's secret, public since the seller's claim
 *   (`prepared_withdrawal.body.preimage`)
 * @property {Numberish} [amount] the royalty announced (the notification's `amount`, wei)
 */

/**
 * The producer collects a resale's royalty from its `royalty_claimable` notification: withdraws
 * the buyer's royalty lock to itself with the secret the seller's claim published. Checked before
 * the API is asked: the lock's terms are those of the id the notification names (`lockId`), an
 * Ether lock paying the wallet's account the amount announced, and the secret opens its hashlock
 * (`bad_royalty_lock`, `bad_preimage`); the lock is open on chain (`lock_not_open`: withdrawn or
 * refunded already). The API's transaction must be exactly HashTimeLock.withdraw(that lock, that
 * secret) at the deployment's HTLC with no Ether (`tx_mismatch`, unsent): the web app's button
 * signed whatever the API returned.
 * @param {import('./client.js').AigcClient} client
 * @param {RoyaltyNote} note
 * @returns {Promise<{ hash: `0x${string}`, lockId: `0x${string}`, amount: bigint }>}
 */
export async function collectRoyalty(client, { lockId: id, lock, preimage, amount }) {
  /** @param {string} why */
  const bad = (why) => new AigcSdkError('bad_royalty_lock', `the royalty lock ${why}: nothing was asked or signed`)
  let terms
  try {
    terms = toLock(lock)
  } catch (e) {
    throw bad(`is malformed (${/** @type {Error} */ (e).message})`)
  }
  const named = toBytes32Hex(id).toLowerCase()
  if (lockId(terms).toLowerCase() !== named) throw bad(`terms are not those of lock ${named}`)
  if (terms.asset !== 0 || terms.token !== ZERO_ADDRESS) throw bad('is not an Ether lock')
  const me = await address(client)
  if (terms.receiver !== me) throw bad(`pays ${terms.receiver}, not you (${me})`)
  if (amount !== undefined && terms.amount !== toBigInt(amount, 'amount')) {
    throw bad(`locks ${terms.amount} wei, not the ${toBigInt(amount, 'amount')} announced`)
  }
  const secret = toBytes32Hex(preimage)
  if (sha256(secret).toLowerCase() !== terms.hashlock) {
    throw new AigcSdkError('bad_preimage', 'the secret does not open the royalty lock\'s hashlock: nothing was asked or signed')
  }
  const dep = await getDeployment(client)
  const status = Number(await client.publicClient.readContract({
    address: dep.addresses.htlc, abi: hashTimeLockAbi, functionName: 'statusOf', args: [terms],
  }))
  if (status !== 1) {
    throw new AigcSdkError('lock_not_open', `the royalty lock is ${LOCK_STATUS[status] ?? status} on chain, not open: nothing to collect`)
  }
  const { hash } = await withdraw(client, terms, secret)
  return { hash, lockId: lockId(terms), amount: terms.amount }
}
