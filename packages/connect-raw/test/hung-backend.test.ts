import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database, type ConnectorError, type Database, type Sync } from '@proj/core'
import { closeServer, listenOnLoopback } from '@proj/test-utils'
import { MemoryConnector } from '@proj/connector-tests/memory'
import { connect, type RawParams } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

/**
 * A backend call that never settles (a server that accepts and never answers, a half-open connection) must
 * not wedge sync: the call times out, counts as a transient failure (status 'offline', an 'error' event naming
 * the timeout), is retried, and flush() resolves only once the files really reached the backend.
 */

const objectName = ({ type, name, car, branch }: RawParams) => `${type}/${name}/${car ?? branch}`
const never = new Promise<never>(() => {})

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function open(name: string, key?: string): Database {
  const db = database(name, { storage: 'memory', dir: `/hung/${name}/${Math.random()}`, ...(key ? { key } : {}) })
  cleanups.push(() => db.close())
  return db
}

function track(sync: Sync): { sync: Sync; errors: ConnectorError[]; statuses: string[] } {
  const errors: ConnectorError[] = []
  const statuses: string[] = []
  sync.on('error', (error) => errors.push(error))
  sync.on('status', (status) => statuses.push(status))
  cleanups.push(() => sync.close())
  return { sync, errors, statuses }
}

/** A Map behind connect.raw whose chosen calls never settle. */
function hangingMap(hangs: (call: 'upload' | 'download', params: RawParams) => boolean) {
  const objects = new Map<string, Uint8Array>()
  const hung: string[] = []
  return {
    objects,
    hung,
    fns: {
      upload: async (bytes: Uint8Array, params: RawParams) => {
        if (hangs('upload', params)) {
          hung.push(`upload ${objectName(params)}`)
          return never
        }
        objects.set(objectName(params), bytes.slice())
      },
      download: async (params: RawParams) => {
        if (hangs('download', params)) {
          hung.push(`download ${objectName(params)}`)
          return never
        }
        return objects.get(objectName(params))?.slice()
      },
    },
  }
}

const timedOut = (error: ConnectorError | undefined) => (error?.cause as Error | undefined)?.name === 'TimeoutError'

