// Red team 3 at the SDK boundary: the scenarios tests/js/test_redteam3_sdk.py runs in node, each
// returning what happened (a refusal's code, how many transactions the wallet signed) for the
// Python test to assert. A fake API (helpers.js) answers as a malicious or compromised one would.

import { createWalletClient, custom, encodeFunctionData, keccak256, parseAbi, parseTransaction, verifyTypedData } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import * as sdk from '../src/index.js'
import { ADDRESS, ESP_REGISTRY, fakeApi, HEALTH, HTLC, KEY, REGISTRY } from './helpers.js'
import { deliveryKeyMessage } from '../src/delivery.js'


const ESP_KEY = `0x${'22'.repeat(32)}`
const esp = privateKeyToAccount(ESP_KEY)
const MALLORY = '0x000000000000000000000000000000000000dEaD'
const NOW = 1_700_000_000n
const SALT = `0x${'5a'.repeat(32)}`
const ZERO = '0x0000000000000000000000000000000000000000'
const htlcAbi = parseAbi([
  'function lockEther(address receiver, bytes32 hashlock, uint64 timelock) payable returns (bytes32)',
  'function lockERC721(address token, uint256 tokenId, address receiver, bytes32 hashlock, uint64 timelock) returns (bytes32)',
  'function withdraw((address sender, address receiver, uint8 asset, address token, uint256 amount, bytes32 hashlock, uint64 timelock) lock, bytes32 preimage)',
])
const erc721Abi = parseAbi(['function approve(address to, uint256 tokenId)'])

/** A wallet on chain `chain.id` (changeable: a user switching networks) that records raw txs. */
function wallet(chain = { id: 31337 }) {
  const raw = []
  const walletClient = createWalletClient({
    account: privateKeyToAccount(KEY),
    transport: custom({
      async request({ method, params }) {
        if (method === 'eth_chainId') return `0x${chain.id.toString(16)}`
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
  return { walletClient, raw, chain }
}

/** A chain reader on 31337 whose Registry window is a day and whose receipts succeed. */
function reader(over = {}) {
  return {
    getChainId: async () => 31337,
    verifyTypedData: (args) => verifyTypedData(args),
    getBlock: async () => ({ timestamp: NOW }),
    readContract: async (args) => {
      if (args.functionName === 'parameters') return { registrationWindow: 7200n, bond: 10n, challengeDeposit: 20n }
      if (args.functionName === 'claimWindow') return 6480n // the HashTimeLock's, of a 7,200-block window
      if (args.functionName === 'royaltyInfo') return [esp.address, 0n]
      // payTrade's chain reads (red team 7): the token lock open, the token active
      if (args.functionName === 'statusOf') return 1
      if (args.functionName === 'recordOf') return { recordHash: `0x${'01'.repeat(32)}`, producer: esp.address, status: 1 }
      throw new Error(`no ${args.functionName}`)
    },
    // payTrade's challenge search: the token registered at block 1, never challenged
    getBlockNumber: async () => 10n,
    getContractEvents: async (args) => (args.eventName === 'Registered' && BigInt(args.fromBlock) <= 1n
      ? [{ address: args.address, blockNumber: 1n, args: args.args }] : []),
    simulateContract: async (args) => ({ request: args }),
    waitForTransactionReceipt: async ({ hash }) => ({ status: 'success', transactionHash: hash }),
    ...over,
  }
}

function client(api, w = wallet(), options = {}) {
  const c = sdk.createAigcClient({ baseUrl: 'http://api.test', publicClient: reader(), walletClient: w.walletClient, fetch: api.fetch, ...options })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  return c
}

/** The API's unsigned transaction (the server's UnsignedTx shape). */
function unsigned(to, data, value = 0n) {
  return { to, data, value: value.toString(), chainId: 31337, gas: 210000, maxFeePerGas: '2000000000', maxPriorityFeePerGas: '1000000000', from: ADDRESS }
}

async function outcome(promise) {
  try { await promise; return 'done' } catch (e) { return e.code ?? `${e.name}: ${e.message}` }
}

const HASHLOCK = `0x${'ab'.repeat(32)}`

/** A task quoted by the ESP (its real EIP-712 signature) for `price`, deadline in an hour. */
async function quoted(over = {}) {
  const t = {
    id: `0x${'aa'.repeat(32)}`, producer: ADDRESS, esp: esp.address, prompt: 'a red circle', seed: 5,
    prompt_salt: SALT, prompt_commitment: sdk.promptCommitment('a red circle', SALT),
    max_price: '2000000000000000', status: 'quoted', price: '1000000000000000', hashlock: HASHLOCK,
    deadline: Number(NOW) + 3600, quote_signature: null, lock: null, lock_id: null, delivery: null, ...over,
  }
  const task = sdk.toTask(t)
  t.quote_signature = await esp.signTypedData({
    domain: sdk.defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).quote,
    types: sdk.QUOTE_TYPES, primaryType: 'Quote', message: sdk.quotedLock(task),
  })
  return sdk.toTask(t)
}

/** test_pay_fee_refuses_an_api_lock_transaction_that_pays_someone_else */
export async function payFeeRefusesAnApiLockTransactionThatPaysSomeoneElse() {
  const task = await quoted()
  const results = {}
  const cases = {
    transfer: unsigned(MALLORY, '0x', task.price),
    other_receiver: unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [MALLORY, HASHLOCK, task.deadline] }), task.price),
    more_value: unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [esp.address, HASHLOCK, task.deadline] }), task.price * 10n),
    other_timelock: unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [esp.address, HASHLOCK, task.deadline + 86400n] }), task.price),
  }
  const sent = {}
  for (const [name, tx] of Object.entries(cases)) {
    const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/tx/locks/ether': () => [200, tx] })
    const w = wallet()
    results[name] = await outcome(sdk.payFee(client(api, w), { task }))
    sent[name] = w.raw.length
  }
  return { results, sent }
}

