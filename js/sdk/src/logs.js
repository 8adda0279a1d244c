// Event logs over a block range in bounded chunks (the SDK's side of ledger/logs.py).
//
// A JSON-RPC node caps what one eth_getLogs may cover (a number of blocks, often 10,000 or
// fewer): a query from a lock's block to the head works on a young chain and is refused once
// the chain is long enough. `chunked` reads a range `chunk` blocks at a time, oldest first; a
// chunk the node refuses is halved (down to one block, whose refusal is thrown) and the smaller
// size kept for the chunks after it, so a node's cap needs no configuration.

import { BaseError } from 'viem'

/** Blocks per eth_getLogs to start with (halved where the node refuses). */
export const LOG_CHUNK = 5000n

/**
 * `fetch(fromBlock, toBlock)` over `start..stop` (inclusive) in chunks of at most `chunk`
 * blocks, in block order, one result per chunk. A chunk refused with an RPC error (viem's
 * BaseError) is split in two and read as two; a refused single block, or any other error,
 * is thrown.
 * @template T
 * @param {(fromBlock: bigint, toBlock: bigint) => Promise<T>} fetch
 * @param {bigint} start
 * @param {bigint} stop
 * @param {{ chunk?: bigint }} [options]
 * @returns {AsyncGenerator<T, void, unknown>}
 */
export async function* chunked(fetch, start, stop, { chunk = LOG_CHUNK } = {}) {
  if (chunk < 1n) throw new RangeError(`chunk must be >= 1 block, got ${chunk}`)
  let size = chunk
  /** @type {[bigint, bigint][]} halves of refused chunks, the next to read on top */
  const split = []
  let low = start // the first block not yet handed out
  while (split.length > 0 || low <= stop) {
    /** @type {bigint} */ let from
    /** @type {bigint} */ let to
    const half = split.pop()
    if (half) {
      ;[from, to] = half
    } else {
      from = low
      to = low + size - 1n < stop ? low + size - 1n : stop
      low = to + 1n
    }
    /** @type {T} */ let result
    try {
      result = await fetch(from, to)
    } catch (err) {
      if (from === to || !(err instanceof BaseError)) throw err
      const middle = (from + to) / 2n
      if (middle - from + 1n < size) size = middle - from + 1n
      split.push([middle + 1n, to], [from, middle])
      continue
    }
    yield result
  }
}
