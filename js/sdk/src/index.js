// @aigc/sdk: the AIGC marketplace from JavaScript, on viem. Small actions that take the client
// first (viem's style); createAigcClient also binds them as methods.

import * as auth from './auth.js'
import * as batchActions from './batch_actions.js'
import * as batchAttestation from './batch_attestation.js'
import * as court from './batch_court.js'
import * as batchReads from './batch_reads.js'
import { createClientState } from './client.js'
import * as committee from './committee.js'
import * as deployment from './deployment.js'
import * as generation from './generation.js'
import * as esps from './esps.js'
import * as market from './market.js'
import * as delivery from './delivery_actions.js'
import { guardAll } from './params.js'
import * as products from './products.js'
import * as registry from './registry.js'
import * as tasks from './tasks.js'

// The actions, each refusing a call without a client, a parameter object or a required field
// (AigcSdkError missing_client / missing_param: params.js) before it does anything.
const ACTIONS = guardAll({
  signIn: auth.signIn,
  getDeployment: deployment.getDeployment,
  listEsps: esps.listEsps,
  ranking: esps.ranking,
  getProduct: products.getProduct,
  publishImage: products.publishImage,
  listProducts: products.listProducts,
  listListings: products.listListings,
  generationOpening: generation.generationOpening,
  publishGenerationOpening: generation.publishGenerationOpening,
  postTask: tasks.postTask,
  getTask: tasks.getTask,
  waitForTask: tasks.waitForTask,
  waitForDelivery: tasks.waitForDelivery,
  payFee: tasks.payFee,
  feedback: tasks.feedback,
  revealedPreimage: tasks.revealedPreimage,
  registerDeliveryKey: delivery.registerDeliveryKey,
  deriveDeliveryKey: delivery.deriveKey,
  openDelivery: delivery.openDelivery,
  reportFraud: delivery.reportFraud,
  register: registry.register,
  challenge: registry.challenge,
  contest: registry.contest,
  finalize: registry.finalize,
  resolve: registry.resolve,
  requestReview: committee.requestReview,
  drawReview: committee.drawReview,
  list: market.list,
  resell: market.resell,
  buy: market.buy,
  getTrade: market.getTrade,
  waitForTrade: market.waitForTrade,
  lockForSale: market.lockForSale,
  payTrade: market.payTrade,
  claimPayment: market.claimPayment,
  claimToken: market.claimToken,
  withdraw: market.withdraw,
  collectRoyalty: market.collectRoyalty,
  addStake: esps.addStake,
  checkBatchAttestation: batchAttestation.checkBatchAttestation,
  getBatch: batchReads.getBatch,
  getBatchProof: batchReads.getBatchProof,
  publishBatchManifest: batchReads.publishBatchManifest,
  registerBatch: batchActions.registerBatch,
  preflightBatch: batchActions.preflightBatch,
  prepareBatchCommit: batchActions.prepareBatchCommit,
  prepareBatchReveal: batchActions.prepareBatchReveal,
  challengeBatch: batchActions.challengeBatch,
  contestBatch: batchActions.contestBatch,
  resolveBatch: batchActions.resolveBatch,
  finalizeBatch: batchActions.finalizeBatch,
  settleBatch: court.settleBatch,
  courtChallenge: court.courtChallenge,
  courtContest: court.courtContest,
  courtResolve: court.courtResolve,
  courtFinalize: court.courtFinalize,
  courtSettle: court.courtSettle,
  courtRevokeDuplicateImage: court.courtRevokeDuplicateImage,
  courtRevokeDuplicateItem: court.courtRevokeDuplicateItem,
  courtReinstate: court.courtReinstate,
  getCourtDispute: court.getCourtDispute,
  claimMisattested: court.claimMisattested,
  finalizeMisattested: court.finalizeMisattested,
  getMisattestation: court.getMisattestation,
  misattestationCost: court.misattestationCost,
})

export const {
  signIn, getDeployment, listEsps, ranking, getProduct, publishImage, listProducts, listListings, generationOpening,
  publishGenerationOpening, postTask, getTask, waitForTask, waitForDelivery, payFee, feedback, revealedPreimage,
  registerDeliveryKey, deriveDeliveryKey, openDelivery, reportFraud, register, challenge, contest, finalize, resolve,
  requestReview, drawReview, list, resell, buy, getTrade, waitForTrade, lockForSale, payTrade, claimPayment, claimToken,
  withdraw, collectRoyalty, addStake, checkBatchAttestation, getBatch, getBatchProof, publishBatchManifest, registerBatch, preflightBatch,
  prepareBatchCommit, prepareBatchReveal, challengeBatch, contestBatch, resolveBatch, finalizeBatch, settleBatch,
  courtChallenge, courtContest, courtResolve, courtFinalize, courtSettle, courtRevokeDuplicateImage, courtRevokeDuplicateItem, courtReinstate,
  getCourtDispute, claimMisattested, finalizeMisattested, getMisattestation, misattestationCost,
} = ACTIONS
/** Forgets the session (the token simply expires on the server). */
export const signOut = auth.signOut