/** test_pay_fee_sends_the_lock_the_quote_promises */
export async function payFeeSendsTheLockTheQuotePromises() {
  const task = await quoted()
  const tx = unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [esp.address, HASHLOCK, task.deadline] }), task.price)
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/tx/locks/ether': () => [200, tx] })
  const w = wallet()
  const r = await outcome(sdk.payFee(client(api, w), { task }))
  const first = parseTransaction(w.raw[0])
  return { r, sent: w.raw.length, to: first.to, value: String(first.value) }
}

/** test_pay_fee_refuses_a_quote_above_the_maximum_the_producer_posted */
export async function payFeeRefusesAQuoteAboveTheMaximumTheProducerPosted() {
  const api = fakeApi({
    'GET /healthz': () => [200, HEALTH],
    'POST /v1/tasks': ({ body }) => [201, {
      id: `0x${'aa'.repeat(32)}`, producer: ADDRESS, esp: esp.address, prompt: body.prompt, seed: 0, max_price: body.max_price,
      status: 'posted', price: null, hashlock: null, deadline: null, quote_signature: null, lock: null, lock_id: null, delivery: null,
      prompt_salt: body.prompt_salt, prompt_commitment: sdk.promptCommitment(body.prompt, body.prompt_salt),
    }],
  })
  const w = wallet()
  const c = client(api, w)
  await sdk.postTask(c, { prompt: 'a red circle', maxPrice: 2_000_000_000_000_000n, esp: esp.address })
  const greedy = await quoted({ price: '1000000000000000000', max_price: '1000000000000000000' })
  const r1 = await outcome(sdk.payFee(c, { task: greedy }))
  // a task never posted through this client: its own max_price still bounds the quote
  const r2 = await outcome(sdk.payFee(client(api, w), { task: await quoted({ price: '3000000000000000' }) }))
  return { r1, r2, sent: w.raw.length }
}

/** test_post_task_refuses_a_task_for_another_esp_or_maximum_than_asked */
export async function postTaskRefusesATaskForAnotherEspOrMaximumThanAsked() {
  const answer = (over) => ({ body }) => [201, {
    id: `0x${'aa'.repeat(32)}`, producer: ADDRESS, esp: esp.address, prompt: body.prompt, seed: 0, max_price: body.max_price,
    status: 'posted', price: null, hashlock: null, deadline: null, quote_signature: null, lock: null, lock_id: null, delivery: null,
    prompt_salt: body.prompt_salt, prompt_commitment: sdk.promptCommitment(body.prompt, body.prompt_salt), ...over,
  }]
  const post = (over) => sdk.postTask(client(fakeApi({ 'POST /v1/tasks': answer(over) })), { prompt: 'p', maxPrice: '5', esp: esp.address })
  return {
    esp: await outcome(post({ esp: MALLORY })),
    max: await outcome(post({ max_price: '500' })),
    producer: await outcome(post({ producer: MALLORY })),
    honest: await outcome(post({})),
  }
}

