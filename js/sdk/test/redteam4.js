// Red team 4 at the SDK boundary: the scenarios tests/js/test_redteam4_sdk.py runs in node, each
// returning what happened (a refusal's code, how many transactions or signatures the wallet
// made) for the Python test to assert. A fake API (helpers.js) answers as a malicious one would.

import { createWalletClient, custom, encodeFunctionData, keccak256, parseAbi, verifyTypedData } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import * as sdk from '../src/index.js'
import { ADDRESS, ESP_REGISTRY, fakeApi, HEALTH, HTLC, KEY, REGISTRY } from './helpers.js'

const esp = privateKeyToAccount(`0x${'22'.repeat(32)}`)
const NOW = 1_700_000_000n
const HASHLOCK = `0x${'ab'.repeat(32)}`
const OTHER_REGISTRY = '0x000000000000000000000000000000000000bEEF'
const htlcAbi = parseAbi(['function lockEther(address receiver, bytes32 hashlock, uint64 timelock) payable returns (bytes32)'])

/** A wallet on chain 31337 that records the raw transactions and typed-data signatures it makes. */
function wallet() {
  const raw = []
  const account = privateKeyToAccount(KEY)
  const signed = []
  const walletClient = createWalletClient({
    account: {
      ...account,
      async signTypedData(args) { signed.push(args); return account.signTypedData(args) },
    },
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
  return { walletClient, raw, signed }
}

/** A chain reader on 31337 whose Registry window is a day and whose receipts succeed. */
function reader() {
  return {
    getChainId: async () => 31337,
    verifyTypedData: (args) => verifyTypedData(args),
    getBlock: async () => ({ timestamp: NOW }),
    readContract: async (args) => {
      if (args.functionName === 'parameters') return { registrationWindow: 7200n, bond: 10n, challengeDeposit: 20n }
      if (args.functionName === 'claimWindow') return 6480n // the HashTimeLock's, of a 7,200-block window
      throw new Error(`no ${args.functionName}`)
    },
    simulateContract: async (args) => ({ request: args }),
    waitForTransactionReceipt: async ({ hash }) => ({ status: 'success', transactionHash: hash }),
  }
}

function client(api, w) {
  const c = sdk.createAigcClient({ baseUrl: 'http://api.test', publicClient: reader(), walletClient: w.walletClient, fetch: api.fetch })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  return c
}

async function outcome(promise) {
  try { await promise; return 'done' } catch (e) { return e.code ?? `${e.name}: ${e.message}` }
}

const TASK_ID = `0x${'aa'.repeat(32)}`

/** The task JSON for `prompt` under `salt`, quoted by the ESP (its real EIP-712 signature). */
async function quotedJson(prompt, salt, over = {}) {
  const t = {
    id: TASK_ID, producer: ADDRESS, esp: esp.address, prompt, prompt_salt: salt,
    prompt_commitment: sdk.promptCommitment(prompt, salt), seed: '5', max_price: '2000000000000000', status: 'quoted',
    price: '1000000000000000', hashlock: HASHLOCK, deadline: Number(NOW) + 3600, quote_signature: null, lock: null,
    lock_id: null, delivery: null, ...over,
  }
  t.quote_signature = await esp.signTypedData({
    domain: sdk.defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).quote,
    types: sdk.QUOTE_TYPES, primaryType: 'Quote', message: sdk.quotedLock(sdk.toTask(t)),
  })
  return t
}

function lockRoutes(extra = {}) {
  const tx = {
    to: HTLC, data: encodeFunctionData({ abi: htlcAbi, functionName: 'lockEther', args: [esp.address, HASHLOCK, NOW + 3600n] }),
    value: '1000000000000000', chainId: 31337, gas: 210000, maxFeePerGas: '2000000000', maxPriorityFeePerGas: '1000000000', from: ADDRESS,
  }
  return { 'GET /healthz': () => [200, HEALTH], 'POST /v1/tx/locks/ether': () => [200, tx], ...extra }
}

/** test_pay_fee_refuses_a_quote_on_another_prompt_than_the_producers */
export async function payFeeRefusesAQuoteOnAnotherPromptThanTheProducers() {
  const mine = `0x${'01'.repeat(32)}`
  const theirs = `0x${'02'.repeat(32)}`
  const results = {}
  const sent = {}
  // posted through this client; the API then shows a task quoted on the operator's prompt (its
  // own prompt, salt and commitment, self-consistent)
  {
    const swapped = await quotedJson('the operator\'s prompt', theirs)
    const api = fakeApi(lockRoutes({
      'POST /v1/tasks': ({ body }) => [201, { ...swapped, prompt: body.prompt, prompt_salt: body.prompt_salt,
        prompt_commitment: sdk.promptCommitment(body.prompt, body.prompt_salt), status: 'posted', max_price: body.max_price }],
    }))
    const w = wallet()
    const c = client(api, w)
    await c.postTask({ prompt: 'my prompt', maxPrice: 2000000000000000n, esp: esp.address, promptSalt: mine })
    results.posted = await outcome(c.payFee({ task: sdk.toTask(swapped) }))
    sent.posted = w.raw.length
  }
  // a task posted elsewhere (another tab): its commitment must open with the prompt and salt shown
  for (const [name, json] of [
    ['elsewhere', { ...(await quotedJson('my prompt', mine)), prompt_commitment: sdk.promptCommitment('the operator\'s prompt', theirs) }],
    ['hidden', { ...(await quotedJson('my prompt', mine)), prompt: null, prompt_salt: null }],
    ['honest', await quotedJson('my prompt', mine)],
  ]) {
    const w = wallet()
    results[name] = await outcome(client(fakeApi(lockRoutes()), w).payFee({ task: sdk.toTask(json) }))
    sent[name] = w.raw.length
  }
  return { results, sent }
}

/** test_a_signing_domain_of_another_deployment_is_refused */
export async function aSigningDomainOfAnotherDeploymentIsRefused() {
  const deployment = (domain) => ({
    chain_id: '31337',
    contracts: { Registry: { address: REGISTRY }, EspRegistry: { address: ESP_REGISTRY }, HashTimeLock: { address: HTLC } },
    eip712: {
      Offer: { contract: 'Registry', domain, types: { Offer: sdk.OFFER_TYPES.Offer } },
      Quote: { contract: 'EspRegistry', domain: sdk.defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).quote },
    },
  })
  const own = sdk.defaultDomains(31337, { registry: REGISTRY, espRegistry: ESP_REGISTRY }).offer
  const cases = {
    other_registry: { ...own, verifyingContract: OTHER_REGISTRY },
    other_chain: { ...own, chainId: 1 },
    honest: own,
  }
  const results = {}
  const signatures = {}
  for (const [name, domain] of Object.entries(cases)) {
    const api = fakeApi({
      'GET /v1/deployment': () => [200, deployment(domain)],
      'POST /v1/listings': ({ body }) => [201, {
        id: 3, token_id: BigInt(body.token_id).toString(10), seller: ADDRESS, price: body.price, expiry: body.expiry,
        nonce: body.nonce, signature: body.signature, status: 'open',
      }],
    })
    const w = wallet()
    results[name] = await outcome(client(api, w).list({ tokenId: 7n, price: 1000n, expiry: NOW + 3600n, nonce: 1n }))
    signatures[name] = w.signed.length
  }
  return { results, signatures }
}

