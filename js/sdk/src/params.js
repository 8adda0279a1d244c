// What each action needs before it does anything: a client, a parameter object and the fields
// it cannot go without. A call missing one is an AigcSdkError with a stable code, not a bare
// TypeError from deep inside ("Cannot destructure property 'task' of 'undefined'").

import { AigcSdkError } from './errors.js'

/**
 * The fields each action's parameter object must have (not undefined, not null). An action
 * missing here takes no parameter object (signOut) or only optional ones (listProducts).
 * @type {Record<string, readonly string[]>}
 */
export const REQUIRED = {
  getProduct: ['tokenId'],
  publishImage: ['tokenId', 'image'],
  generationOpening: ['tokenId'],
  publishGenerationOpening: ['tokenId'],
  postTask: ['prompt', 'maxPrice'],
  getTask: ['taskId'],
  waitForTask: ['taskId', 'status'],
  waitForDelivery: ['taskId'],
  payFee: ['task'],
  openDelivery: ['task'],
  reportFraud: ['taskId', 'key'],
  revealedPreimage: ['lock'],
  register: ['task'],
  challenge: ['original', 'duplicate'],
  contest: ['original', 'duplicate'],
  requestReview: ['original', 'duplicate'],
  drawReview: ['original', 'duplicate'],
  finalize: ['original', 'duplicate'],
  resolve: ['original', 'duplicate'],
  list: ['tokenId', 'price'],
  resell: ['tokenId', 'price'],
  buy: ['listingId'],
  getTrade: ['tradeId'],
  waitForTrade: ['tradeId', 'status'],
  lockForSale: ['trade'],
  payTrade: ['tradeId'],
  claimPayment: ['tradeId', 'preimage'],
  claimToken: ['tradeId'],
  collectRoyalty: ['lockId', 'lock', 'preimage'],
  addStake: ['amount'],
  feedback: ['positive'],
  checkBatchAttestation: ['attestation'],
  getBatch: ['batchId'],
  getBatchProof: [],
  publishBatchManifest: ['batchId', 'items'],
  registerBatch: ['attestation'],
  preflightBatch: ['attestation'],
  prepareBatchCommit: ['attestation'],
  prepareBatchReveal: ['attestation'],
  challengeBatch: ['original', 'duplicate'],
  contestBatch: ['original', 'duplicate'],
  resolveBatch: ['original', 'duplicate'],
  finalizeBatch: ['original', 'duplicate'],
  settleBatch: ['original', 'duplicate'],
  courtChallenge: ['original', 'duplicate'],
  courtContest: ['original', 'duplicate'],
  courtResolve: ['original', 'duplicate'],
  courtFinalize: ['original', 'duplicate'],
  courtSettle: ['original', 'duplicate'],
  courtRevokeDuplicateImage: ['item', 'single'],
  courtRevokeDuplicateItem: ['first', 'second'],
  courtReinstate: ['original', 'duplicate'],
  getCourtDispute: ['original', 'duplicate'],
}

/**
 * Why `args` cannot be an action's arguments, or null when they can.
 * @param {string} name
 * @param {unknown[]} args the client, then the action's own arguments
 * @returns {AigcSdkError | null}
 */
export function checkArgs(name, args) {
  const [client, params] = args
  const c = /** @type {any} */ (client)
  if (!c || typeof c !== 'object' || typeof c.baseUrl !== 'string' || typeof c.fetch !== 'function') {
    return new AigcSdkError('missing_client', `${name}(client, ...) takes the client createAigcClient made first (or call client.${name}(...))`)
  }
  if (name === 'withdraw' && (params === null || typeof params !== 'object' || !args[2])) {
    return new AigcSdkError('missing_param', 'withdraw takes (client, lock, preimage): the lock\'s terms and its 32-byte preimage')
  }
  const required = REQUIRED[name]
  if (required === undefined) return null
  if (params === null || typeof params !== 'object') {
    const fields = required.length > 0 ? ` ({ ${required.join(', ')} })` : ''
    return new AigcSdkError('missing_param', `${name} takes a parameter object${fields}, got ${params === null ? 'null' : typeof params}`)
  }
  const p = /** @type {Record<string, unknown>} */ (params)
  const missing = required.filter((k) => p[k] === undefined || p[k] === null)
  if (missing.length > 0) {
    return new AigcSdkError('missing_param', `${name} needs ${missing.map((k) => `params.${k}`).join(' and ')}`)
  }
  if (name === 'feedback' && (p.task === undefined || p.task === null) && (p.lock === undefined || p.lock === null)) {
    return new AigcSdkError('missing_param', 'feedback needs params.task or params.lock')
  }
  return null
}

/**
 * `fn` (an action: it returns a promise) refusing, as a rejected promise, a call without a
 * client, a parameter object or a required field ({@link REQUIRED}).
 * @template {(...args: any[]) => any} F
 * @param {string} name
 * @param {F} fn
 * @returns {F}
 */
export function guard(name, fn) {
  const guarded = /** @type {F} */ (/** @type {unknown} */ ((/** @type {unknown[]} */ ...args) => {
    const refusal = checkArgs(name, args)
    return refusal === null ? fn(...args) : Promise.reject(refusal)
  }))
  Object.defineProperty(guarded, 'name', { value: name })
  return guarded
}

/**
 * Every action of `actions` guarded under its own name.
 * @template {Record<string, (...args: any[]) => any>} T
 * @param {T} actions
 * @returns {T}
 */
export function guardAll(actions) {
  return /** @type {T} */ (Object.fromEntries(Object.entries(actions).map(([name, fn]) => [name, guard(name, fn)])))
}