/** test_a_wallet_switched_to_another_chain_mid_flow_signs_nothing */
export async function aWalletSwitchedToAnotherChainMidFlowSignsNothing() {
  const task = await quoted()
  const tx = unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [esp.address, HASHLOCK, task.deadline] }), task.price)
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/tx/locks/ether': () => [200, tx] })
  const w = wallet({ id: 1 })
  const r = await outcome(sdk.payFee(client(api, w), { task }))
  return { r, sent: w.raw.length }
}

/** test_a_deployment_of_another_chain_is_refused */
export async function aDeploymentOfAnotherChainIsRefused() {
  const other = fakeApi({ 'GET /healthz': () => [200, { ...HEALTH, chain_id: 1 }] })
  const wrongChain = await outcome(sdk.getDeployment(client(other)))
  const swapped = fakeApi({ 'GET /healthz': () => [200, { ...HEALTH, contracts: { ...HEALTH.contracts, HashTimeLock: MALLORY } }] })
  const manifest = { chain_id: 31337, contracts: { Registry: { address: REGISTRY }, EspRegistry: { address: ESP_REGISTRY }, HashTimeLock: { address: HTLC } } }
  const pinned = await outcome(sdk.getDeployment(client(swapped, wallet(), { deployment: manifest })))
  const pinnedOther = await outcome(sdk.getDeployment(client(fakeApi({ 'GET /healthz': () => [200, HEALTH] }), wallet(), { deployment: { ...manifest, chain_id: 1 } })))
  const ok = await outcome(sdk.getDeployment(client(fakeApi({ 'GET /healthz': () => [200, HEALTH] }), wallet(), { deployment: manifest })))
  return { wrongChain, pinned, pinnedOther, ok }
}

/** test_lock_for_sale_refuses_an_approval_or_lock_for_someone_else */
export async function lockForSaleRefusesAnApprovalOrLockForSomeoneElse() {
  const BUYER = esp.address
  const trade = sdk.toTrade({ id: 1, listing_id: 1, token_id: `0x${'0'.repeat(63)}7`, seller: ADDRESS, buyer: BUYER, price: '5', status: 'requested', hashlock: null, asset_lock: null, payment_lock: null, royalty_lock: null })
  const approve = (to) => unsigned(REGISTRY, encodeFunctionData({ abi: erc721Abi, functionName: 'approve', args: [to, 7n] }))
  let lockedTo = MALLORY
  const listing = await signedListing({ id: 1, tokenId: 7n, seller: privateKeyToAccount(KEY), price: 5n })
  const api = (approveTo) => fakeApi({
    'GET /healthz': () => [200, HEALTH],
    'GET /v1/listings/1': () => [200, listing],
    'POST /v1/tx/registry/approve': () => [200, approve(approveTo)],
    'POST /v1/tx/locks/token': ({ body }) => [200, unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockERC721', args: [REGISTRY, 7n, lockedTo, body.hashlock, BigInt(body.timelock)] }))],
  })
  const w1 = wallet()
  const approval = await outcome(sdk.lockForSale(client(api(MALLORY), w1), { trade }))
  const w2 = wallet()
  const lock = await outcome(sdk.lockForSale(client(api(HTLC), w2), { trade }))
  lockedTo = BUYER
  const w3 = wallet()
  const honest = await outcome(sdk.lockForSale(client(api(HTLC), w3), { trade }))
  return { approval, approvalSent: w1.raw.length, lock, lockSent: w2.raw.length, honest, honestSent: w3.raw.length }
}

/** test_pay_trade_refuses_legs_that_do_not_add_up_to_the_trade */
export async function payTradeRefusesLegsThatDoNotAddUpToTheTrade() {
  const SELLER = esp.address
  const T1 = NOW + 7200n
  const assetLock = { sender: SELLER, receiver: ADDRESS, asset: 2, token: REGISTRY, amount: '7', hashlock: HASHLOCK, timelock: String(T1) }
  const trade = { id: 1, listing_id: 1, token_id: `0x${'0'.repeat(63)}7`, seller: SELLER, buyer: ADDRESS, price: '5', status: 'asset_locked', hashlock: HASHLOCK, asset_lock: assetLock, payment_lock: null, royalty_lock: null }
  const leg = (role, receiver, amount, t2 = T1 - 600n, txReceiver = receiver) => ({ role, receiver, amount: String(amount),
    tx: unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [txReceiver, HASHLOCK, t2] }), BigInt(amount)) })
  const cases = {
    extra_leg: [leg('payment', SELLER, 5n), leg('royalty', MALLORY, 5n)],
    above_price: [leg('payment', SELLER, 50n)],
    late_timelock: [leg('payment', SELLER, 5n, T1)],
    lying_leg: [leg('payment', SELLER, 5n, T1 - 600n, MALLORY)],
    honest: [leg('payment', SELLER, 5n)],
  }
  const t2Of = { late_timelock: T1 }
  const listing = await signedListing({ id: 1, tokenId: 7n, seller: esp, price: 5n })
  const results = {}
  const sent = {}
  for (const [name, locks] of Object.entries(cases)) {
    const api = fakeApi({
      'GET /healthz': () => [200, HEALTH], 'GET /v1/trades/1': () => [200, trade], 'GET /v1/listings/1': () => [200, listing],
      'POST /v1/trades/1/payment-tx': () => [200, { trade_id: 1, hashlock: HASHLOCK, timelock: String(t2Of[name] ?? T1 - 600n), locks }],
    })
    const w = wallet()
    results[name] = await outcome(sdk.payTrade(client(api, w), { tradeId: 1, intervalMs: 1 }))
    sent[name] = w.raw.length
  }
  return { results, sent }
}