/** test_a_missing_parameter_is_a_named_sdk_error */
export async function aMissingParameterIsANamedSdkError() {
  const w = wallet()
  const c = client(fakeApi(lockRoutes()), w)
  /** @param {() => unknown} f */
  const named = async (f) => {
    try { await f(); return 'done' } catch (e) { return `${e.name}:${e.code ?? ''}` }
  }
  const out = {
    pay_no_params: await named(() => c.payFee()),
    pay_no_task: await named(() => c.payFee({})),
    get_task_no_id: await named(() => c.getTask()),
    list_no_price: await named(() => c.list({ tokenId: 1n })),
    standalone_no_client: await named(() => sdk.payFee({ task: {} })),
    standalone_no_params: await named(() => sdk.challenge(c)),
    withdraw_no_preimage: await named(() => c.withdraw({})),
    feedback_nothing: await named(() => c.feedback({ positive: true })),
    client_no_options: await named(() => sdk.createAigcClient()),
    client_no_reader: await named(() => sdk.createAigcClient({ baseUrl: 'http://api.test' })),
  }
  // still a promise: a caller's .catch() sees the refusal, nothing throws synchronously
  let sync = 'none'
  try { c.payFee().catch(() => {}) } catch { sync = 'threw' }
  return { out, sync, sent: w.raw.length, signed: w.signed.length }
}