describe('a backend call that never settles', () => {
  it('an upload that hangs times out, is reported as transient and retried; flush resolves once the file is up', async () => {
    let dataUploads = 0
    const store = hangingMap((call, params) => call === 'upload' && params.type === 'data' && ++dataUploads === 1)
    const db = open('hung-upload')
    const { sync, errors } = track(connect.raw(db, store.fns, { pollInterval: 0, maxBackoff: 50, flushTimeout: 2_000 }))
    await sync.ready
    await db.put({ _id: 'a', text: 'survives a hung upload' })
    // A call gets half of flushTimeout, so a flush outlives one hung call and its retry; on a loaded machine
    // the first flush may still run out, and the next one must then finish the job.
    const clock = await sync.flush().catch(() => sync.flush())
    expect(store.hung).toHaveLength(1)
    // The hang was noticed and said: a transient failure naming the timeout.
    const timeout = errors.find(timedOut)
    expect(timeout?.permanent).toBe(false)
    expect(timeout?.op).toBe('upload')
    expect(timeout?.message).toMatch(/failed to upload: no answer within \d+ ms/)
    const fresh = open('hung-upload', await db.exportKey())
    const freshSync = track(connect.raw(fresh, store.fns, { pollInterval: 0 })).sync
    await freshSync.ready
    expect((await (await fresh.at(clock)).get('a')).text).toBe('survives a hung upload')
  })

  it('a meta read that hangs on the first pull: ready still resolves after the timeout and a retry', async () => {
    let metaReads = 0
    const store = hangingMap((call, params) => call === 'download' && params.type === 'meta' && ++metaReads === 1)
    const db = open('hung-load')
    const { sync, errors, statuses } = track(connect.raw(db, store.fns, { pollInterval: 0, maxBackoff: 50, flushTimeout: 500 }))
    await sync.ready
    expect(store.hung).toEqual(['download meta/hung-load/main'])
    expect(errors.filter(timedOut).map((error) => error.op)).toEqual(['load'])
    expect(statuses).toContain('offline')
  })

  it('a meta read slower than the allowance (slow, not hung) gets through: each timeout in a row doubles it', async () => {
    const objects = new Map<string, Uint8Array>()
    let metaReads = 0
    const fns = {
      upload: async (bytes: Uint8Array, params: RawParams) => void objects.set(objectName(params), bytes.slice()),
      download: async (params: RawParams) => {
        // Every meta read takes over 3 times the first allowance (half of flushTimeout): a big listing on a slow link.
        if (params.type === 'meta') {
          metaReads++
          await new Promise((resolve) => setTimeout(resolve, 1_000))
        }
        return objects.get(objectName(params))?.slice()
      },
    }
    const db = open('slow-load')
    const { sync, errors } = track(connect.raw(db, fns, { pollInterval: 0, maxBackoff: 50, flushTimeout: 600 }))
    await sync.ready
    // Allowances of 300 ms, 600 ms, then 1 200 ms for a read of 1 000 ms.
    expect(metaReads).toBeGreaterThanOrEqual(3)
    expect(errors.filter(timedOut).map((error) => error.message.replace(/\d+ ms/, 'N ms'))).toEqual(
      Array.from({ length: metaReads - 1 }, () => 'Connector raw failed to load: no answer within N ms'),
    )
  })

  it('a meta write that hangs (the write landed, the reply is lost) is retried and flush resolves', async () => {
    let metaWrites = 0
    const objects = new Map<string, Uint8Array>()
    const fns = {
      upload: async (bytes: Uint8Array, params: RawParams) => {
        objects.set(objectName(params), bytes.slice())
        if (params.type === 'meta' && ++metaWrites === 1) return never
      },
      download: async (params: RawParams) => objects.get(objectName(params))?.slice(),
    }
    const db = open('hung-save')
    const { sync, errors } = track(connect.raw(db, fns, { pollInterval: 0, maxBackoff: 50, flushTimeout: 800 }))
    await sync.ready
    await db.put({ _id: 'b', n: 1 })
    const clock = await sync.flush().catch(() => sync.flush())
    // The write had landed: a pull finds this clock there, so flush need not write it again.
    expect(errors.filter(timedOut).map((error) => error.op)).toEqual(['save'])
    expect(clock).toEqual(await db.clock())
  })

  it('a file download that hangs (a lazy read on another device) is retried and the read completes', async () => {
    let dataReads = 0
    const store = hangingMap((call, params) => call === 'download' && params.type === 'data' && ++dataReads === 1)
    const writer = open('hung-read')
    const writerSync = track(connect.raw(writer, store.fns, { pollInterval: 0 })).sync
    await writer.put({ _id: 'd', text: 'read through a hang' })
    await writerSync.flush()
    const reader = open('hung-read', await writer.exportKey())
    const { sync, errors } = track(connect.raw(reader, store.fns, { pollInterval: 0, maxBackoff: 50, flushTimeout: 600 }))
    await sync.ready
    expect((await reader.get('d')).text).toBe('read through a hang')
    expect(store.hung).toHaveLength(1)
    expect(errors.filter(timedOut).map((error) => error.op)).toEqual(['download'])
  })

  it('close() returns promptly while calls hang, and ends them', async () => {
    const store = hangingMap(() => true)
    const db = open('hung-close')
    const { sync } = track(connect.raw(db, store.fns, { pollInterval: 0 }))
    await expect.poll(() => store.hung.length).toBe(1)
    await sync.close()
    await expect(sync.ready).rejects.toThrow(/closed/)
  })
})

describe('connect.http to a server that accepts and never answers', () => {
  it('the hung request times out and is retried; the next answers and the push completes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hung-http-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const store = createStoreServer({ dir })
    let dataPuts = 0
    const held: ServerResponse[] = []
    // proj-serve, except that the first upload of a data file is read and never answered.
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === 'PUT' && /\/data\//.test(req.url ?? '') && ++dataPuts === 1) {
        req.resume()
        held.push(res)
        return
      }
      store.emit('request', req, res)
    })
    const url = await listenOnLoopback(server)
    cleanups.push(() => closeServer(server))
    const db = open('hung-http')
    const { sync, errors } = track(connect.http(db, url, { pollInterval: 0, maxBackoff: 50, flushTimeout: 1_500 }))
    await sync.ready
    await db.put({ _id: 'c', text: 'over http' })
    const clock = await sync.flush().catch(() => sync.flush())
    expect(held).toHaveLength(1)
    expect(errors.filter(timedOut).map((error) => error.op)).toEqual(['upload'])
    const fresh = open('hung-http', await db.exportKey())
    const freshSync = track(connect.http(fresh, url, { pollInterval: 0 })).sync
    await freshSync.ready
    expect((await (await fresh.at(clock)).get('c')).text).toBe('over http')
  })
})

describe('a connector whose close() never settles', () => {
  it('sync.close() and db.close() still return (after the call allowance)', async () => {
    class NeverClosing extends MemoryConnector {
      override close(): Promise<void> {
        return never
      }
    }
    const db = database('hung-connector-close', { storage: 'memory', dir: `/hung/close/${Math.random()}` })
    const sync = db.connect(new NeverClosing(), { pollInterval: 0, flushTimeout: 400 })
    await sync.ready
    await db.put({ _id: 'e' })
    await sync.flush()
    await sync.close()
    await db.close()
    expect(sync.status).toBe('offline')
  })
})
