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
