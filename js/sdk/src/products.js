// Reads for galleries and marketplaces: registered products with their provenance, listings.

import { getAddress } from 'viem'
import { AigcSdkError } from './errors.js'
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
 * Publishes a token's image: its PNG bytes to PUT /v1/products/{tokenId}/image (multipart field
 * `image`). Any signed-in account may, when the bytes hash to the token (a plagiarist's copy
 * whose bytes were never attached is attached by its victim, for the jurors). Buyers see it, the
 * market's attestation check recomputes the fingerprint and detail descriptor from it, committee
 * jurors compare it, and a generation opening is checked against it (409 `image_missing` before).
 * Publishing the same image again is accepted. Refusals: `not_png` (AigcSdkError: the bytes are
 * not a PNG), `product_mismatch` (AigcSdkError: the API answered with another token); the API's
 * as AigcApiError with its code: 422 `hash_mismatch` (the image's canonical content hash is not
 * the token's: another image), 401 (not signed in), 404 `not_found` (no such product indexed
 * yet), 413 `payload_too_large`, 415 `unsupported_media_type`, 422 `degenerate_image`, 429 `rate_limited`.
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId: import('./numbers.js').Numberish, image: Blob | Uint8Array }} params
 * @returns {Promise<Product>} the product as the API has it now (`hasImage` true, `raw.attestation`
 *   "matches" or "mismatch")
 */
export async function publishImage(client, { tokenId, image }) {
  const id = toBigInt(tokenId, 'tokenId')
  const bytes = image instanceof Uint8Array ? image : new Uint8Array(await image.arrayBuffer())
  const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new AigcSdkError('not_png', 'the image is not a PNG')
  }
  const form = new FormData()
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), `${id.toString(16)}.png`)
  const out = toProduct(await request(client, `/v1/products/${id}/image`, { method: 'PUT', form }))
  if (out.tokenId !== id) {
    throw new AigcSdkError('product_mismatch', `the API answered token ${id}'s image with token ${out.tokenId}`)
  }
  return out
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
