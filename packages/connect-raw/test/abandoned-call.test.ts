import type { IncomingMessage } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { database } from '@proj/core'
import { silentServer } from '@proj/test-utils'
import { connect, type RawParams } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

/**
 * A call sync gave up on (no answer within callTimeout, or the sync closed) must not keep its request open:
 * sync aborts the call's signal, and the connector ends the request. Before, each hung call held a socket
 * (and the server's request) until the server answered, which it may never do.
 */
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** proj-serve, except that the requests `holds` picks are read and never answered. */
async function holdingServer(holds: (req: IncomingMessage) => boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'abandoned-call-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const store = createStoreServer({ dir })
  const server = await silentServer(holds, (req, res) => void store.emit('request', req, res))
  cleanups.push(() => server.stop())
  return server
}

it('connect.http: the request of a call that timed out is ended, and the retry completes the push', async () => {
  let dataPuts = 0
  const server = await holdingServer((req) => req.method === 'PUT' && /\/data\//.test(req.url ?? '') && ++dataPuts === 1)
  const db = database('abandoned-upload', { storage: 'memory', dir: `/abandoned/${Math.random()}` })
  cleanups.push(() => db.close())
  const sync = connect.http(db, server.url, { pollInterval: 0, maxBackoff: 50, callTimeout: 200 })
  cleanups.push(() => sync.close())
  await sync.ready
  await db.put({ _id: 'a' })
  await sync.flush()
  expect(server.held).toBe(1)
  // The sync is still open: only the abort can have ended the held request.
  await expect.poll(() => server.ended).toBe(1)
})

it('connect.http: close() ends the requests still waiting', async () => {
  const server = await holdingServer((req) => req.method === 'GET' && /\/meta\//.test(req.url ?? ''))
  const db = database('abandoned-close', { storage: 'memory', dir: `/abandoned/${Math.random()}` })
  cleanups.push(() => db.close())
  const sync = connect.http(db, server.url, { pollInterval: 0 })
  await expect.poll(() => server.held).toBe(1)
  await sync.close()
  await expect.poll(() => server.ended).toBe(1)
})

it('connect.raw: the functions get the call signal, aborted with the TimeoutError when sync gives the call up', async () => {
  const objects = new Map<string, Uint8Array>()
  const signals: AbortSignal[] = []
  const objectName = ({ type, car, branch }: RawParams) => `${type}/${car ?? branch}`
  const fns = {
    upload: async (bytes: Uint8Array, params: RawParams) => void objects.set(objectName(params), bytes.slice()),
    download: async (params: RawParams, call?: { signal?: AbortSignal }) => {
      if (params.type === 'meta' && signals.length === 0) {
        signals.push(call!.signal!)
        return new Promise<never>(() => {})
      }
      return objects.get(objectName(params))
    },
  }
  const db = database('abandoned-raw', { storage: 'memory', dir: `/abandoned/${Math.random()}` })
  cleanups.push(() => db.close())
  const sync = connect.raw(db, fns, { pollInterval: 0, maxBackoff: 50, callTimeout: 100 })
  cleanups.push(() => sync.close())
  await sync.ready
  expect(signals[0]!.aborted).toBe(true)
  expect((signals[0]!.reason as Error).name).toBe('TimeoutError')
  expect((signals[0]!.reason as Error).message).toBe('no answer within 100 ms')
})
