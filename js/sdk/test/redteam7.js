// Red team 7 at the SDK boundary: the buyer's payTrade against a lying (or compromised) API that
// describes a token lock or a token the chain does not hold. The scenarios
// tests/js/test_redteam7_sdk.py runs in node, each returning what happened (a refusal's code, how
// many transactions the wallet signed, what the SDK read from the chain) for the Python test to
// assert. The chain is a fake reader that answers the HashTimeLock's statusOf only for the lock
// the seller really made (its id from its terms), and the collection's and the court's views as
// each case sets them.

import { createWalletClient, custom, encodeFunctionData, keccak256, parseAbi, toEventSelector, toFunctionSelector, verifyTypedData } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { readFileSync } from 'node:fs'
import * as sdk from '../src/index.js'
import { ADDRESS, ESP_REGISTRY, fakeApi, HEALTH, HTLC, KEY, REGISTRY } from './helpers.js'

const SELLER_KEY = `0x${'22'.repeat(32)}`
const seller = privateKeyToAccount(SELLER_KEY)
const MALLORY = '0x000000000000000000000000000000000000dEaD'
const BATCH_REGISTRY = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9'
const BATCH_COURT = '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9'
const NOW = 1_700_000_000n
const T1 = NOW + 7200n
const HASHLOCK = `0x${'ab'.repeat(32)}`
const OTHER_HASHLOCK = `0x${'cd'.repeat(32)}`
const PRICE = 5n
const REGISTRY_TOKEN = 7n
const BATCH_ITEM = (3n << 32n) | 1n
const htlcAbi = parseAbi(['function lockEther(address receiver, bytes32 hashlock, uint64 timelock) payable returns (bytes32)'])
const WITH_COURT = { ...HEALTH, contracts: { ...HEALTH.contracts, BatchRegistry: BATCH_REGISTRY, BatchCourt: BATCH_COURT } }
const REGISTERED_AT = 100n // the token's registration (a batch item's batch reveal)
const HEAD = 1000n

/** A wallet on 31337 whose node accepts raw transactions (recorded, "mined" at once). */
function wallet() {
  const raw = []
  const walletClient = createWalletClient({
    account: privateKeyToAccount(KEY),
    transport: custom({
      async request({ method, params }) {
        if (method === 'eth_chainId') return '0x7a69'
        if (method === 'eth_getTransactionCount') return '0x5'
        if (method === 'eth_estimateGas') return '0x5208'
        if (method === 'eth_maxPriorityFeePerGas') return '0x1'
        if (method === 'eth_getBlockByNumber') {
          return { number: '0x1', hash: `0x${'00'.repeat(32)}`, timestamp: '0x1', baseFeePerGas: '0x1', gasLimit: '0x1c9c380', gasUsed: '0x0', transactions: [] }
        }
        if (method === 'eth_sendRawTransaction') { raw.push(params[0]); return keccak256(params[0]) }
        throw new Error(`unexpected RPC ${method}`)
      },
    }),
  })
  return { walletClient, raw }
}

/**
 * The chain: the seller's real token lock (`lock`, in `lockStatus`: 1 open), the token's status
 * in its collection (`token`: 1 active, 2 revoked), the court's latest mis-attestation claim of it
 * (`claim`: its DisputeState, 0 none), the duplicate challenges opened on chain (`challenges`:
 * each `{ at, original, duplicate, state, block }`, a ChallengeOpened log at contract `at` and
 * that pair's dispute state there), the Registry token's Registered log at block `registeredAt`
 * (a batch item's batch revealed there too), the head at block `head`. Every readContract is
 * recorded in `reads`, every event search (`event@addresses:from-to`) in `scans`.
 */
