// ESPs ranked by reputation from the signed-in producer's view; an ESP's stake top-up.

import { getAddress, parseAbi, parseEventLogs } from 'viem'
import { getDeployment } from './deployment.js'
import { AigcSdkError } from './errors.js'
import { request } from './http.js'
import { toBigInt, toDecimal } from './numbers.js'
import { simulateUnsigned } from './reverts.js'
import { address, checkCall, sendUnsigned } from './wallet.js'

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
 * Active ESPs with reputation and selection probability (your view when signed in); with
 * `maxPrice` (wei), only those a task paying at most that can draw, with that draw's odds.
 * @param {import('./client.js').AigcClient} client
 * @param {{ temperature?: number, floor?: number, maxPrice?: bigint | number | string }} [options]
 * @returns {Promise<{ viewer: string, items: Esp[] }>}
 */
export async function listEsps(client, options = {}) {
  const maxPrice = options.maxPrice === undefined ? undefined : toDecimal(options.maxPrice)
  const out = await request(client, '/v1/esps', {
    auth: false,
    query: { temperature: options.temperature, floor: options.floor, max_price: maxPrice },
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

/** The EspRegistry's stake top-up, its event and refusals (checked against the artifact by a test). */
export const espStakeAbi = parseAbi([
  'function addStake() payable',
  'struct Esp { uint128 stake; uint64 unbondingEndsAt; uint32 challengesLost; bool active; uint256 price; string endpoint; }',
  'function espInfo(address esp) view returns (Esp)',
  'event EspStakeAdded(address indexed esp, uint256 amount, uint256 stake)',
  'error EspNotRegistered(address esp)',
  'error EspStakeTooLow(uint256 sent, uint256 minimum)',
])

/**
 * An ESP adds `amount` wei to its stake (EspRegistry.addStake): a top-up, or the return to
 * service of an ESP a slash deactivated, once its stake is back at the minimum. The API builds it
 * (POST /v1/tx/esp/add-stake: 409 `EspNotRegistered` for an account that is no registered ESP or
 * is exiting, `EspStakeTooLow` short of the minimum; 422 `stake_too_large`, `insufficient_funds`);
 * its transaction must be addStake at the deployment's EspRegistry carrying exactly `amount`
 * (`tx_mismatch`, unsent: the wallet would pay whatever value it carried), then it is simulated
 * (the contract's refusal as AigcContractError) and sent. An amount of 0 or less is `bad_amount`,
 * nothing asked.
 * @param {import('./client.js').AigcClient} client
 * @param {{ amount: import('./numbers.js').Numberish }} params
 * @returns {Promise<{ hash: `0x${string}`, amount: bigint, stake: bigint | null }>} `stake` the
 *   ESP's stake after it, from the receipt's EspStakeAdded (null if it holds none of yours)
 */
export async function addStake(client, { amount }) {
  const value = toBigInt(amount, 'amount')
  if (value <= 0n) throw new AigcSdkError('bad_amount', `a stake top-up adds more than 0 wei, not ${value}: nothing was asked`)
  const tx = await request(client, '/v1/tx/esp/add-stake', { method: 'POST', json: { amount: toDecimal(value) } })
  const registry = (await getDeployment(client)).addresses.espRegistry
  const expected = { to: registry, abi: espStakeAbi, functionName: 'addStake', args: [], value, what: 'stake top-up' }
  checkCall(tx, expected) // before the simulation too: nothing of a lying API's call is run
  await simulateUnsigned(client, tx, espStakeAbi)
  const sent = await sendUnsigned(client, tx, expected)
  const me = await address(client)
  const logs = /** @type {any} */ (sent.receipt.logs ?? [])
  const event = parseEventLogs({ abi: espStakeAbi, eventName: 'EspStakeAdded', logs })
    .find((e) => getAddress(e.address) === getAddress(registry) && getAddress(e.args.esp) === me)
  return { hash: sent.hash, amount: value, stake: event ? event.args.stake : null }
}
