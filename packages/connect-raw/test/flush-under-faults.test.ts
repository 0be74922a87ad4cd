import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { database, type Clock, type Database, type Sync } from '@proj/core'
import { canonicalJson, seededRandom } from '@proj/connector-tests'
import { serveFromTempDir, type LoopbackServer } from '@proj/test-utils'
import { connect, type RawParams } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

/**
 * What `flush()` promises: once it resolves with a clock, a device with only the key and the backend reads
 * that clock, exactly. Tried with backends that fail a share of single calls (one upload of many, a
 * download during a lazy load), as a flaky network does.
 */

const objectName = ({ type, name, car, branch }: RawParams) => `${type}/${name}/${car ?? branch}`

class TransientFault extends Error {
  override readonly name = 'TransientFault'
}

/** A Map behind upload/download functions that throw on `rate` of calls (seeded), before touching the Map. */
function flakyMap(seed: number, rate: number) {
  const objects = new Map<string, Uint8Array>()
  const random = seededRandom(seed)
  const state = { failing: true, failures: 0 }
  const fail = (what: string) => {
    if (state.failing && random() < rate) {
      state.failures++
      throw new TransientFault(`network blip during ${what}`)
    }
  }
  return {
    objects,
    state,
    fns: {
      upload: async (bytes: Uint8Array, params: RawParams) => {
        fail(`upload of ${objectName(params)}`)
        objects.set(objectName(params), bytes.slice())
      },
      download: async (params: RawParams) => {
        fail(`download of ${objectName(params)}`)
        return objects.get(objectName(params))?.slice()
      },
    },
  }
}

interface Promise_ {
  clock: Clock
  rows: string
}

async function promiseOf(db: Database, sync: Sync): Promise<Promise_> {
  const clock = await sync.flush()
  return { clock, rows: canonicalJson((await (await db.at(clock)).allDocs()).rows) }
}

/** A fresh device reads every flushed clock from the backend alone. Returns what it could not read. */
async function unreadable(name: string, key: string, connectFresh: (db: Database) => Sync, promises: Promise_[]) {
  const fresh = database(name, { storage: 'memory', dir: `/fresh/${Math.random()}`, key })
  const sync = connectFresh(fresh)
  const problems: string[] = []
  try {
    await sync.ready
    for (const { clock, rows } of promises) {
      try {
        const seen = canonicalJson((await (await fresh.at(clock)).allDocs()).rows)
        if (seen !== rows) problems.push(`clock ${clock} reads other documents than were flushed`)
      } catch (error) {
        problems.push(`clock ${clock}: ${(error as Error).message}`)
      }
    }
  } finally {
    await sync.close()
    await fresh.close()
  }
  return problems
}

describe('flush() under transient faults (connect.raw over a Map failing 30 % of calls)', () => {
  it('two devices writing, flushing and refreshing in turns: every flushed clock is readable by a fresh device', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const store = flakyMap(seed, 0.3)
      const name = `flaky${seed}`
      const a = database(name, { storage: 'memory', dir: `/flaky/${seed}/a/${Math.random()}` })
      const key = await a.exportKey()
      const b = database(name, { storage: 'memory', dir: `/flaky/${seed}/b/${Math.random()}`, key })
      const options = { pollInterval: 0, maxBackoff: 20 }
      const syncA = connect.raw(a, store.fns, options)
      const syncB = connect.raw(b, store.fns, options)
      const promises: Promise_[] = []
      try {
        await Promise.all([syncA.ready, syncB.ready])
        for (let round = 0; round < 8; round++) {
          const [writer, writerSync, reader, readerSync] =
            round % 2 ? [b, syncB, a, syncA] : [a, syncA, b, syncB]
          await writer.bulk(Array.from({ length: 5 }, (_, i) => ({ _id: `r${round}-${i}`, round, text: 'x'.repeat(200) })))
          promises.push(await promiseOf(writer, writerSync))
          await readerSync.refresh()
          // Reading everything makes the reader load files lazily through the flaky backend.
          expect((await reader.allDocs()).rows.length).toBe((round + 1) * 5)
        }
        store.state.failing = false
        expect(store.state.failures).toBeGreaterThan(10)
        const problems = await unreadable(name, key, (db) => connect.raw(db, store.fns, { pollInterval: 0 }), promises)
        expect(problems, `seed ${seed}`).toEqual([])
      } finally {
        await syncA.close()
        await syncB.close()
        await a.close()
        await b.close()
      }
    }
  })
})