function chain({ lock, lockStatus = 1, token = 1, claim = 0, challenges = [], registeredAt = REGISTERED_AT, head = HEAD }) {
  const reads = []
  const scans = []
  const realId = sdk.lockId(sdk.toLock(lock))
  const inRange = (block, args) => block >= BigInt(args.fromBlock) && block <= BigInt(args.toBlock)
  const reader = {
    getChainId: async () => 31337,
    verifyTypedData: (args) => verifyTypedData(args),
    getBlock: async () => ({ timestamp: NOW }),
    getBlockNumber: async () => head,
    getContractEvents: async (args) => {
      const at = [args.address].flat().map((a) => a.toLowerCase())
      scans.push(`${args.eventName}@${at.join('+')}:${args.fromBlock}-${args.toBlock}`)
      if (BigInt(args.toBlock) > head) throw new Error(`block ${args.toBlock} is past the head ${head}`)
      if (args.eventName === 'Registered') {
        const found = at.includes(REGISTRY.toLowerCase()) && args.args.tokenId === REGISTRY_TOKEN && inRange(registeredAt, args)
        return found ? [{ address: REGISTRY, blockNumber: registeredAt, args: { tokenId: REGISTRY_TOKEN } }] : []
      }
      if (args.eventName === 'ChallengeOpened') {
        return challenges
          .filter((c) => at.includes(c.at.toLowerCase()) && c.duplicate === args.args.duplicate && inRange(c.block, args))
          .map((c) => ({ address: c.at, blockNumber: c.block, args: { original: c.original, duplicate: c.duplicate } }))
      }
      throw new Error(`no event ${args.eventName}`)
    },
    readContract: async (args) => {
      reads.push(`${args.functionName}@${args.address.toLowerCase()}`)
      if (args.functionName === 'royaltyInfo') return [seller.address, 0n]
      if (args.functionName === 'batchOf' && args.address === BATCH_REGISTRY) {
        return { owner: seller.address, count: 2, priorityBlock: registeredAt - 20n, commitBlock: registeredAt - 10n, revealBlock: registeredAt }
      }
      if (args.functionName === 'disputeOf') {
        const [original, duplicate] = args.args
        const c = challenges.find((x) => x.at === args.address && x.original === original && x.duplicate === duplicate)
        return { challenger: c ? MALLORY : '0x0000000000000000000000000000000000000000', deadline: 0n, state: c ? c.state : 0 }
      }
      if (args.functionName === 'statusOf' && args.address === HTLC) {
        return sdk.lockId(args.args[0]) === realId ? lockStatus : 0 // a lock never made: None
      }
      if (args.functionName === 'statusOf' && args.address === BATCH_REGISTRY) return token
      if (args.functionName === 'recordOf' && args.address === REGISTRY) {
        return { recordHash: `0x${'01'.repeat(32)}`, producer: seller.address, status: token }
      }
      if (args.functionName === 'misattestationOf' && args.address === BATCH_COURT) {
        return { claimant: claim === 0 ? '0x0000000000000000000000000000000000000000' : MALLORY, round: claim === 0 ? 0 : 1, state: claim, recordHash: `0x${'00'.repeat(32)}` }
      }
      throw new Error(`no ${args.functionName} at ${args.address}`)
    },
    simulateContract: async (args) => ({ request: args }),
    waitForTransactionReceipt: async ({ hash }) => ({ status: 'success', transactionHash: hash }),
  }
  return { reader, reads, scans }
}

/** The API's unsigned transaction (the server's UnsignedTx shape). */
function unsigned(to, data, value = 0n) {
  return { to, data, value: value.toString(), chainId: 31337, gas: 210000, maxFeePerGas: '2000000000', maxPriorityFeePerGas: '1000000000', from: ADDRESS }
}

async function outcome(promise) {
  try { await promise; return 'done' } catch (e) { return e.code ?? `${e.name}: ${e.message}` }
}

/** The listing as the API serves it, its offer signed by the seller under `collection`'s domain. */
async function signedListing(tokenId, collection) {
  const message = { tokenId, seller: seller.address, price: PRICE, expiry: NOW + 86_400n, nonce: 9n }
  const domains = sdk.defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY, batchRegistry: BATCH_REGISTRY })
  const signature = await seller.signTypedData({
    domain: collection === REGISTRY ? domains.offer : domains.batchOffer, types: sdk.OFFER_TYPES, primaryType: 'Offer', message,
  })
  return { id: 1, token_id: sdk.toBytes32Hex(tokenId), collection, seller: seller.address, price: String(PRICE), expiry: String(message.expiry), nonce: '9', signature, status: 'open' }
}

