// The deployment the API is bound to: chain id, contract addresses, ABIs and EIP-712 domains.

import { getAddress } from 'viem'
import { getEip712Domain } from 'viem/actions'
import { espRegistryAbi, hashTimeLockAbi, registryAbi } from './abis.js'
import { AigcApiError, AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toBigInt } from './numbers.js'

/** The EIP-712 types of the objects the API checks signatures on. */
export const OFFER_TYPES = /** @type {const} */ ({
  Offer: [
    { name: 'tokenId', type: 'uint256' },
    { name: 'seller', type: 'address' },
    { name: 'price', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
  ],
})

export const QUOTE_TYPES = /** @type {const} */ ({
  Quote: [
    { name: 'sender', type: 'address' },
    { name: 'receiver', type: 'address' },
    { name: 'asset', type: 'uint8' },
    { name: 'token', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'hashlock', type: 'bytes32' },
    { name: 'timelock', type: 'uint64' },
  ],
})

/**
 * @typedef {object} Eip712Domain
 * @property {string} name
 * @property {string} version
 * @property {number} chainId
 * @property {`0x${string}`} verifyingContract
 */

/**
 * @typedef {object} Deployment
 * @property {number} chainId
 * @property {{ registry: `0x${string}`, espRegistry: `0x${string}`, htlc: `0x${string}`,
 *   batchRegistry: `0x${string}` | null, batchCourt: `0x${string}` | null }} addresses
 *   `batchRegistry` is null on a deployment from before batch registration, `batchCourt` (where a
 *   batched original challenges a single copy) on one from before the court
 * @property {{ registry: readonly any[], espRegistry: readonly any[], htlc: readonly any[] }} abis
 * @property {{ offer: Eip712Domain, quote: Eip712Domain, batchOffer: Eip712Domain | null }} domains
 *   `offer`: the Registry's (offers for single registrations); `batchOffer`: the BatchRegistry's
 *   (offers for batched items: each collection signs under its own contract's domain)
 * @property {{ offer: Record<string, readonly { name: string, type: string }[]>,
 *   quote: Record<string, readonly { name: string, type: string }[]> }} types the EIP-712 types
 *   (the API's when it serves them)
 * @property {'api' | 'healthz'} source where it came from: GET /v1/deployment, or /healthz
 *   addresses with the SDK's own ABI fragments and the contracts' ERC-5267 domains
 * @property {bigint | null} block the block the contracts were deployed in (GET /v1/deployment's
 *   `block`, a pinned manifest's own when the client pins one; null from /healthz): where
 *   payTrade starts its search for a Registry token's registration (then its challenges)
 */

/**
 * The deployment, cached on the client. Prefers GET /v1/deployment (addresses, ABIs, EIP-712
 * domains as the API publishes them); on a server without that route falls back to /healthz.
 * Refused with `wrong_chain` when it is for another chain than the client's chain reader, and
 * with `deployment_mismatch` when the client pins a manifest (createAigcClient's `deployment`,
 * e.g. `.aigc/deployments/<chain id>.json`) whose contracts differ: with a pin, every transaction
 * the SDK checks goes only to the pinned contracts, whatever the API says.
 * @param {import('./client.js').AigcClient} client
 * @param {{ refresh?: boolean }} [options]
 * @returns {Promise<Deployment>}
 */
export async function getDeployment(client, options = {}) {
  if (client.cache.deployment && !options.refresh) return client.cache.deployment
  const trusted = client.trustedDeployment ? fromApi(client.trustedDeployment) : null
  const reading = Number(await client.publicClient.getChainId())
  if (trusted && trusted.chainId !== reading) {
    throw new AigcSdkError('wrong_chain', `the pinned deployment is for chain ${trusted.chainId}, the chain reader is on chain ${reading}`)
  }
  let deployment
  try {
    deployment = fromApi(await request(client, '/v1/deployment', { auth: false }))
  } catch (err) {
    if (!(err instanceof AigcApiError) || (err.status !== 404 && err.status !== 405)) throw err
    deployment = await fromHealth(client, await request(client, '/healthz', { auth: false }))
  }
  if (deployment.chainId !== reading) {
    throw new AigcSdkError('wrong_chain', `the API serves a deployment of chain ${deployment.chainId}, the chain reader is on chain ${reading}`)
  }
  checkDomains(deployment)
  if (trusted) checkPinned(trusted, deployment)
  if (trusted && trusted.block !== null) deployment = { ...deployment, block: trusted.block } // the pin's, not the API's
  client.cache.deployment = deployment
  return deployment
}

/** Each signing domain and the contract whose messages it signs (verifyingContract). */
const DOMAIN_CONTRACTS = /** @type {const} */ ([['offer', 'registry'], ['quote', 'espRegistry'], ['batchOffer', 'batchRegistry']])

/**
 * Refuses (`deployment_mismatch`) a deployment whose EIP-712 domains are not bound to its own
 * chain and contracts: the wallet shows a domain's name, not its verifyingContract, so an offer
 * signed under a domain the API chose (another deployment's Registry, another chain) would be a
 * valid signature there, replayable against the user's token of the same id.
 * @param {Deployment} d
 */
function checkDomains(d) {
  for (const [key, contract] of DOMAIN_CONTRACTS) {
    const dom = d.domains[key]
    if (dom && (dom.chainId !== d.chainId || dom.verifyingContract !== d.addresses[contract])) {
      throw new AigcSdkError('deployment_mismatch', `the ${key} signing domain is for ${dom.verifyingContract} on chain ${dom.chainId}, not the deployment's ${contract} ${d.addresses[contract]} on chain ${d.chainId}`)
    }
  }
}

/**
 * Refuses (`deployment_mismatch`) an API deployment whose contracts are not the pinned
 * manifest's: every address the manifest names must be the API's, and every domain the API serves
 * must verify at the pinned contract on the pinned chain.
 * @param {Deployment} pinned
 * @param {Deployment} served
 */
function checkPinned(pinned, served) {
  const names = /** @type {const} */ (['registry', 'espRegistry', 'htlc', 'batchRegistry', 'batchCourt'])
  for (const name of names) {
    const want = pinned.addresses[name]
    if (want !== null && served.addresses[name] !== want) {
      throw new AigcSdkError('deployment_mismatch', `the API's ${name} is ${served.addresses[name]}, the pinned manifest's ${want}`)
    }
  }
  for (const [key, contract] of DOMAIN_CONTRACTS) {
    const dom = served.domains[key]
    if (dom && (dom.chainId !== pinned.chainId || dom.verifyingContract !== served.addresses[contract])) {
      throw new AigcSdkError('deployment_mismatch', `the API's ${key} domain is for ${dom.verifyingContract} on chain ${dom.chainId}`)
    }
  }
}

/**
 * @param {Record<string, any>} contracts
 * @param {string[]} names
 */
function pick(contracts, names) {
  for (const n of names) if (contracts[n] !== undefined) return contracts[n]
  throw new AigcApiError(502, 'bad_deployment', `the deployment names none of ${names.join(', ')}`)
}

/**
 * @param {any} d
 * @returns {Deployment}
 */
export function fromApi(d) {
  const chainId = Number(toBigInt(d.chain_id ?? d.chainId, 'chain_id'))
  const contracts = d.contracts ?? {}
  /** @param {string[]} names */
  const entry = (names) => {
    const c = pick(contracts, names)
    return typeof c === 'string' ? { address: c } : c
  }
  const reg = entry(['Registry', 'registry'])
  const esp = entry(['EspRegistry', 'esp_registry', 'espRegistry'])
  const htlc = entry(['HashTimeLock', 'htlc', 'hash_time_lock'])
  /** @param {string[]} names */
  const optional = (names) => {
    const c = names.map((n) => contracts[n]).find((x) => x !== undefined && x !== null)
    return c === undefined ? null : getAddress(typeof c === 'string' ? c : c.address)
  }
  const addresses = {
    registry: getAddress(reg.address),
    espRegistry: getAddress(esp.address),
    htlc: getAddress(htlc.address),
    batchRegistry: optional(['BatchRegistry', 'batch_registry', 'batchRegistry']),
    batchCourt: optional(['BatchCourt', 'batch_court', 'batchCourt']),
  }
  const domains = defaultDomains(chainId, addresses)
  /** @type {Deployment['types']} */
  const types = { offer: OFFER_TYPES, quote: QUOTE_TYPES }
  const served = d.eip712 ?? d.domains ?? {}
  for (const [key, names] of /** @type {const} */ ([['offer', ['Offer', 'offer']], ['quote', ['Quote', 'quote']]])) {
    for (const n of names) {
      const dom = served[n]?.domain ?? served[n]
      if (dom && dom.name) {
        domains[key] = toDomain(dom, chainId)
        const primary = key === 'offer' ? 'Offer' : 'Quote'
        if (served[n]?.types?.[primary]) types[key] = { [primary]: served[n].types[primary] }
        break
      }
    }
  }
  // The BatchRegistry's domain, as served for any message signed under it (BatchAttestation).
  const batchServed = Object.values(served).find((m) => m?.contract === 'BatchRegistry' && m.domain?.name)
  if (batchServed && domains.batchOffer) domains.batchOffer = toDomain(batchServed.domain, chainId)
  const block = d.block ?? null
  return {
    chainId,
    addresses,
    block: block === null ? null : toBigInt(block, 'block'),
    abis: {
      registry: reg.abi ?? registryAbi,
      espRegistry: esp.abi ?? espRegistryAbi,
      htlc: htlc.abi ?? hashTimeLockAbi,
    },
    domains,
    types,
    source: 'api',
  }
}

/**
 * The deployment from /healthz: addresses from the API, ABIs from the SDK, and each EIP-712
 * domain read from its contract (ERC-5267 `eip712Domain()`), else the SDK's defaults.
 * @param {import('./client.js').AigcClient} client
 * @param {import('./api-types.js').Health} h the /healthz answer
 * @returns {Promise<Deployment>}
 */
export async function fromHealth(client, h) {
  const deployment = fromApi({ chain_id: h.chain_id, contracts: h.contracts }) // h.block is the head's, not the deployment's
  for (const [key, contract] of /** @type {const} */ ([['offer', 'registry'], ['quote', 'espRegistry'], ['batchOffer', 'batchRegistry']])) {
    const at = deployment.addresses[contract]
    if (at === null) continue
    try {
      const { domain } = await getEip712Domain(client.publicClient, { address: at })
      if (domain.name && domain.version && domain.verifyingContract) {
        deployment.domains[key] = {
          name: domain.name,
          version: domain.version,
          chainId: Number(domain.chainId ?? deployment.chainId),
          verifyingContract: getAddress(domain.verifyingContract),
        }
      }
    } catch {
      // a contract without ERC-5267 (or no chain access): keep the SDK's default domain
    }
  }
  return { ...deployment, source: 'healthz' }
}

/**
 * The EIP-712 domains the contracts report (ledger.eip712.CONTRACT_DOMAINS): offers are signed
 * under the domain of the token's collection (the Registry's, or the BatchRegistry's for a
 * batched item), quotes under the EspRegistry's.
 * @param {number} chainId
 * @param {{ registry: `0x${string}`, espRegistry: `0x${string}`, batchRegistry?: `0x${string}` | null }} addresses
 * @returns {{ offer: Eip712Domain, quote: Eip712Domain, batchOffer: Eip712Domain | null }}
 */
export function defaultDomains(chainId, addresses) {
  const batch = addresses.batchRegistry ?? null
  return {
    offer: { name: 'Proof-of-AIGC', version: '2', chainId, verifyingContract: addresses.registry },
    quote: { name: 'EspRegistry', version: '1', chainId, verifyingContract: addresses.espRegistry },
    batchOffer: batch === null ? null : { name: 'AIGC BatchRegistry', version: '1', chainId, verifyingContract: batch },
  }
}

/**
 * @param {any} dom a served domain
 * @param {number} chainId
 * @returns {Eip712Domain}
 */
function toDomain(dom, chainId) {
  return {
    name: dom.name,
    version: String(dom.version),
    chainId: Number(toBigInt(dom.chainId ?? dom.chain_id ?? chainId)),
    verifyingContract: getAddress(dom.verifyingContract ?? dom.verifying_contract),
  }
}
