// The client: where the API is, the viem clients that read the chain and sign, and the session.
// All state lives on the object createAigcClient returns; nothing is global.

/**
 * @typedef {object} Session
 * @property {string} token the API's bearer token
 * @property {`0x${string}`} address the signed-in address
 * @property {string} expiresAt
 */

/**
 * @typedef {object} AigcClient
 * @property {string} baseUrl
 * @property {import('viem').PublicClient} publicClient reads the chain (receipts, logs, views)
 * @property {import('viem').WalletClient | undefined} walletClient signs (sign-in, offers, txs)
 * @property {typeof fetch} fetch
 * @property {Session | null} session
 * @property {{ deployment?: import('./deployment.js').Deployment,
 *   deliveryKey?: import('./delivery.js').DeliveryKey, deliveryKeyRegistered?: boolean }} cache
 *   per-client caches (the delivery key stays in memory, on this object only)
 */

/**
 * @param {{ baseUrl: string, publicClient: import('viem').PublicClient,
 *   walletClient?: import('viem').WalletClient, fetch?: typeof fetch }} options
 * @returns {AigcClient}
 */
export function createClientState({ baseUrl, publicClient, walletClient, fetch: fetchFn }) {
  if (!baseUrl) throw new TypeError('baseUrl is required')
  if (!publicClient) throw new TypeError('publicClient is required')
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    publicClient,
    walletClient,
    fetch: fetchFn ?? globalThis.fetch.bind(globalThis),
    session: null,
    cache: {},
  }
}
