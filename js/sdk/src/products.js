// Reads for galleries and marketplaces: registered products with their provenance, listings.

import { getAddress } from 'viem'
import { request } from './http.js'
import { toListing } from './market.js'
import { toBigInt } from './numbers.js'

/**
 * A registered image, numbers as BigInt (`raw` keeps the API's JSON, history included).
 * @typedef {object} Product
 * @property {bigint} tokenId
 * @property {`0x${string}`} producer
 * @property {`0x${string}`} owner
 * @property {`0x${string}`} esp
 * @property {bigint} seed
 * @property {number} registeredBlock
 * @property {number} priorityBlock
 * @property {string} status 'active' or 'revoked'
 * @property {boolean} hasImage
 * @property {Record<string, any>} raw
 */

/**
 * @param {import('./api-types.js').ProductOut} p
 * @returns {Product}
 */
export function toProduct(p) {
  return {
    tokenId: toBigInt(p.token_id, 'token_id'),
    producer: getAddress(p.producer),
    owner: getAddress(p.owner),
    esp: getAddress(p.esp),
    seed: toBigInt(p.seed, 'seed'),
    registeredBlock: Number(p.registered_block),
    priorityBlock: Number(p.priority_block),
    status: p.status,
    hasImage: Boolean(p.has_image),
    raw: p,
  }
}

/**
 * One product with its provenance and history (public).
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId: import('./numbers.js').Numberish }} params
 * @returns {Promise<Product>}
 */
export async function getProduct(client, { tokenId }) {
  return toProduct(await request(client, `/v1/products/${toBigInt(tokenId, 'tokenId')}`, { auth: false }))
}

/**
 * Registered products, newest first (public).
 * @param {import('./client.js').AigcClient} client
 * @param {{ owner?: `0x${string}`, status?: 'active' | 'revoked', limit?: number, offset?: number }} [params]
 * @returns {Promise<Product[]>}
 */
export async function listProducts(client, params = {}) {
  const out = await request(client, '/v1/products', { auth: false, query: params })
  return out.items.map(toProduct)
}

/**
 * Listings by status (open by default), newest first (public).
 * @param {import('./client.js').AigcClient} client
 * @param {{ status?: 'open' | 'sold' | 'cancelled', limit?: number, token_id?: string, seller?: `0x${string}`,
 *   collection?: `0x${string}` }} [params] `collection`: only the Registry's or only the BatchRegistry's
 * @returns {Promise<import('./market.js').Listing[]>}
 */
export async function listListings(client, params = {}) {
  const out = await request(client, '/v1/listings', { auth: false, query: params })
  return out.items.map(toListing)
}