/** test_withdraw_refuses_a_transaction_that_is_not_the_withdrawal_asked_for */
export async function withdrawRefusesATransactionThatIsNotTheWithdrawalAskedFor() {
  const lock = sdk.toLock({ sender: esp.address, receiver: ADDRESS, asset: 0, token: ZERO, amount: '9', hashlock: HASHLOCK, timelock: String(NOW + 600n) })
  const pre = `0x${'01'.repeat(32)}`
  const call = (l) => encodeFunctionData({ abi: htlcAbi, functionName: 'withdraw', args: [l, pre] })
  const cases = {
    value: unsigned(HTLC, call(lock), 10n ** 18n),
    elsewhere: unsigned(MALLORY, call(lock)),
    other_lock: unsigned(HTLC, call({ ...lock, amount: 1n })),
    no_data: { ...unsigned(HTLC, '0x'), data: undefined },
    bad_value: { ...unsigned(HTLC, call(lock)), value: '-1' },
    honest: unsigned(HTLC, call(lock)),
  }
  const results = {}
  for (const [name, tx] of Object.entries(cases)) {
    const w = wallet()
    const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/tx/locks/withdraw': () => [200, tx] })
    results[name] = [await outcome(sdk.withdraw(client(api, w), lock, pre)), w.raw.length]
  }
  return results
}

/** test_amounts_and_token_ids_beyond_2_53_stay_exact_and_bad_input_is_typed */
export async function amountsAndTokenIdsBeyond253StayExactAndBadInputIsTyped() {
  const big = (2n ** 255n + 12345n)
  const cases = {
    unsafe_number: () => sdk.toBigInt(2 ** 60),
    negative: () => sdk.toBigInt(-1n),
    fraction: () => sdk.toBigInt('1.5'),
    too_wide: () => sdk.toBytes32Hex(2n ** 256n),
    garbage: () => sdk.toBigInt('12abc'),
  }
  const errors = {}
  for (const [name, f] of Object.entries(cases)) { try { f(); errors[name] = 'accepted' } catch (e) { errors[name] = e.name } }
  const api = fakeApi({ 'GET /healthz': () => [200, HEALTH], 'POST /v1/listings': ({ body }) => [201, { id: 1, token_id: body.token_id, collection: REGISTRY, seller: ADDRESS, price: body.price, expiry: body.expiry, nonce: body.nonce, signature: body.signature, status: 'open' }] })
  const l = await sdk.list(client(api), { tokenId: big.toString(), price: '123456789012345678901234567890', expiry: '1800000000', nonce: 1n })
  const bad = await outcome(sdk.list(client(api), { tokenId: 2n ** 256n, price: 1n, expiry: 1n, nonce: 1n }))
  return { errors, tokenId: String(l.tokenId), price: String(l.price), sentPrice: api.calls.find((c) => c.path === '/v1/listings').body.price, bad }
}

