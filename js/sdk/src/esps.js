// ESPs ranked by reputation from the signed-in producer's view.

import { getAddress } from 'viem'
import { request } from './http.js'
import { toBigInt } from './numbers.js'

/**
 * @typedef {object} Esp
 * @property {`0x${string}`} address
 * @property {string} endpoint
 * @property {bigint} price wei
 * @property {bigint} stake wei
 * @property {number} challengesLost
 * @property {number} reputation
 * @property {number} selectionProbability
 */

/**
 * Active ESPs with reputation and selection probability (your view when signed in).
 * @param {import('./client.js').AigcClient} client
 * @param {{ temperature?: number, floor?: number }} [options]
 * @returns {Promise<{ viewer: string, items: Esp[] }>}
 */
export async function listEsps(client, options = {}) {
  const out = await request(client, '/v1/esps', {
    auth: false,
    query: { temperature: options.temperature, floor: options.floor },
    ...(client.session ? { auth: true } : {}),
  })
  return {
    viewer: out.viewer,
    items: out.items.map((/** @type {import('./api-types.js').EspOut} */ e) => ({
      address: getAddress(e.address),
      endpoint: e.endpoint,
      price: toBigInt(e.price, 'price'),
      stake: toBigInt(e.stake, 'stake'),
      challengesLost: Number(e.challenges_lost),
      reputation: Number(e.reputation),
      selectionProbability: Number(e.selection_probability),
    })),
  }
}

/** The ranking as the API computes it: the same as listEsps, ordered best first. */
export const ranking = listEsps