/** The seller's token lock as the chain holds it (for the buyer, under HASHLOCK, until T1). */
function realLock(tokenId = REGISTRY_TOKEN, collection = REGISTRY) {
  return { sender: seller.address, receiver: ADDRESS, asset: 2, token: collection, amount: String(tokenId), hashlock: HASHLOCK, timelock: String(T1) }
}

/**
 * Runs payTrade of trade 1 against an API that describes the token lock as `said` (the real one
 * unless a case lies) over the chain `onChain`; the payment's legs are the honest ones for the
 * hashlock and timelock the API's lock names (the API is consistent with its own lie).
 */
async function pay({ said, onChain, health = HEALTH, tokenId = REGISTRY_TOKEN, collection = REGISTRY, deploymentBlock = null }) {
  const t1 = BigInt(said.timelock)
  const trade = { id: 1, listing_id: 1, token_id: sdk.toBytes32Hex(tokenId), collection, seller: seller.address, buyer: ADDRESS, price: String(PRICE), status: 'asset_locked', hashlock: said.hashlock, asset_lock: said, payment_lock: null, royalty_lock: null }
  const legs = [{ role: 'payment', receiver: seller.address, amount: String(PRICE),
    tx: unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [seller.address, said.hashlock, t1 - 600n] }), PRICE) }]
  const listing = await signedListing(tokenId, collection)
  // GET /v1/deployment (its `block`: where the deployment starts) when a case serves one
  const deployment = deploymentBlock === null ? {} : {
    'GET /v1/deployment': () => [200, { chain_id: health.chain_id, block: Number(deploymentBlock), contracts: health.contracts }],
  }
  const api = fakeApi({
    ...deployment,
    'GET /healthz': () => [200, health], 'GET /v1/trades/1': () => [200, trade], 'GET /v1/listings/1': () => [200, listing],
    'POST /v1/trades/1/payment-tx': () => [200, { trade_id: 1, hashlock: said.hashlock, timelock: String(t1 - 600n), locks: legs }],
  })
  const w = wallet()
  const { reader, reads, scans } = chain(onChain)
  const c = sdk.createAigcClient({ baseUrl: 'http://api.test', publicClient: reader, walletClient: w.walletClient, fetch: api.fetch })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  const r = await outcome(sdk.payTrade(c, { tradeId: 1, intervalMs: 1 }))
  const paymentAsked = api.calls.some((x) => x.path === '/v1/trades/1/payment-tx')
  return { r, sent: w.raw.length, paymentAsked, reads, scans }
}

/** test_pay_trade_refuses_a_token_lock_the_chain_does_not_hold */
export async function payTradeRefusesATokenLockTheChainDoesNotHold() {
  const real = realLock()
  const cases = {
    // the API reports a lock the seller never made
    never_made: { said: real, onChain: { lock: { ...real, hashlock: OTHER_HASHLOCK }, lockStatus: 1 } },
    // the seller refunded it (past T1, or the API's status is stale) or it was withdrawn
    refunded: { said: real, onChain: { lock: real, lockStatus: 3 } },
    withdrawn: { said: real, onChain: { lock: real, lockStatus: 2 } },
    // the seller's lock is under another hashlock than the API says (and the payment's): the
    // seller's secret opens the buyer's payment, not the token lock
    other_hashlock: { said: { ...real, hashlock: OTHER_HASHLOCK }, onChain: { lock: real } },
    // the seller's lock expires an hour earlier than the API says: the payment timelock the
    // buyer checks against T1 - margin outlasts the real lock (the seller refunds the token,
    // then claims the payment)
    earlier_timelock: { said: { ...real, timelock: String(T1 + 3600n) }, onChain: { lock: real } },
    // a lock "from" someone else than the trade's seller (whose offer the buyer pays)
    other_sender: { said: { ...real, sender: MALLORY }, onChain: { lock: { ...real, sender: MALLORY } } },
    honest: { said: real, onChain: { lock: real } },
  }
  const results = {}
  for (const [name, c] of Object.entries(cases)) {
    const { r, sent, paymentAsked } = await pay(c)
    results[name] = [r, sent, paymentAsked]
  }
  return results
}