/** test_sign_in_refuses_a_nonce_for_another_site */
export async function signInRefusesANonceForAnotherSite() {
  const signed = []
  const base = wallet()
  const spy = { ...base.walletClient, account: base.walletClient.account, signMessage: async (a) => { signed.push(a.message); return base.walletClient.signMessage(a) } }
  const api = fakeApi({
    'POST /v1/auth/nonce': () => [200, { nonce: 'abcdefgh12345678', domain: 'app.uniswap.org', uri: 'https://app.uniswap.org', chain_id: 31337 }],
    'POST /v1/auth/verify': () => [200, { token: 't', address: ADDRESS, expires_at: 1 }],
  })
  const c = client(api)
  c.walletClient = spy
  const phished = await outcome(sdk.signIn(c))
  const honestApi = fakeApi({
    'POST /v1/auth/nonce': () => [200, { nonce: 'abcdefgh12345678', domain: 'api.test', uri: 'http://api.test', chain_id: 31337 }],
    'POST /v1/auth/verify': () => [200, { token: 't', address: ADDRESS, expires_at: 1 }],
  })
  const c2 = client(honestApi)
  c2.walletClient = spy
  const honest = await outcome(sdk.signIn(c2))
  // a dApp whose API lives elsewhere names the domain it expects
  const c3 = client(api)
  c3.walletClient = spy
  const named = await outcome(sdk.signIn(c3, { domain: 'app.uniswap.org' }))
  return { phished, honest, named, signed: signed.length }
}

/** test_the_delivery_key_is_derived_only_for_this_sites_domain_and_chain */
export async function theDeliveryKeyIsDerivedOnlyForThisSitesDomainAndChain() {
  const signed = []
  const base = wallet()
  const spy = { ...base.walletClient, account: base.walletClient.account, getChainId: async () => 31337,
    signMessage: async (a) => { signed.push(a.message); return base.walletClient.signMessage(a) } }
  const serve = (domain, chainId) => fakeApi({
    [`GET /v1/accounts/${ADDRESS}/delivery-key`]: () => [200, {
      address: ADDRESS, delivery_key: null, chain_id: chainId, domain, message: deliveryKeyMessage({ address: ADDRESS, chainId, domain }),
    }],
  })
  const results = {}
  for (const [name, domain, chainId] of [['other_domain', 'market.example.org', 31337], ['other_chain', 'api.test', 1], ['honest', 'api.test', 31337]]) {
    const c = client(serve(domain, chainId))
    c.walletClient = spy
    results[name] = await outcome(c.deriveDeliveryKey())
  }
  return { results, signed: signed.length }
}

/** test_an_injected_wallet_switched_to_another_account_mid_flow_signs_nothing */
export async function anInjectedWalletSwitchedToAnotherAccountMidFlowSignsNothing() {
  const task = await quoted()
  const data = encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [esp.address, HASHLOCK, task.deadline] })
  const api = fakeApi({ 'POST /v1/tx/locks/ether': () => [200, unsigned(HTLC, data, task.price)] })
  const requests = []
  let selected = ADDRESS
  // an injected wallet: a JSON-RPC account (the page's session address), the wallet's own selection
  const walletClient = createWalletClient({
    account: ADDRESS,
    transport: custom({
      async request({ method }) {
        requests.push(method)
        if (method === 'eth_chainId') return '0x7a69'
        if (method === 'eth_accounts' || method === 'eth_requestAccounts') return [selected.toLowerCase()]
        if (method === 'eth_sendTransaction') return `0x${'01'.repeat(32)}`
        throw new Error(`unexpected RPC ${method}`)
      },
    }),
  })
  selected = MALLORY // the user picks another account in the wallet between the quote and the payment
  const switched = await outcome(sdk.payFee(client(api, { walletClient }), { task }))
  const sentWhileSwitched = requests.filter((m) => m === 'eth_sendTransaction').length
  selected = ADDRESS
  const back = await outcome(sdk.payFee(client(api, { walletClient }), { task }))
  return { switched, sentWhileSwitched, back, sent: requests.filter((m) => m === 'eth_sendTransaction').length }
}

