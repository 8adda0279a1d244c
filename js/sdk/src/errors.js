// The API's error envelope {error: {code, message, details}} as a JavaScript error.

export class AigcApiError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} code the API's stable error code
   * @param {string} message
   * @param {unknown} [details]
   * @param {number | null} [retryAfter] seconds, from a 429's or 503's Retry-After header
   */
  constructor(status, code, message, details, retryAfter = null) {
    super(`${status} ${code}: ${message}`)
    this.name = 'AigcApiError'
    this.status = status
    this.code = code
    this.details = details
    this.retryAfter = retryAfter
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