describe('flush() under transient faults (connect.http + proj-serve, 30 % of requests lost)', () => {
  let server: LoopbackServer & { dir: string }
  const token = 'flaky-token'

  beforeAll(async () => {
    server = await serveFromTempDir('proj-serve-flaky', (dir) => createStoreServer({ dir, token }))
  })
  afterAll(() => server.stop())

  it('every flushed clock is readable by a fresh device', async () => {
    const random = seededRandom(11)
    let failures = 0
    // Half the faults never reach the server, half lose the reply after the server acted.
    const flakyFetch: typeof fetch = async (input, init) => {
      const roll = random()
      if (roll < 0.15) {
        failures++
        throw new TypeError('fetch failed (injected before the request)')
      }
      const response = await fetch(input, init)
      if (roll < 0.3) {
        failures++
        await response.arrayBuffer()
        throw new TypeError('fetch failed (injected: reply lost)')
      }
      return response
    }
    const a = database('flaky-http', { storage: 'memory', dir: `/flaky-http/a/${Math.random()}` })
    const key = await a.exportKey()
    const b = database('flaky-http', { storage: 'memory', dir: `/flaky-http/b/${Math.random()}`, key })
    const options = { token, fetch: flakyFetch, pollInterval: 0, maxBackoff: 20 }
    const syncA = connect.http(a, server.url, options)
    const syncB = connect.http(b, server.url, options)
    const promises: Promise_[] = []
    try {
      await Promise.all([syncA.ready, syncB.ready])
      for (let round = 0; round < 6; round++) {
        const [writer, writerSync, readerSync] = round % 2 ? [b, syncB, syncA] : [a, syncA, syncB]
        await writer.bulk(Array.from({ length: 4 }, (_, i) => ({ _id: `h${round}-${i}`, round })))
        promises.push(await promiseOf(writer, writerSync))
        await readerSync.refresh()
      }
      expect(failures).toBeGreaterThan(5)
      const problems = await unreadable('flaky-http', key, (db) => connect.http(db, server.url, { token, pollInterval: 0 }), promises)
      expect(problems).toEqual([])
    } finally {
      await syncA.close()
      await syncB.close()
      await a.close()
      await b.close()
    }
  })

  it('a file the server lost is uploaded again by the device that holds it, after a restart', async () => {
    const deviceDir = await mkdtemp(join(tmpdir(), 'repair-http-'))
    try {
      let db = database('repair-http', { dir: deviceDir })
      const key = await db.exportKey()
      for (let i = 0; i < 15; i++) await db.put({ _id: `doc${String(i).padStart(2, '0')}`, text: 'q'.repeat(3000) })
      let sync = connect.http(db, server.url, { token, pollInterval: 0 })
      await sync.flush()
      await sync.close()
      await db.close()
      // An operator deletes half of the database's files on the server.
      const dataDir = join(server.dir, 'repair-http', 'data')
      const files = await readdir(dataDir)
      const lost = files.slice(0, Math.ceil(files.length / 2))
      for (const file of lost) await rm(join(dataDir, file))

      db = database('repair-http', { dir: deviceDir })
      sync = connect.http(db, server.url, { token, pollInterval: 0 })
      await sync.ready
      // Uploaded again in the background after ready: waited for (a fixed 5 s could end first on a loaded machine).
      await vi.waitFor(async () => expect((await readdir(dataDir)).sort()).toEqual(files.sort()), { timeout: 20_000 })
      const promise = await promiseOf(db, sync)
      await sync.close()
      await db.close()
      expect(await unreadable('repair-http', key, (fresh) => connect.http(fresh, server.url, { token, pollInterval: 0 }), [promise])).toEqual([])
    } finally {
      await rm(deviceDir, { recursive: true, force: true })
    }
  })
})