/** test_ids_from_untrusted_input_never_become_another_route */
export async function idsFromUntrustedInputNeverBecomeAnotherRoute() {
  const api = fakeApi({})
  const c = client(api)
  const results = {
    task: await outcome(sdk.getTask(c, { taskId: '../accounts/me/delivery-key' })),
    fraud: await outcome(sdk.reportFraud(c, { taskId: `0x${'aa'.repeat(32)}/../../tx/relay`, key: `0x${'01'.repeat(32)}` })),
    trade: await outcome(sdk.getTrade(c, { tradeId: '1/../../accounts/me' })),
    tradeFraction: await outcome(sdk.getTrade(c, { tradeId: 1.5 })),
    pay: await outcome(sdk.payTrade(c, { tradeId: -1 })),
    buy: await outcome(sdk.buy(c, { listingId: '2; DROP' })),
  }
  return { results, calls: api.calls.length }
}

/** test_claim_token_refuses_a_token_lock_that_is_not_the_buyers */
export async function claimTokenRefusesATokenLockThatIsNotTheBuyers() {
  const SELLER = esp.address
  const lockOf = (over) => ({ sender: SELLER, receiver: ADDRESS, asset: 2, token: REGISTRY, amount: '7', hashlock: HASHLOCK, timelock: String(NOW + 7200n), ...over })
  const paymentLock = { sender: ADDRESS, receiver: SELLER, asset: 0, token: ZERO, amount: '5', hashlock: HASHLOCK, timelock: String(NOW + 3600n) }
  const results = {}
  for (const [name, over] of [['other_receiver', { receiver: MALLORY }], ['other_token', { amount: '8' }], ['other_hashlock', { hashlock: `0x${'cd'.repeat(32)}` }]]) {
    const trade = { id: 1, listing_id: 1, token_id: '7', seller: SELLER, buyer: ADDRESS, price: '5', status: 'payment_claimed', hashlock: HASHLOCK, asset_lock: lockOf(over), payment_lock: paymentLock, royalty_lock: null }
    const api = fakeApi({ 'GET /v1/trades/1': () => [200, trade] })
    const w = wallet()
    results[name] = [await outcome(sdk.claimToken(client(api, w), { tradeId: 1, intervalMs: 1 })), w.raw.length]
  }
  return results
}

/** test_register_refuses_delivery_metadata_its_esp_did_not_attest_before_the_bond */
export async function registerRefusesDeliveryMetadataItsEspDidNotAttestBeforeTheBond() {
  const { hashTypedData, keccak256: k } = await import('viem')
  const { registryAbi } = await import('../src/abis.js')
  const domain = { name: 'Proof-of-AIGC', version: '2', chainId: 31337, verifyingContract: REGISTRY }
  const types = { Attestation: [
    { name: 'taskId', type: 'bytes32' }, { name: 'producer', type: 'address' }, { name: 'contentHash', type: 'bytes32' },
    { name: 'fingerprint', type: 'bytes32' }, { name: 'detailHash', type: 'bytes32' }, { name: 'modelId', type: 'bytes32' }, { name: 'seed', type: 'uint256' },
  ] }
  const lock = { sender: ADDRESS, receiver: esp.address, asset: 0, token: ZERO, amount: '1000', hashlock: HASHLOCK, timelock: String(NOW + 3600n) }
  const values = { contentHash: `0x${'01'.repeat(32)}`, fingerprint: `0x${'02'.repeat(32)}`, detail: '0x0304', modelId: `0x${'05'.repeat(32)}`, seed: 5n }
  const id = sdk.lockId(sdk.toLock(lock))
  const attestation = await esp.signTypedData({ domain, types, primaryType: 'Attestation', message: {
    taskId: id, producer: ADDRESS, contentHash: values.contentHash, fingerprint: values.fingerprint, detailHash: k(values.detail), modelId: values.modelId, seed: values.seed,
  } })
  const taskWith = (over) => sdk.toTask({
    id: `0x${'aa'.repeat(32)}`, producer: ADDRESS, esp: esp.address, prompt: 'p', seed: 5, max_price: '1000', status: 'claimed', price: '1000',
    hashlock: HASHLOCK, deadline: Number(NOW) + 3600, quote_signature: null, lock, lock_id: id,
    delivery: { content_hash: values.contentHash, fingerprint: values.fingerprint, detail: values.detail, model_id: values.modelId, attestation, ...over },
  })
  const api = fakeApi({
    'POST /v1/tx/registry/commit': ({ body }) => [200, unsigned(REGISTRY, encodeFunctionData({ abi: registryAbi, functionName: 'commit', args: [body.commitment] }), 10n)],
    'POST /v1/tx/registry/reveal': ({ body }) => [200, unsigned(REGISTRY, encodeFunctionData({ abi: registryAbi, functionName: 'reveal', args: [
      { contentHash: body.content_hash, fingerprint: body.fingerprint, salt: body.salt, modelId: body.model_id, seed: BigInt(body.seed), metadataURI: body.metadata_uri },
      sdk.toLock(body.lock), body.detail, body.attestation] }))],
  })
  const chain = (lockStatus) => reader({
    readContract: async (args) => {
      if (args.functionName === 'parameters') return { registrationWindow: 7200n, bond: 10n, challengeDeposit: 20n }
      if (args.functionName === 'claimWindow') return 6480n // the HashTimeLock's, of a 7,200-block window
      if (args.functionName === 'lockInfo') return [lockStatus, 100n]
      if (args.functionName === 'attestationDigest') {
        const [taskId, producer, contentHash, fingerprint, detailHash, modelId, seed] = args.args
        return hashTypedData({ domain, types, primaryType: 'Attestation', message: { taskId, producer, contentHash, fingerprint, detailHash, modelId, seed } })
      }
      throw new Error(`no ${args.functionName}`)
    },
  })
  const results = {}
  for (const [name, over, status] of [
    ['other_fingerprint', { fingerprint: `0x${'09'.repeat(32)}` }, 2],
    ['other_detail', { detail: '0x0305' }, 2],
    ['forged_attestation', { attestation: await privateKeyToAccount(`0x${'33'.repeat(32)}`).signMessage({ message: 'x' }) }, 2],
    ['unpaid_lock', {}, 1],
    ['honest', {}, 2],
  ]) {
    const w = wallet()
    const c = client(api, w)
    c.publicClient = chain(status)
    const task = taskWith(over)
    results[name] = [await outcome(sdk.register(c, { task, contentHash: task.delivery.content_hash })), w.raw.length]
  }
  return results
}