/** test_pay_trade_refuses_a_revoked_or_claimed_token */
export async function payTradeRefusesARevokedOrClaimedToken() {
  const single = realLock()
  const item = realLock(BATCH_ITEM, BATCH_REGISTRY)
  const batch = { tokenId: BATCH_ITEM, collection: BATCH_REGISTRY, health: WITH_COURT }
  const cases = {
    // revoked by a dispute: frozen once out of the escrow (the buyer's claim of it fails)
    registry_revoked: { said: single, onChain: { lock: single, token: 2 }, health: WITH_COURT },
    batch_revoked: { said: item, onChain: { lock: item, token: 2 }, ...batch },
    // an open (or contested) mis-attestation claim at the BatchCourt: upheld, it revokes the
    // token from whoever holds it then (the buyer)
    claim_open: { said: single, onChain: { lock: single, claim: 1 }, health: WITH_COURT },
    claim_contested: { said: item, onChain: { lock: item, claim: 2 }, ...batch },
    // a rejected claim no longer stands in the way
    claim_rejected: { said: single, onChain: { lock: single, claim: 4 }, health: WITH_COURT },
    honest_batch: { said: item, onChain: { lock: item }, ...batch },
    // a deployment from before the court: no claim to read
    honest_no_court: { said: single, onChain: { lock: single } },
  }
  const results = {}
  for (const [name, c] of Object.entries(cases)) {
    const { r, sent, paymentAsked } = await pay(c)
    results[name] = [r, sent, paymentAsked]
  }
  return results
}

/** test_pay_trade_reads_the_chain_once_per_fact */
export async function payTradeReadsTheChainOncePerFact() {
  const item = realLock(BATCH_ITEM, BATCH_REGISTRY)
  const { r, sent, reads } = await pay({ said: item, onChain: { lock: item }, tokenId: BATCH_ITEM, collection: BATCH_REGISTRY, health: WITH_COURT })
  return { r, sent, reads }
}

/** test_the_token_status_fragment_is_the_batch_registrys */
export async function theTokenStatusFragmentIsTheBatchRegistrys() {
  const { tokenStatusAbi } = await import('../src/market.js')
  const url = new URL('../../../contracts/artifacts/BatchRegistry.json', import.meta.url)
  const compiled = JSON.parse(readFileSync(url, 'utf8')).abi
  return { matches: tokenStatusAbi.map((item) => {
    const match = compiled.find((c) => c.type === 'function' && c.name === item.name && toFunctionSelector(c) === toFunctionSelector(item))
    return Boolean(match) && match.stateMutability === item.stateMutability && match.outputs.map((o) => o.type).join() === item.outputs.map((o) => o.type).join()
  }) }
}

