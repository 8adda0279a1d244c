// Polling for state the API's indexer learns from the chain a moment after a transaction.

import { AigcSdkError } from './errors.js'

/**
 * Calls `probe` until it returns something other than undefined.
 * @template T
 * @param {() => Promise<T | undefined>} probe
 * @param {{ intervalMs?: number, timeoutMs?: number, what?: string }} [options]
 * @returns {Promise<T>}
 */
export async function poll(probe, options = {}) {
  const { intervalMs = 250, timeoutMs = 60_000, what = 'the state' } = options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() >= deadline) throw new AigcSdkError('timeout', `gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