/** A listing as the API serves it, its offer signed by `seller` under the Registry's domain. */
async function signedListing({ id, tokenId, seller, price, signer = seller }) {
  const message = { tokenId, seller: seller.address, price, expiry: NOW + 86_400n, nonce: 9n }
  const signature = await signer.signTypedData({
    domain: sdk.defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).offer, types: sdk.OFFER_TYPES, primaryType: 'Offer', message,
  })
  return { id, token_id: sdk.toBytes32Hex(tokenId), collection: REGISTRY, seller: seller.address, price: String(price), expiry: String(message.expiry), nonce: '9', signature, status: 'open' }
}

/** test_the_buyer_pays_only_the_offer_the_seller_signed_for_the_listing_it_bought */
export async function theBuyerPaysOnlyTheOfferTheSellerSignedForTheListingItBought() {
  const SELLER = esp.address
  const T1 = NOW + 7200n
  const assetLock = { sender: SELLER, receiver: ADDRESS, asset: 2, token: REGISTRY, amount: '7', hashlock: HASHLOCK, timelock: String(T1) }
  const tradeOf = (over) => ({ id: 1, listing_id: 1, token_id: `0x${'0'.repeat(63)}7`, seller: SELLER, buyer: ADDRESS, price: '5', status: 'asset_locked', hashlock: HASHLOCK, asset_lock: assetLock, payment_lock: null, royalty_lock: null, ...over })
  const legs = (amount) => [{ role: 'payment', receiver: SELLER, amount: String(amount),
    tx: unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [SELLER, HASHLOCK, T1 - 600n] }), amount) }]
  const honestListing = await signedListing({ id: 1, tokenId: 7n, seller: esp, price: 5n })
  const cases = {
    // the API raises the trade's price to 50 (and the legs with it): the seller signed 5
    raised_price: [tradeOf({ price: '50' }), honestListing, 50n],
    // the API serves a listing at 50 it signed itself, in the seller's name
    forged_offer: [tradeOf({ price: '50' }), { ...(await signedListing({ id: 1, tokenId: 7n, seller: esp, price: 50n, signer: privateKeyToAccount(`0x${'33'.repeat(32)}`) })) }, 50n],
    honest: [tradeOf({}), honestListing, 5n],
  }
  const results = {}
  for (const [name, [trade, listing, amount]] of Object.entries(cases)) {
    const api = fakeApi({
      'GET /v1/trades/1': () => [200, trade], 'GET /v1/listings/1': () => [200, listing],
      'POST /v1/trades/1/payment-tx': () => [200, { trade_id: 1, hashlock: HASHLOCK, timelock: String(T1 - 600n), locks: legs(amount) }],
    })
    const w = wallet()
    results[name] = [await outcome(sdk.payTrade(client(api, w), { tradeId: 1, intervalMs: 1 })), w.raw.length]
  }
  // buy asks for listing 2; the API opens the trade on listing 1 (another token, another price)
  const other = fakeApi({ 'POST /v1/trades': () => [201, tradeOf({ status: 'requested', asset_lock: null })] })
  results.other_listing = [await outcome(sdk.buy(client(other), { listingId: 2 })), 0]
  return results
}