/** test_pay_trade_refuses_a_token_under_an_open_challenge */
export async function payTradeRefusesATokenUnderAnOpenChallenge() {
  const single = realLock()
  const item = realLock(BATCH_ITEM, BATCH_REGISTRY)
  const batch = { tokenId: BATCH_ITEM, collection: BATCH_REGISTRY, health: WITH_COURT }
  const ORIGINAL = 99n // the accuser (an earlier registration of the same image)
  const COURT_ORIGINAL = (5n << 32n) | 0n // a batched original at the court
  /** a challenge of `duplicate` by `original` at `at`, opened at block 150 unless `block` */
  const ch = (at, state, { original = ORIGINAL, duplicate = REGISTRY_TOKEN, block = 150n } = {}) => ({ at, original, duplicate, state, block })
  const cases = {
    // an open (uncontested, maybe past its deadline: anyone may finalize it, upheld) or contested
    // duplicate challenge of the Registry token at the Registry: decided for the accuser, it
    // revokes the token from whoever holds it then (the buyer)
    registry_open: { said: single, onChain: { lock: single, challenges: [ch(REGISTRY, 1)] } },
    registry_contested: { said: single, onChain: { lock: single, challenges: [ch(REGISTRY, 2)] } },
    // a batched original's challenge of the Registry token at the BatchCourt
    court_open: { said: single, onChain: { lock: single, challenges: [ch(BATCH_COURT, 1, { original: COURT_ORIGINAL })] }, health: WITH_COURT },
    // a challenge of the batch item at the BatchRegistry
    batch_open: { said: item, onChain: { lock: item, challenges: [ch(BATCH_REGISTRY, 1, { duplicate: BATCH_ITEM })] }, ...batch },
    batch_contested: { said: item, onChain: { lock: item, challenges: [ch(BATCH_REGISTRY, 2, { duplicate: BATCH_ITEM })] }, ...batch },
    // the second of two accusers: the first's challenge rejected, the second's still open
    second_open: { said: single, onChain: { lock: single, challenges: [ch(REGISTRY, 4), ch(REGISTRY, 1, { original: 98n, block: 400n })] } },
    // opened long after the registration: more blocks than one log query covers (5,000)
    opened_late: { said: single, onChain: { lock: single, head: 20_000n, challenges: [ch(REGISTRY, 1, { block: 19_000n })] } },
    // the API names a deployment block after the token's registration (and the challenge), so a
    // search from it would find nothing: the token's Registered log is not in that range
    late_deployment_block: { said: single, onChain: { lock: single, challenges: [ch(REGISTRY, 1)] }, deploymentBlock: 500n },
    // decided challenges no longer stand in the way (an upheld one has revoked the token:
    // token_revoked); nor does a challenge of the other collection's token of the same id
    rejected: { said: single, onChain: { lock: single, challenges: [ch(REGISTRY, 4)] } },
    void: { said: single, onChain: { lock: single, challenges: [ch(REGISTRY, 5), ch(BATCH_COURT, 6, { original: COURT_ORIGINAL })] }, health: WITH_COURT },
    other_collections_token: { said: single, onChain: { lock: single, challenges: [ch(BATCH_REGISTRY, 1)] }, health: WITH_COURT },
    honest_deployment_block: { said: single, onChain: { lock: single }, deploymentBlock: 50n },
    honest_batch: { said: item, onChain: { lock: item, challenges: [ch(BATCH_REGISTRY, 1, { duplicate: BATCH_ITEM + 1n })] }, ...batch },
  }
  const results = {}
  for (const [name, c] of Object.entries(cases)) {
    const { r, sent, paymentAsked } = await pay(c)
    results[name] = [r, sent, paymentAsked]
  }
  return results
}

/** test_pay_trade_searches_challenges_from_the_registration */
export async function payTradeSearchesChallengesFromTheRegistration() {
  const single = realLock()
  const item = realLock(BATCH_ITEM, BATCH_REGISTRY)
  const out = {}
  // a Registry token: its Registered log from the deployment's block (the API's, 40), then the
  // challenges at the Registry and the court from the registration (100) to the head
  out.registry = await pay({ said: single, onChain: { lock: single }, health: WITH_COURT, deploymentBlock: 40n })
  // a batch item: from its batch's reveal block (the BatchRegistry's batchOf), no log for it
  out.batch = await pay({ said: item, onChain: { lock: item }, tokenId: BATCH_ITEM, collection: BATCH_REGISTRY, health: WITH_COURT })
  // refused: the challenge read tells which pair
  const { r } = await pay({ said: single, onChain: { lock: single, challenges: [{ at: REGISTRY, original: 99n, duplicate: REGISTRY_TOKEN, state: 2, block: 150n }] } })
  return {
    registry: { r: out.registry.r, scans: out.registry.scans },
    batch: { r: out.batch.r, scans: out.batch.scans, reads: out.batch.reads.filter((x) => x.startsWith('batchOf')) },
    refused: r,
  }
}

