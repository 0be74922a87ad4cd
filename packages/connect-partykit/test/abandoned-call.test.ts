import { afterEach, expect, it } from 'vitest'
import { database } from '@proj/core'
import { silentServer } from '@proj/test-utils'
import { connect } from '../src/index.js'

/**
 * A call sync gave up on (no answer within callTimeout) must not keep its request open until the
 * connector's own `timeout`: sync aborts the call's signal and the connector ends the request.
 */
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

it('connect.partykit: the meta request of a call that timed out is ended while the sync goes on', async () => {
  // A host that holds every meta request; the websocket's upgrade is reset.
  const host = await silentServer((req) => /\/meta\//.test(req.url ?? ''))
  cleanups.push(() => host.stop())
  const db = database('partykit-abandoned', { storage: 'memory', dir: `/partykit-abandoned/${Math.random()}` })
  cleanups.push(() => db.close())
  // The connector's own timeout is long: only the abort can end a request within the test.
  const sync = connect.partykit(db, host.url, { timeout: 600_000, pollInterval: 0, maxBackoff: 50, callTimeout: 200 })
  cleanups.push(() => sync.close())
  await expect.poll(() => host.held).toBeGreaterThanOrEqual(1)
  await expect.poll(() => host.ended).toBeGreaterThanOrEqual(2)
})
