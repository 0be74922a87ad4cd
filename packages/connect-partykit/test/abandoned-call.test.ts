import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { afterEach, expect, it } from 'vitest'
import { database } from '@proj/core'
import { closeServer, listenOnLoopback } from '@proj/test-utils'
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
  const state = { held: 0, ended: 0 }
  // A host that reads every request and never answers; the websocket's upgrade is refused (reset).
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    if (!/\/meta\//.test(req.url ?? '')) return
    state.held++
    res.on('close', () => state.ended++)
  })
  server.on('upgrade', (_req, socket) => socket.destroy())
  const url = await listenOnLoopback(server)
  cleanups.push(() => closeServer(server))
  const db = database('partykit-abandoned', { storage: 'memory', dir: `/partykit-abandoned/${Math.random()}` })
  cleanups.push(() => db.close())
  // The connector's own timeout is long: only the abort can end a request within the test.
  const sync = connect.partykit(db, url, { timeout: 600_000, pollInterval: 0, maxBackoff: 50, callTimeout: 200 })
  cleanups.push(() => sync.close())
  await expect.poll(() => state.held).toBeGreaterThanOrEqual(1)
  await expect.poll(() => state.ended).toBeGreaterThanOrEqual(2)
})