/** test_pay_trade_challenge_error_names_the_pair */
export async function payTradeChallengeErrorNamesThePair() {
  const single = realLock()
  const c = { at: REGISTRY, original: 99n, duplicate: REGISTRY_TOKEN, state: 2, block: 150n }
  try {
    await payOnly({ said: single, onChain: { lock: single, challenges: [c] } })
    return { error: null }
  } catch (e) {
    return {
      error: e.name, code: e.code, isSdkError: e instanceof sdk.AigcSdkError, isChallengeError: typeof sdk.ChallengeOpenError === 'function' && e instanceof sdk.ChallengeOpenError,
      tokenId: String(e.tokenId), original: String(e.original), contract: e.contract, state: e.state,
    }
  }
}

/** pay, throwing the refusal instead of recording it */
async function payOnly(c) {
  const { reader } = chain(c.onChain)
  const said = c.said
  const t1 = BigInt(said.timelock)
  const trade = { id: 1, listing_id: 1, token_id: sdk.toBytes32Hex(REGISTRY_TOKEN), collection: REGISTRY, seller: seller.address, buyer: ADDRESS, price: String(PRICE), status: 'asset_locked', hashlock: said.hashlock, asset_lock: said, payment_lock: null, royalty_lock: null }
  const legs = [{ role: 'payment', receiver: seller.address, amount: String(PRICE),
    tx: unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [seller.address, said.hashlock, t1 - 600n] }), PRICE) }]
  const listing = await signedListing(REGISTRY_TOKEN, REGISTRY)
  const api = fakeApi({
    'GET /v1/trades/1': () => [200, trade], 'GET /v1/listings/1': () => [200, listing],
    'POST /v1/trades/1/payment-tx': () => [200, { trade_id: 1, hashlock: said.hashlock, timelock: String(t1 - 600n), locks: legs }],
  })
  const c2 = sdk.createAigcClient({ baseUrl: 'http://api.test', publicClient: reader, walletClient: wallet().walletClient, fetch: api.fetch })
  c2.session = { token: 't', address: ADDRESS, expiresAt: '' }
  await sdk.payTrade(c2, { tradeId: 1, intervalMs: 1 })
}

/** test_the_challenge_fragments_are_the_contracts */
export async function theChallengeFragmentsAreTheContracts() {
  const { challengeOpenedAbi, registeredAbi, registryDisputeAbi, batchDisputeAbi } = await import('../src/market.js')
  const { batchCourtAbi } = await import('../src/batch_court.js')
  const artifact = (name) => JSON.parse(readFileSync(new URL(`../../../contracts/artifacts/${name}.json`, import.meta.url), 'utf8')).abi
  const sameFunction = (compiled, item) => {
    const match = compiled.find((c) => c.type === 'function' && c.name === item.name && toFunctionSelector(c) === toFunctionSelector(item))
    const shape = (outs) => JSON.stringify(outs.map((o) => [o.type, (o.components ?? []).map((x) => [x.name, x.type])]))
    return Boolean(match) && match.stateMutability === item.stateMutability && shape(match.outputs) === shape(item.outputs)
  }
  const sameEvent = (compiled, item) => {
    const match = compiled.find((c) => c.type === 'event' && c.name === item.name && toEventSelector(c) === toEventSelector(item))
    return Boolean(match) && match.inputs.map((i) => `${i.name}:${Boolean(i.indexed)}`).join() === item.inputs.map((i) => `${i.name}:${Boolean(i.indexed)}`).join()
  }
  const disputeOf = (abi) => abi.filter((x) => x.name === 'disputeOf')
  return {
    registry: [...disputeOf(registryDisputeAbi).map((x) => sameFunction(artifact('Registry'), x)),
      ...challengeOpenedAbi.map((x) => sameEvent(artifact('Registry'), x)), ...registeredAbi.map((x) => sameEvent(artifact('Registry'), x))],
    batch: [...disputeOf(batchDisputeAbi).map((x) => sameFunction(artifact('BatchRegistry'), x)), ...challengeOpenedAbi.map((x) => sameEvent(artifact('BatchRegistry'), x))],
    court: [...disputeOf(batchCourtAbi).map((x) => sameFunction(artifact('BatchCourt'), x)), ...challengeOpenedAbi.map((x) => sameEvent(artifact('BatchCourt'), x))],
  }
}
