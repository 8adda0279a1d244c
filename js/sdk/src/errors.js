// The API's error envelope {error: {code, message, details}} as a JavaScript error.

export class AigcApiError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} code the API's stable error code
   * @param {string} message
   * @param {unknown} [details]
   * @param {number | null} [retryAfter] seconds, from a 429's or 503's Retry-After header
   * @param {Record<string, unknown> | null} [fields] a contract's refusal (409, `code` the custom
   *   error's name, e.g. CourtDisputeWindow): its arguments by name, uints as decimal strings
   */
  constructor(status, code, message, details, retryAfter = null, fields = null) {
    super(`${status} ${code}: ${message}`)
    this.name = 'AigcApiError'
    this.status = status
    this.code = code
    this.details = details
    this.retryAfter = retryAfter
    this.fields = fields
  }
}

/** Raised when a step's precondition fails on the client side (a bad quote, a missing lock). */
export class AigcSdkError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(`${code}: ${message}`)
    this.name = 'AigcSdkError'
    this.code = code
  }
}

/**
 * Raised when a contract refuses a call the SDK was about to send (simulated against the
 * chain): `code` is the custom error's name (CourtNotOwner, CourtDisputeWindow, ...), `fields`
 * its arguments by name, as viem decodes them (uints as BigInt).
 */
export class AigcContractError extends AigcSdkError {
  /**
   * @param {string} errorName
   * @param {Record<string, unknown>} fields
   * @param {`0x${string}`} contract
   */
  constructor(errorName, fields, contract) {
    const args = Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(', ')
    super(errorName, `${contract} refuses the call: ${errorName}(${args})`)
    this.name = 'AigcContractError'
    this.fields = fields
    this.contract = contract
  }
}

/**
 * Raised when a seller's claim of the price could be mined after the payment lock expires
 * (within `margin` seconds of its timelock, T2): a claim that lands after T2 fails but has
 * already published the secret in its calldata, so the buyer would take the token and refund
 * the payment too. Not claiming keeps the secret; both sides refund instead
 * (services.exchange.swap.CLAIM_MARGIN_S, ClaimTooLate).
 */
export class ClaimTooLateError extends AigcSdkError {
  /**
   * @param {{ deadline: bigint, now: bigint, margin: bigint }} p the payment lock's timelock,
   *   the chain's time (latest block), the margin a claim needs (seconds)
   */
  constructor({ deadline, now, margin }) {
    const left = deadline - now
    super(
      'claim_too_late',
      `the payment lock expires at ${deadline}, ${left} s from the chain's time ${now}; a claim needs ${margin} s `
        + 'to land safely: not claiming (the secret would reach the buyer with the refund still open); both sides refund',
    )
    this.name = 'ClaimTooLateError'
    this.deadline = deadline
    this.now = now
    this.timeLeft = left
    this.margin = margin
  }
}

/**
 * Raised when a seller's claim of the price could be mined after the payment lock's claim window:
 * the HashTimeLock accepts the withdrawal of an Ether lock only within `claimWindow` blocks of the
 * lock's own block (LockClaimWindowClosed later), and a claim that fails there has still published
 * the secret in its calldata, so the buyer would take the token (an ERC-721 lock has no window)
 * and refund the payment at T2. Refused while fewer than `margin` blocks of the window are left
 * after the head; the secret is kept and both sides refund
 * (services.exchange.swap.CLAIM_MARGIN_BLOCKS, ClaimWindowClosed; the API's 409
 * `claim_window_closed`).
 */
export class ClaimWindowClosedError extends AigcSdkError {
  /**
   * @param {{ lastBlock: bigint, block: bigint, margin: bigint }} p the last block the payment lock
   *   may be withdrawn in (its block + claimWindow), the chain's head, the blocks a claim needs
   */
  constructor({ lastBlock, block, margin }) {
    super(
      'claim_window_closed',
      `the payment lock's claim window ends at block ${lastBlock}, ${lastBlock - block} blocks after the head ${block}; `
        + `a claim needs ${margin} blocks to land safely: not claiming (a claim mined past the window fails but publishes the secret); both sides refund`,
    )
    this.name = 'ClaimWindowClosedError'
    this.lastBlock = lastBlock
    this.block = block
    this.margin = margin
  }
}

/**
 * Raised when a buyer's payment would buy a token under a pending duplicate challenge: `original`
 * accuses it at `contract` (the token's collection, or the BatchCourt for a batched original's
 * challenge of a Registry token) and the dispute is still `open` (even past its deadline: anyone
 * may finalize it) or `contested`. Decided for the accuser, it revokes the token from whoever
 * holds it then, the buyer, who has paid the price. Nothing is paid
 * (services.exchange.trade.check_tradable, TokenNotTradable "challenged").
 */
export class ChallengeOpenError extends AigcSdkError {
  /**
   * @param {{ tradeId: number, tokenId: bigint, original: bigint, contract: `0x${string}`,
   *   state: 'open' | 'contested' }} p the trade, the accused token, the accuser, the contract
   *   where the challenge is pending, its state there
   */
  constructor({ tradeId, tokenId, original, contract, state }) {
    super(
      'challenge_open',
      `trade ${tradeId}: token ${tokenId} is under a ${state} duplicate challenge by token ${original} at ${contract} `
        + '(decided for the accuser, it revokes the token from its holder): nothing was paid',
    )
    this.name = 'ChallengeOpenError'
    this.tradeId = tradeId
    this.tokenId = tokenId
    this.original = original
    this.contract = contract
    this.state = state
  }
}

/**
 * Raised when a seller's claim would take a payment lock that does not lock what the trade
 * owes the seller (the price, less the ERC-2981 royalty that a resale pays the producer in a lock
 * of its own): claiming publishes the secret, so the buyer would take the token for what was
 * locked. Not claiming keeps the secret (services.exchange.swap.seller_claim_payment, LockMismatch).
 */
export class PaymentAmountError extends AigcSdkError {
  /**
   * @param {{ tradeId: number, expected: bigint, locked: bigint }} p the trade, what it owes the
   *   seller (wei), what the payment lock holds (wei)
   */
  constructor({ tradeId, expected, locked }) {
    super(
      'payment_amount',
      `trade ${tradeId}: expected ${expected} wei for the seller (the price less any royalty), the payment lock locks ${locked} wei: `
        + 'not claiming (the secret would sell the token for what was locked)',
    )
    this.name = 'PaymentAmountError'
    this.tradeId = tradeId
    this.expected = expected
    this.locked = locked
  }
}
