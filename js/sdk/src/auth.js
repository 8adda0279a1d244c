// Sign-In with Ethereum (EIP-4361): a server nonce, a message built by viem, the wallet's
// personal_sign, and the bearer token the API returns (kept on the client, nowhere else).

import { getAddress } from 'viem'
import { createSiweMessage } from 'viem/siwe'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { account, address, wallet } from './wallet.js'

/**
 * The host a sign-in (or delivery-key) message may name: `given`, else the client's `domain`
 * (createAigcClient's option), else the page's (in a browser), else the API's.
 * @param {import('./client.js').AigcClient} client
 * @param {string | undefined} [given]
 * @returns {string}
 */
export function expectedDomain(client, given) {
  if (given !== undefined) return given
  if (client.domain) return client.domain
  const page = /** @type {any} */ (globalThis).location
  if (page && typeof page.host === 'string' && page.host) return page.host
  return new URL(client.baseUrl).host
}

/**
 * Signs in: the API's nonce, an EIP-4361 message for the API's domain, URI and chain id, the
 * wallet's personal_sign. The domain must be `options.domain`, else the client's `domain`, else
 * the page's host (in a browser), else the API's host, and the URI on it (`siwe_wrong_domain`, nothing signed): a
 * phishing API would otherwise have the wallet sign a sign-in to another site and use it there.
 * The session the API returns must be the wallet's address (`siwe_wrong_address`).
 * @param {import('./client.js').AigcClient} client
 * @param {{ statement?: string, ttlSeconds?: number, now?: Date, domain?: string }} [options]
 *   `ttlSeconds` sets the message's Expiration Time (default 600 s); `domain` the host the dApp
 *   expects the API to sign in for (a dApp whose API lives on another host)
 * @returns {Promise<import('./client.js').Session>}
 */
export async function signIn(client, options = {}) {
  const { statement = 'Sign in to the AIGC marketplace.', ttlSeconds = 600 } = options
  const who = await address(client)
  const n = await request(client, '/v1/auth/nonce', { method: 'POST', auth: false })
  const domain = expectedDomain(client, options.domain)
  let uriHost = null
  try {
    uriHost = new URL(String(n.uri)).host
  } catch {
    // not a URL: refused below
  }
  if (n.domain !== domain || uriHost !== domain) {
    throw new AigcSdkError('siwe_wrong_domain', `the API asks to sign in to ${n.domain} (${n.uri}), not ${domain}: nothing was signed`)
  }
  const issuedAt = new Date(options.now ?? Date.now())
  issuedAt.setMilliseconds(0) // whole seconds, as RFC 3339 readers most often expect
  const message = createSiweMessage({
    domain: n.domain,
    address: who,
    statement,
    uri: n.uri,
    version: '1',
    chainId: Number(n.chain_id),
    nonce: n.nonce,
    issuedAt,
    expirationTime: new Date(issuedAt.getTime() + ttlSeconds * 1000),
  })
  const signature = await wallet(client).signMessage({ account: await account(client), message })
  const out = await request(client, '/v1/auth/verify', {
    method: 'POST',
    auth: false,
    json: { message, signature },
  })
  // The session is the signer's: an API answering with another account's token would have every
  // later call (and postTask's producer check, which reads the session) act as that account.
  let signedIn = null
  try {
    signedIn = getAddress(String(out.address))
  } catch {
    // not an address: refused below
  }
  if (signedIn !== getAddress(who)) {
    throw new AigcSdkError('siwe_wrong_address', `the API signed you in as ${out.address}, not as the wallet's ${who}`)
  }
  client.session = { token: out.token, address: signedIn, expiresAt: String(out.expires_at) }
  return client.session
}

/**
 * Forgets the session (the token simply expires on the server).
 * @param {import('./client.js').AigcClient} client
 */
export function signOut(client) {
  client.session = null
}