/** test_open_delivery_shows_only_an_image_the_paid_esp_sealed_and_attested */
export async function openDeliveryShowsOnlyAnImageThePaidEspSealedAndAttested() {
  const { deliveryKeyMessage, espSealingKey, keyCommitment, seal } = await import('../src/delivery.js')
  const { readFileSync } = await import('node:fs')
  const { bytesToHex, sha256 } = await import('viem')
  const vectors = JSON.parse(readFileSync(new URL('./vectors/png.json', import.meta.url), 'utf8')).images
  const MALLORY_KEY = `0x${'77'.repeat(32)}`
  const mallory = privateKeyToAccount(MALLORY_KEY)
  const PREIMAGE = `0x${'5e'.repeat(32)}` // public on chain once the paid ESP claimed the fee
  const paid = { sender: ADDRESS, receiver: esp.address, asset: 'ETHER', token: '0x0000000000000000000000000000000000000000', amount: '1', hashlock: sha256(PREIMAGE), timelock: 1 }
  const digest = `0x${'d1'.repeat(32)}`
  const results = {}
  for (const [name, sealer, sealerKey, image, attester] of [
    ['api_named_esp', mallory, MALLORY_KEY, 2, mallory], // the API names its own account as the ESP and seals its image
    // the paid ESP sealed another image than it attested; the API rewrote the delivery's
    // content hash to the sealed image's, with an attestation that is not the ESP's over it
    ['rewritten_meta', esp, `0x${'22'.repeat(32)}`, 2, mallory],
    ['paid_esp', esp, `0x${'22'.repeat(32)}`, 0, esp],
  ]) {
    const message = deliveryKeyMessage({ address: ADDRESS, chainId: 31337, domain: 'api.test' })
    const state = {}
    const api = fakeApi({
      'GET /healthz': () => [200, HEALTH],
      [`GET /v1/accounts/${ADDRESS}/delivery-key`]: () => [200, { address: ADDRESS, delivery_key: null, message, chain_id: 31337, domain: 'api.test' }],
      [`GET /v1/accounts/${sealer.address}`]: () => [200, { address: sealer.address, public_key: sealer.publicKey }],
      [`GET /v1/tasks/${TASK_ID}/sealed`]: () => [200, state.sealed],
    })
    const w = wallet()
    const c = sdk.createAigcClient({ baseUrl: 'http://api.test', walletClient: w.walletClient, fetch: api.fetch, publicClient: {
      getChainId: async () => 31337,
      readContract: async (a) => (a.functionName === 'attestationDigest' ? digest : [2, 5n]),
      getBlockNumber: async () => 9n,
      getContractEvents: async () => [{ args: { preimage: PREIMAGE } }],
    } })
    c.session = { token: 't', address: ADDRESS, expiresAt: '' }
    const recipient = (await c.deriveDeliveryKey()).publicKeyHex // public: the API serves it to every ESP
    const key = espSealingKey({ espPrivateKey: sealerKey, recipientPublicKey: recipient, preimage: PREIMAGE, taskId: TASK_ID })
    const png = new Uint8Array(Buffer.from(vectors[image].png_base64, 'base64'))
    state.sealed = seal({ plaintext: png, key, taskId: TASK_ID, recipientPublicKey: recipient })
    const task = sdk.toTask({
      id: TASK_ID, producer: ADDRESS, esp: sealer.address, prompt: 'p', seed: 1, max_price: '1', status: 'claimed', price: '1',
      hashlock: paid.hashlock, deadline: 1, quote_signature: null, lock: paid, lock_id: null,
      delivery: {
        content_hash: vectors[image].content_hash, key_commitment: bytesToHex(keyCommitment(key)), fingerprint: `0x${'0f'.repeat(32)}`,
        detail: `0x${'d0'.repeat(96)}`, model_id: `0x${'4d'.repeat(32)}`, attestation: await attester.sign({ hash: digest }),
      },
    })
    try {
      const opened = await c.openDelivery({ task })
      results[name] = opened.contentHash === vectors[2].content_hash ? 'shown: the API\'s image' : 'shown: the paid image'
    } catch (e) { results[name] = e.code ?? `${e.name}: ${e.message}` }
  }
  return results
}

