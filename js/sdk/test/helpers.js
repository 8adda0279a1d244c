// Test doubles: an API that answers from a route table (recording every call), a wallet from a
// dev key (the stand-in for an injected wallet) whose transport refuses to send anything.

import { createWalletClient, custom, verifyTypedData } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createAigcClient } from '../src/index.js'

export const KEY = /** @type {`0x${string}`} */ (`0x${'11'.repeat(32)}`)
export const ADDRESS = '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A'
export const REGISTRY = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
export const ESP_REGISTRY = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'
export const HTLC = '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0'
export const HEALTH = {
  status: 'ok',
  chain_id: 31337,
  block: 1,
  contracts: { Registry: REGISTRY, EspRegistry: ESP_REGISTRY, HashTimeLock: HTLC },
}

/**
 * @param {Record<string, (req: { body: any, url: URL, headers: any }) => [number, any] | [number, any, Record<string, string>]>} routes
 *   keyed "METHOD /path"
 */
export function fakeApi(routes) {
  /** @type {{ method: string, path: string, body: any, headers: any }[]} */
  const calls = []
  /** @type {typeof fetch} */
  const fetchFn = async (input, init = {}) => {
    const url = new URL(String(input))
    const method = init.method ?? 'GET'
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : init.body
    calls.push({ method, path: url.pathname, body, headers: init.headers })
    // the deployment every signing step checks the wallet's chain against (HEALTH unless a
    // test serves its own)
    const handler = routes[`${method} ${url.pathname}`]
      ?? (`${method} ${url.pathname}` === 'GET /healthz' ? () => [200, HEALTH] : undefined)
    if (!handler) {
      return new Response(JSON.stringify({ error: { code: 'not_found', message: url.pathname } }), { status: 404 })
    }
    const [status, out, headers] = handler({ body, url, headers: init.headers })
    const payload = out instanceof Uint8Array || typeof out === 'string' ? out : JSON.stringify(out)
    return new Response(payload, { status, headers })
  }
  return { fetch: fetchFn, calls }
}

/** A wallet over a transport that records requests and refuses them (nothing may be sent). */
export function testWallet(key = KEY) {
  /** @type {any[]} */
  const sent = []
  const walletClient = createWalletClient({
    account: privateKeyToAccount(key),
    transport: custom({
      async request(args) {
        if (args.method === 'eth_chainId') return '0x7a69' // asking the network signs nothing
        sent.push(args)
        throw new Error(`unexpected RPC ${args.method}`)
      },
    }),
  })
  return { walletClient, sent }
}

/** A publicClient stand-in that verifies typed data locally (EOA signatures). */
export const localPublicClient = /** @type {any} */ ({
  getChainId: async () => 31337,
  verifyTypedData: (/** @type {any} */ args) => verifyTypedData(args),
  getBlock: async () => ({ timestamp: 1_700_000_000n }),
})

/**
 * @param {ReturnType<typeof fakeApi>} api
 * @param {any} [walletClient]
 */
export function client(api, walletClient = testWallet().walletClient) {
  const c = createAigcClient({
    baseUrl: 'http://api.test',
    publicClient: localPublicClient,
    walletClient,
    fetch: api.fetch,
  })
  c.session = { token: 't', address: ADDRESS, expiresAt: '' }
  return c
}
