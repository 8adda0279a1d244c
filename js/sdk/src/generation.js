// Generation openings (docs/provenance.md "Generation proofs"): the prompt and the seed an ESP
// generated a token's image with. A committee juror re-runs a published opening on its own copy
// of the model and votes "no copy" on a stage-3 match when it regenerates the accused image, so
// the accused producer publishes its own when its token is challenged. Publishing reveals the
// prompt: it is the producer's choice (mirrors services.provenance.juror.ApiOpeningPublisher).

import { AigcApiError, AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toBigInt, toBytes32Hex } from './numbers.js'

/** The task statuses whose delivery names the image (delivered, its fee claimed, registered). */
const DELIVERED = 'delivered,claimed,registered'
/** A page of the producer's tasks (the API's maximum). */
const TASKS_PAGE = 200

/**
 * A published generation opening, numbers as BigInt (`raw` keeps the API's JSON).
 * @typedef {object} GenerationOpening
 * @property {bigint} tokenId
 * @property {string} modelId the generator's model id the opening regenerates on
 * @property {string} prompt
 * @property {bigint} seed the seed the ESP generated with (its generation seed, not the requested one)
 * @property {import('./api-types.js').OpeningOut} raw
 */

/**
 * @param {import('./api-types.js').OpeningOut} o
 * @returns {GenerationOpening}
 */
export function toGenerationOpening(o) {
  return {
    tokenId: toBigInt(o.token_id, 'token_id'),
    modelId: String(o.model_id),
    prompt: String(o.prompt),
    seed: toBigInt(o.seed, 'seed'),
    raw: o,
  }
}

/**
 * The token's published generation opening (public), or null when none is published.
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId: import('./numbers.js').Numberish }} params
 * @returns {Promise<GenerationOpening | null>}
 */
export async function generationOpening(client, { tokenId }) {
  const id = toBigInt(tokenId, 'tokenId')
  try {
    return toGenerationOpening(await request(client, `/v1/products/${id}/generation`, { auth: false }))
  } catch (err) {
    if (err instanceof AigcApiError && err.status === 404 && err.code === 'not_found') {
      // "no product" and "no opening" are both 404 not_found: an unknown token has none either
      return null
    }
    throw err
  }
}

/**
 * The signed-in producer's delivered task whose image is the token (its delivery's content
 * hash is the token's id), read page by page from GET /v1/tasks; null when none is.
 * @param {import('./client.js').AigcClient} client
 * @param {bigint} tokenId
 * @returns {Promise<import('./api-types.js').TaskOut | null>}
 */
async function deliveredTask(client, tokenId) {
  const content = toBytes32Hex(tokenId).toLowerCase()
  /** @type {string | undefined} */
  let after
  for (;;) {
    /** @type {import('./api-types.js').Schemas['TasksOut']} */
    const page = await request(client, '/v1/tasks', { query: { role: 'producer', status: DELIVERED, limit: TASKS_PAGE, after } })
    for (const task of page.items) {
      const delivery = /** @type {Record<string, unknown> | null | undefined} */ (task.delivery)
      if (String(delivery?.content_hash ?? '').toLowerCase() === content) return task
    }
    if (!page.next) return null
    after = page.next
  }
}

/**
 * Publishes the generation opening of one of your own tokens (the accused's defence): the
 * prompt of your task whose delivery is the token's image and the generation seed its ESP
 * delivered with it (`delivery.generation_seed`), to PUT /v1/products/{tokenId}/generation. The
 * API regenerates the image from them and stores only an opening that reproduces it; the same
 * opening again is accepted (200). Publishing reveals the prompt.
 * Refusals: `no_generation` (AigcSdkError: no delivered task of yours is this token's image,
 * e.g. a token you bought), `no_generation_seed` (AigcSdkError: its delivery carries no
 * generation seed, an ESP worker older than generation proofs); the API's as AigcApiError with
 * its code: 409 `image_missing` (attach the image first: PUT /v1/products/{id}/image), 409
 * `opening_exists` (another opening is already published), 422 `not_reproduced` (the prompt and
 * seed do not regenerate the stored image), 422 `model_not_runnable` (the token's model is not
 * one the API can run), 404 `not_found` (no such product indexed yet).
 * @param {import('./client.js').AigcClient} client
 * @param {{ tokenId: import('./numbers.js').Numberish }} params
 * @returns {Promise<{ opening: GenerationOpening, taskId: `0x${string}` }>}
 */
export async function publishGenerationOpening(client, { tokenId }) {
  const id = toBigInt(tokenId, 'tokenId')
  const task = await deliveredTask(client, id)
  if (task === null) {
    throw new AigcSdkError('no_generation', `none of your delivered tasks is the image of token ${id}: you know no opening of it`)
  }
  const delivery = /** @type {Record<string, unknown>} */ (task.delivery)
  const seed = delivery.generation_seed
  if (typeof seed !== 'string' || !/^[0-9]{1,19}$/.test(seed)) {
    throw new AigcSdkError('no_generation_seed', `task ${task.id} delivered token ${id} without the seed its ESP generated with`)
  }
  if (!task.prompt) {
    throw new AigcSdkError('no_generation', `task ${task.id} has no prompt to publish`)
  }
  const out = toGenerationOpening(await request(client, `/v1/products/${id}/generation`, {
    method: 'PUT',
    json: { prompt: task.prompt, seed },
  }))
  if (out.tokenId !== id || out.prompt !== task.prompt || out.seed !== BigInt(seed)) {
    throw new AigcSdkError('opening_mismatch', `the API answered token ${id}'s publication with another opening`)
  }
  return { opening: out, taskId: /** @type {`0x${string}`} */ (String(task.id)) }
}