export { AigcApiError, AigcContractError, AigcSdkError, ChallengeOpenError, ClaimTooLateError, ClaimWindowClosedError, PaymentAmountError } from './errors.js'
export { checkCall } from './wallet.js'
export { describeReclaimable, NESTED_ERRORS, reclaimableUntil, revertData, toContractError } from './reverts.js'
export { ASSETS, lockId, lockToApi, newSecret, toLock, ZERO_ADDRESS } from './locks.js'
export { stringifyJson, toBigInt, toBytes32Hex, toDecimal, toTaskId, toTradeId } from './numbers.js'
export { defaultDomains, OFFER_TYPES, QUOTE_TYPES } from './deployment.js'
export { commitment } from './registry.js'
export { committeeAbi, reviewKey } from './committee.js'
export { espStakeAbi } from './esps.js'
export {
  batchCommitment, buildBatch, fingerprintLeaf, fingerprintsHash, isDegenerateFingerprint, itemLeaf, merkleProof, merkleRoot,
  orderedProof, orderedProofs, orderedRoot, sortItemsByFingerprint, splitTokenId, tokenId, verifyOrderedProof, verifyProof,
} from './batch.js'
export { BATCH_ATTESTATION_TYPES, batchAttestationDigest, batchAttestationTypedData, parseBatchAttestation } from './batch_attestation.js'
export { batchCommitCall, batchRegistryAbi, batchRevealCall, lockInfoAbi } from './batch_actions.js'
export { toBatch } from './batch_reads.js'
export { batchCourtAbi, courtAddress, DISPUTE_STATES, itemRecordHash } from './batch_court.js'
export { decodePng, pngContentHash } from './content.js'
export { contentHash, deliveryKeyMessage, keyCommitment } from './delivery.js'
export { DeliveryMismatchError } from './delivery_actions.js'
export { latestQuoteDeadline, PROMPT_TAG, promptCommitment, quotedLock, SECONDS_PER_BLOCK, toTask } from './tasks.js'
export { CLAIM_MARGIN_BLOCKS, CLAIM_MARGIN_S, collectionAbi, collectionOf, PAYMENT_MARGIN_S, sellerShare, toListing, toTrade } from './market.js'
export { toProduct } from './products.js'
export { toGenerationOpening } from './generation.js'

/**
 * @template F
 * @typedef {F extends (c: any, ...a: infer A) => infer R ? (...a: A) => R : never} OmitClient
 */

/**
 * @template {(client: import('./client.js').AigcClient, ...args: any[]) => any} F
 * @param {import('./client.js').AigcClient} client
 * @param {F} fn
 * @returns {(...args: F extends (c: any, ...a: infer A) => any ? A : never) => ReturnType<F>}
 */
function bind(client, fn) {
  return (...args) => fn(client, ...args)
}

/**
 * A client of the marketplace API at `baseUrl`, reading the chain with `publicClient` and
 * signing with `walletClient` (any viem WalletClient: an injected wallet, a smart account,
 * or a local account in tests). Its session (the bearer token) lives on the returned object.
 * `deployment` pins the contracts (a deployment manifest, `.aigc/deployments/<chain id>.json`):
 * the API's deployment must then name the same ones (`deployment_mismatch`). `domain` is the host
 * the API signs in and derives delivery keys for, where it is neither the page's nor the API's.
 * @param {{ baseUrl: string, publicClient: import('viem').PublicClient,
 *   walletClient?: import('viem').WalletClient, fetch?: typeof fetch,
 *   deployment?: Record<string, any>, domain?: string }} options
 */
export function createAigcClient(options) {
  const client = createClientState(options)
  const bound = Object.fromEntries(Object.entries(ACTIONS).map(([name, fn]) => [name, bind(client, fn)]))
  return Object.assign(client, /** @type {{ [K in keyof typeof ACTIONS]: OmitClient<typeof ACTIONS[K]> }} */ (bound), {
    signOut: bind(client, signOut),
  })
}