/** test_the_seller_sells_only_at_the_price_it_offered */
export async function theSellerSellsOnlyAtThePriceItOffered() {
  const me = privateKeyToAccount(KEY)
  const BUYER = esp.address
  const listing = await signedListing({ id: 1, tokenId: 7n, seller: me, price: 5n })
  const cheap = { id: 1, listing_id: 1, token_id: `0x${'0'.repeat(63)}7`, seller: ADDRESS, buyer: BUYER, price: '1', hashlock: HASHLOCK, royalty_lock: null }
  // lockForSale: the API says the buyer's trade is at 1 wei (the seller offered 5)
  const w1 = wallet()
  const api1 = fakeApi({ 'GET /v1/listings/1': () => [200, listing] })
  const lock = await outcome(sdk.lockForSale(client(api1, w1), { trade: sdk.toTrade({ ...cheap, status: 'requested', asset_lock: null, payment_lock: null }) }))
  // claimPayment: the buyer locked 1 wei and the API says that is the price: claiming reveals the secret
  const assetLock = { sender: ADDRESS, receiver: BUYER, asset: 2, token: REGISTRY, amount: '7', hashlock: HASHLOCK, timelock: String(NOW + 7200n) }
  const paymentLock = { sender: BUYER, receiver: ADDRESS, asset: 0, token: ZERO, amount: '1', hashlock: HASHLOCK, timelock: String(NOW + 3600n) }
  const trade = { ...cheap, status: 'payment_locked', asset_lock: assetLock, payment_lock: paymentLock }
  const api2 = fakeApi({
    'GET /v1/trades/1': () => [200, trade], 'GET /v1/listings/1': () => [200, listing],
    'POST /v1/tx/locks/withdraw': ({ body }) => [200, unsigned(HTLC, encodeFunctionData({ abi: htlcAbi, functionName: 'withdraw', args: [sdk.toLock(body.lock), body.preimage] }))],
  })
  const w2 = wallet()
  const claim = await outcome(sdk.claimPayment(client(api2, w2), { tradeId: 1, preimage: `0x${'01'.repeat(32)}`, intervalMs: 1 }))
  const secretSent = api2.calls.filter((c) => c.path === '/v1/tx/locks/withdraw').length
  return { lock: [lock, w1.raw.length], claim: [claim, w2.raw.length, secretSent] }
}

/** test_the_fees_are_the_wallets_not_the_apis */
export async function theFeesAreTheWalletsNotTheApis() {
  const lock = sdk.toLock({ sender: esp.address, receiver: ADDRESS, asset: 0, token: ZERO, amount: '9', hashlock: HASHLOCK, timelock: String(NOW + 600n) })
  const pre = `0x${'01'.repeat(32)}`
  const data = encodeFunctionData({ abi: htlcAbi, functionName: 'withdraw', args: [lock, pre] })
  // the right call, with a 1,000 gwei tip for a builder the API colludes with
  const tx = { ...unsigned(HTLC, data), maxFeePerGas: String(2000n * 10n ** 9n), maxPriorityFeePerGas: String(1000n * 10n ** 9n) }
  const api = fakeApi({ 'POST /v1/tx/locks/withdraw': () => [200, tx] })
  const w = wallet()
  const r = await outcome(sdk.withdraw(client(api, w), lock, pre))
  const signed = parseTransaction(w.raw[0])
  return { r, priority: String(signed.maxPriorityFeePerGas), maxFee: String(signed.maxFeePerGas), gas: String(signed.gas) }
}
