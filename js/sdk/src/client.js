// The client: where the API is, the viem clients that read the chain and sign, and the session.
// All state lives on the object createAigcClient returns; nothing is global.

import { AigcSdkError } from './errors.js'

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
 * @property {string | null} domain the host the API must sign in (and derive delivery keys) for,
 *   when it is not the page's (in a browser) or the API's own
 * @property {Record<string, any> | null} trustedDeployment a deployment manifest the dApp ships
 *   (`{ chain_id, contracts: { Registry: { address }, ... } }`): the API's must match it
 * @property {{ deployment?: import('./deployment.js').Deployment,
 *   deliveryKey?: import('./delivery.js').DeliveryKey, deliveryKeyRegistered?: boolean }} cache
 *   per-client caches (the delivery key stays in memory, on this object only)
 * @property {Map<string, { maxPrice: bigint, esp: `0x${string}` | null, commitment?: `0x${string}` }>} posted
 *   what the user asked of each task it posted through this client (by task id), and the prompt
 *   commitment it computed: payFee holds the quote to it
 * @property {Map<number, number>} bought the listing each trade `buy` opened through this client
 *   was asked for (by trade id): payTrade pays only that listing's offer
 */

/**
 * @param {{ baseUrl: string, publicClient: import('viem').PublicClient,
 *   walletClient?: import('viem').WalletClient, fetch?: typeof fetch,
 *   deployment?: Record<string, any>, domain?: string }} options
 * @returns {AigcClient}
 */
export function createClientState(options) {
  if (options === null || typeof options !== 'object') {
    throw new AigcSdkError('missing_param', 'createAigcClient takes an options object ({ baseUrl, publicClient, walletClient? })')
  }
  const { baseUrl, publicClient, walletClient, fetch: fetchFn, deployment, domain } = options
  if (!baseUrl || typeof baseUrl !== 'string') throw new AigcSdkError('missing_param', 'createAigcClient needs options.baseUrl (the API\'s URL)')
  if (!publicClient) throw new AigcSdkError('missing_param', 'createAigcClient needs options.publicClient (a viem PublicClient)')
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    publicClient,
    walletClient,
    fetch: fetchFn ?? globalThis.fetch.bind(globalThis),
    session: null,
    domain: domain ?? null,
    trustedDeployment: deployment ?? null,
    cache: {},
    posted: new Map(),
    bought: new Map(),
  }
}
