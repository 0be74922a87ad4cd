/**
 * A backend call that gave no answer in time (a server that accepts and never replies, a half-open
 * connection, a connector whose promise never settles). Transient: sync retries the call as it does after a
 * network error. Named like the DOMException `AbortSignal.timeout()` raises, so code telling timeouts apart
 * by name sees one kind.
 */
export class CallTimeoutError extends Error {
  override readonly name = 'TimeoutError'
  readonly permanent = false
  constructor(
    /** The connector operation, e.g. 'upload', 'load'. */
    readonly op: string,
    readonly ms: number,
  ) {
    super(`no answer within ${ms} ms`)
  }
}

/**
 * Bytes per ms a call is allowed on top of the base timeout: 64 KB/s, a poor mobile uplink. An upload of a
 * 1 MiB attachment chunk gets 16 s more, so a slow link still gets big files up instead of timing out and
 * retrying them for good.
 */
const SLOW_LINK_BYTES_PER_MS = 64

/** How long a call carrying `bytes` may take before it counts as failed. */
export function callAllowance(base: number, bytes = 0): number {
  return Math.round(base + bytes / SLOW_LINK_BYTES_PER_MS)
}
