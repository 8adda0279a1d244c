// Sign-In with Ethereum (EIP-4361): a server nonce, a message built by viem, the wallet's
// personal_sign, and the bearer token the API returns (kept on the client, nowhere else).

import { createSiweMessage } from 'viem/siwe'
import { request } from './http.js'
import { account, address, wallet } from './wallet.js'

/**
 * @param {import('./client.js').AigcClient} client
 * @param {{ statement?: string, ttlSeconds?: number, now?: Date }} [options]
 *   `ttlSeconds` sets the message's Expiration Time (default 600 s)
 * @returns {Promise<import('./client.js').Session>}
 */
export async function signIn(client, options = {}) {
  const { statement = 'Sign in to the AIGC marketplace.', ttlSeconds = 600 } = options
  const who = await address(client)
  const n = await request(client, '/v1/auth/nonce', { method: 'POST', auth: false })
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
  client.session = { token: out.token, address: out.address, expiresAt: String(out.expires_at) }
  return client.session
}

/**
 * Forgets the session (the token simply expires on the server).
 * @param {import('./client.js').AigcClient} client
 */
export function signOut(client) {
  client.session = null
}
