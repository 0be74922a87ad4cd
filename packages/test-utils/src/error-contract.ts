import { expect, vi } from 'vitest'

/** What a connector's errors test sees of `ConnectorError` (structural: this package does not depend on core). */
export interface ConnectorErrorLike {
  readonly name: string
  readonly message: string
  readonly permanent: boolean
  readonly cause?: unknown
}

/** A running sync and the errors its `error` event reported so far. */
export interface SyncUnderTest<E extends ConnectorErrorLike> {
  sync: { flush(): Promise<unknown>; readonly ready: Promise<unknown>; readonly status: string }
  errors: readonly E[]
}

/**
 * The error contract for a failure retrying cannot fix: `flush()` (or `ready`) rejects with a ConnectorError
 * marked permanent, reported by the time it settled exactly once (one attempt, no retries; `once: false` where
 * the test cannot count attempts), and the sync shows status 'error'. Returns the error for the
 * test's own checks (its cause, its message).
 */
export async function expectPermanentFailure<E extends ConnectorErrorLike>(
  d: SyncUnderTest<E>,
  { settle = 'flush', once = true }: { settle?: 'flush' | 'ready'; once?: boolean } = {},
): Promise<E> {
  let reported = -1
  const settled = settle === 'flush' ? d.sync.flush() : d.sync.ready
  const error = await settled.then(
    () => undefined,
    (e: unknown) => ((reported = d.errors.length), e),
  )
  expect(error, `${settle} resolved`).toMatchObject({ name: 'ConnectorError', permanent: true })
  if (once) expect(reported, 'errors reported by the time it settled').toBe(1)
  expect(d.sync.status).toBe('error')
  return error as E
}

/**
 * The error contract for a backend that is away: the sync keeps retrying (at least two attempts reported, none
 * permanent), shows status 'offline', and `ready` stays pending until the backend is back.
 */
export async function expectRetriedWhileOffline<E extends ConnectorErrorLike>(d: SyncUnderTest<E>): Promise<void> {
  let settled = false
  void d.sync.ready.then(
    () => (settled = true),
    () => (settled = true),
  )
  await vi.waitFor(() => expect(d.errors.length).toBeGreaterThanOrEqual(2), { timeout: 20_000 })
  expect(d.errors.filter((e) => e.permanent)).toEqual([])
  expect(d.sync.status).toBe('offline')
  expect(settled, 'ready settled while the backend was away').toBe(false)
}
