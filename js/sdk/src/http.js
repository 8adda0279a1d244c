// One HTTP call to the API with the client's bearer token; errors become AigcApiError.

import { AigcApiError } from './errors.js'
import { stringifyJson } from './numbers.js'

/**
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {unknown} [json] a JSON body (BigInt values are sent as decimal strings)
 * @property {FormData} [form] a multipart body
 * @property {Record<string, string | number | bigint | undefined>} [query]
 * @property {boolean} [auth] send the bearer token (default true)
 * @property {'json' | 'bytes'} [as] how to read the answer (default json)
 */

/**
 * @param {import('./client.js').AigcClient} client
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<any>}
 */
export async function request(client, path, options = {}) {
  const { method = 'GET', json, form, query, auth = true, as = 'json' } = options
  const url = new URL(path.replace(/^\//, ''), client.baseUrl.endsWith('/') ? client.baseUrl : `${client.baseUrl}/`)
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined) url.searchParams.set(k, String(v))
  }
  /** @type {Record<string, string>} */
  const headers = { accept: as === 'json' ? 'application/json' : '*/*' }
  /** @type {BodyInit | undefined} */
  let body
  if (json !== undefined) {
    headers['content-type'] = 'application/json'
    body = stringifyJson(json)
  } else if (form !== undefined) {
    body = form
  }
  if (auth) {
    if (!client.session) throw new AigcApiError(401, 'not_signed_in', 'call signIn first')
    headers.authorization = `Bearer ${client.session.token}`
  }
  const resp = await client.fetch(url, { method, headers, body })
  if (!resp.ok) throw await toError(resp)
  if (as === 'bytes') return new Uint8Array(await resp.arrayBuffer())
  return resp.json()
}

/**
 * @param {Response} resp
 * @returns {Promise<AigcApiError>}
 */
async function toError(resp) {
  const text = await resp.text()
  const header = resp.headers.get('retry-after')
  const retryAfter = header !== null && /^[0-9]+$/.test(header.trim()) ? Number(header) : null
  try {
    const err = JSON.parse(text).error
    if (err && typeof err.code === 'string') {
      const fields = err.fields !== null && typeof err.fields === 'object' && !Array.isArray(err.fields) ? err.fields : null
      return new AigcApiError(resp.status, err.code, String(err.message), err.details, retryAfter, fields)
    }
  } catch {
    // not the envelope: fall through
  }
  return new AigcApiError(resp.status, 'http_error', text.slice(0, 200), undefined, retryAfter)
}