/** test_pay_fee_refuses_a_quote_the_esp_registry_cannot_acknowledge */
export async function payFeeRefusesAQuoteTheEspRegistryCannotAcknowledge() {
  const salt = `0x${'01'.repeat(32)}`
  const json = await quotedJson('my prompt', salt)
  // a contract ESP's EIP-1271 quote: its isValidSignature says yes (the node's verifyTypedData
  // is true), but EspRegistry.acknowledge recovers an ECDSA signer only, and reverts
  json.quote_signature = `0x${'ff'.repeat(100)}`
  const w = wallet()
  const c = client(fakeApi(lockRoutes()), w)
  c.publicClient = { ...c.publicClient, verifyTypedData: async () => true }
  const contract = await outcome(c.payFee({ task: sdk.toTask(json) }))
  const contractSent = w.raw.length
  const honest = wallet()
  const h = client(fakeApi(lockRoutes()), honest)
  const eoa = await outcome(h.payFee({ task: sdk.toTask(await quotedJson('my prompt', salt)) }))
  return { contract, contractSent, eoa, eoaSent: honest.raw.length }
}

/** test_sign_in_refuses_a_session_for_another_account */
export async function signInRefusesASessionForAnotherAccount() {
  const out = {}
  for (const [name, who] of [['other', '0x000000000000000000000000000000000000dEaD'], ['garbage', 'me'], ['lowercase', ADDRESS.toLowerCase()]]) {
    const api = fakeApi({
      'POST /v1/auth/nonce': () => [200, { nonce: 'abcdefgh12345678', domain: 'api.test', uri: 'http://api.test', chain_id: 31337 }],
      'POST /v1/auth/verify': () => [200, { token: 't', address: who, expires_at: 1 }],
    })
    const w = wallet()
    const c = sdk.createAigcClient({ baseUrl: 'http://api.test', publicClient: reader(), walletClient: w.walletClient, fetch: api.fetch })
    const r = await outcome(c.signIn())
    out[name] = r === 'done' ? `session ${c.session.address}` : r
  }
  return out
}

/** test_a_listing_at_price_zero_or_beyond_the_apis_bound_is_never_signed */
export async function aListingAtPriceZeroOrBeyondTheApisBoundIsNeverSigned() {
  const results = {}
  const signatures = {}
  for (const [name, price] of [['zero', 0n], ['two_pow_128', 2n ** 128n], ['one_wei', 1n]]) {
    const api = fakeApi({
      'GET /healthz': () => [200, HEALTH],
      'POST /v1/listings': ({ body }) => (BigInt(body.price) === 0n || BigInt(body.price) >= 2n ** 128n
        ? [422, { error: { code: 'validation_error', message: 'price' } }]
        : [201, { id: 3, token_id: '7', seller: ADDRESS, price: body.price, expiry: body.expiry, nonce: body.nonce, signature: body.signature, status: 'open' }]),
    })
    const w = wallet()
    results[name] = await outcome(client(api, w).list({ tokenId: 7n, price, expiry: NOW + 3600n, nonce: 1n }))
    signatures[name] = w.signed.length
  }
  return { results, signatures }
}
