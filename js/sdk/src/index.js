// @aigc/sdk: the AIGC marketplace from JavaScript, on viem. Small actions that take the client
// first (viem's style); createAigcClient also binds them as methods.

import { signIn, signOut } from './auth.js'
import {
  challengeBatch, contestBatch, finalizeBatch, preflightBatch, prepareBatchCommit, prepareBatchReveal, registerBatch, resolveBatch,
} from './batch_actions.js'
import { checkBatchAttestation } from './batch_attestation.js'
import { courtChallenge, courtContest, courtFinalize, courtResolve, courtRevokeDuplicateImage, courtSettle, getCourtDispute, settleBatch } from './batch_court.js'
import { getBatch, getBatchProof, publishBatchManifest } from './batch_reads.js'
import { createClientState } from './client.js'
import { drawReview, requestReview } from './committee.js'
import { getDeployment } from './deployment.js'
import { generationOpening, publishGenerationOpening, toGenerationOpening } from './generation.js'
import { listEsps, ranking } from './esps.js'
import { buy, claimPayment, claimToken, getTrade, list, lockForSale, payTrade, resell, waitForTrade, withdraw } from './market.js'
import { DeliveryMismatchError, deriveKey, openDelivery, registerDeliveryKey, reportFraud } from './delivery_actions.js'
import { getProduct, listListings, listProducts, publishImage, toProduct } from './products.js'
import { challenge, contest, finalize, register, resolve } from './registry.js'
import { feedback, getTask, payFee, postTask, revealedPreimage, waitForDelivery, waitForTask } from './tasks.js'

export { AigcApiError, AigcContractError, AigcSdkError, ClaimTooLateError, PaymentAmountError } from './errors.js'
export { checkCall } from './wallet.js'
export { revertData, toContractError } from './reverts.js'
export { ASSETS, lockId, lockToApi, newSecret, toLock, ZERO_ADDRESS } from './locks.js'
export { stringifyJson, toBigInt, toBytes32Hex, toDecimal, toTaskId, toTradeId } from './numbers.js'
export { defaultDomains, OFFER_TYPES, QUOTE_TYPES } from './deployment.js'
export { commitment } from './registry.js'
export { committeeAbi, drawReview, requestReview, reviewKey } from './committee.js'
export {
  batchCommitment, buildBatch, fingerprintLeaf, fingerprintsHash, isDegenerateFingerprint, itemLeaf, merkleProof, merkleRoot,
  orderedProof, orderedProofs, orderedRoot, sortItemsByFingerprint, splitTokenId, tokenId, verifyOrderedProof, verifyProof,
} from './batch.js'
export { BATCH_ATTESTATION_TYPES, batchAttestationDigest, batchAttestationTypedData, parseBatchAttestation } from './batch_attestation.js'
export { batchCommitCall, batchRegistryAbi, batchRevealCall, lockInfoAbi } from './batch_actions.js'
export { toBatch } from './batch_reads.js'
export { batchCourtAbi, courtAddress, DISPUTE_STATES } from './batch_court.js'
export { courtChallenge, courtContest, courtFinalize, courtResolve, courtRevokeDuplicateImage, courtSettle, getCourtDispute, settleBatch }
export {
  challengeBatch, checkBatchAttestation, contestBatch, finalizeBatch, getBatch, getBatchProof, preflightBatch, prepareBatchCommit,
  prepareBatchReveal, publishBatchManifest, registerBatch, resolveBatch,
}
export { decodePng, pngContentHash } from './content.js'
export { contentHash, deliveryKeyMessage, keyCommitment } from './delivery.js'
export { DeliveryMismatchError }
export { latestQuoteDeadline, PROMPT_TAG, promptCommitment, quotedLock, SECONDS_PER_BLOCK, toTask } from './tasks.js'
export { CLAIM_MARGIN_S, collectionAbi, collectionOf, PAYMENT_MARGIN_S, sellerShare, toListing, toTrade } from './market.js'
export { publishImage, toProduct }
export { generationOpening, publishGenerationOpening, toGenerationOpening }
export {
  buy, challenge, getProduct, listListings, listProducts, claimPayment, claimToken, contest, feedback, finalize, getDeployment, getTask, getTrade,
  list, listEsps, lockForSale, payFee, payTrade, postTask, ranking, register, resell, resolve, revealedPreimage,
  deriveKey as deriveDeliveryKey, openDelivery, registerDeliveryKey, reportFraud, signIn, signOut, waitForDelivery, waitForTask, waitForTrade, withdraw,
}

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
  return Object.assign(client, {
    signIn: bind(client, signIn),
    signOut: bind(client, signOut),
    getDeployment: bind(client, getDeployment),
    listEsps: bind(client, listEsps),
    getProduct: bind(client, getProduct),
    publishImage: bind(client, publishImage),
    listProducts: bind(client, listProducts),
    listListings: bind(client, listListings),
    generationOpening: bind(client, generationOpening),
    publishGenerationOpening: bind(client, publishGenerationOpening),
    ranking: bind(client, ranking),
    postTask: bind(client, postTask),
    getTask: bind(client, getTask),
    waitForTask: bind(client, waitForTask),
    waitForDelivery: bind(client, waitForDelivery),
    payFee: bind(client, payFee),
    registerDeliveryKey: bind(client, registerDeliveryKey),
    deriveDeliveryKey: bind(client, deriveKey),
    openDelivery: bind(client, openDelivery),
    reportFraud: bind(client, reportFraud),
    revealedPreimage: bind(client, revealedPreimage),
    register: bind(client, register),
    challenge: bind(client, challenge),
    contest: bind(client, contest),
    requestReview: bind(client, requestReview),
    drawReview: bind(client, drawReview),
    finalize: bind(client, finalize),
    resolve: bind(client, resolve),
    list: bind(client, list),
    resell: bind(client, resell),
    buy: bind(client, buy),
    getTrade: bind(client, getTrade),
    waitForTrade: bind(client, waitForTrade),
    lockForSale: bind(client, lockForSale),
    payTrade: bind(client, payTrade),
    claimPayment: bind(client, claimPayment),
    claimToken: bind(client, claimToken),
    withdraw: bind(client, withdraw),
    feedback: bind(client, feedback),
    checkBatchAttestation: bind(client, checkBatchAttestation),
    getBatch: bind(client, getBatch),
    getBatchProof: bind(client, getBatchProof),
    publishBatchManifest: bind(client, publishBatchManifest),
    registerBatch: bind(client, registerBatch),
    preflightBatch: bind(client, preflightBatch),
    prepareBatchCommit: bind(client, prepareBatchCommit),
    prepareBatchReveal: bind(client, prepareBatchReveal),
    challengeBatch: bind(client, challengeBatch),
    contestBatch: bind(client, contestBatch),
    resolveBatch: bind(client, resolveBatch),
    finalizeBatch: bind(client, finalizeBatch),
    settleBatch: bind(client, settleBatch),
    courtChallenge: bind(client, courtChallenge),
    courtContest: bind(client, courtContest),
    courtResolve: bind(client, courtResolve),
    courtFinalize: bind(client, courtFinalize),
    courtSettle: bind(client, courtSettle),
    courtRevokeDuplicateImage: bind(client, courtRevokeDuplicateImage),
    getCourtDispute: bind(client, getCourtDispute),
  })
}
