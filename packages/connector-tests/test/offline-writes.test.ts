import { afterEach, describe, expect, it } from 'vitest'
import { database, NotFoundError, type Database, type Sync } from '@proj/core'
import { MemoryBackend, MemoryConnector } from '../src/index.js'
import { MeteredConnector, uniqueDir, until } from './sync-helpers.js'

/**
 * A device that started lazily from a backend holds only the parts of the document tree it has read. Writes
 * to those parts work offline; a write that needs a part never downloaded cannot be made while no backend
 * serves it: it is rejected alone, with a typed error that says so, and nothing is written (see the core
 * README, "Offline").
 */

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close().catch(() => {})
})

function device(name: string, key?: string): Database {
  const db = database(name, { storage: 'memory', dir: uniqueDir('offline'), key, compactEvery: 0 })
  open.push(db)
  return db
}

function connect(db: Database, connector: MemoryConnector | MeteredConnector): Sync {
  const sync = db.connect(connector, { pollInterval: 0, maxBackoff: 50, flushTimeout: 5_000 })
  open.push(sync)
  return sync
}

const id = (i: number) => `doc${String(i).padStart(5, '0')}`

describe('offline writes on a device that started lazily', () => {
  it('writes to what it has read succeed offline; a write needing an undownloaded part is rejected alone with a typed error; all converge when back', async () => {
    const backend = new MemoryBackend()
    const a = device('lazy-offline')
    const syncA = connect(a, new MemoryConnector(backend))
    await syncA.ready
    // One file per range of ids: a lazy reader downloads only the files of the leaves it reads.
    for (let from = 0; from < 3000; from += 100) await a.bulk(Array.from({ length: 100 }, (_, i) => ({ _id: id(from + i), n: from + i })))
    await syncA.flush()

    const metered = new MeteredConnector(new MemoryConnector(backend))
    const b = device('lazy-offline', await a.exportKey())
    const syncB = connect(b, metered)
    await syncB.ready
    // Reads (and keeps) the leaves of doc00010..doc00012.
    for (const i of [10, 11, 12]) expect(await b.get(id(i))).toEqual({ _id: id(i), n: i })
    metered.down = true

    // Ids in the leaf it holds: update, delete, create next to them.
    await b.put({ _id: id(10), n: 'edited offline' })
    await b.del(id(11))
    await b.put({ _id: `${id(10)}a`, n: 'new offline' })
    expect(await b.get(id(10))).toEqual({ _id: id(10), n: 'edited offline' })
    await expect(b.get(id(11))).rejects.toThrow(NotFoundError)

    // An id in a leaf it never read, queued together with a write it can make.
    const before = await b.clock()
    const [far, near] = await Promise.allSettled([b.put({ _id: id(2500), n: 'far' }), b.put({ _id: id(12), n: 'near' })])
    expect(near.status).toBe('fulfilled')
    expect(far.status).toBe('rejected')
    const error = (far as PromiseRejectedResult).reason as Error & { ids?: string[]; permanent?: boolean }
    expect(error.name).toBe('NotDownloadedError')
    expect(error.ids).toEqual([id(2500)])
    expect(error.permanent).toBe(false)
    expect(error.message).toContain(id(2500))
    expect(error.message).toContain('lazy-offline')
    expect(await b.clock()).not.toEqual(before) // the near write went through
    const delFar = await b.del(id(2600)).catch((e: Error) => e)
    expect((delFar as Error).name).toBe('NotDownloadedError')

    // Back online: the rejected write can be made, and both devices converge.
    metered.down = false
    await b.put({ _id: id(2500), n: 'far, retried' })
    await syncB.flush()
    await syncA.refresh()
    await until(async () => JSON.stringify(await a.clock()) === JSON.stringify(await b.clock()))
    for (const db of [a, b]) {
      expect(await db.get(id(10))).toEqual({ _id: id(10), n: 'edited offline' })
      await expect(db.get(id(11))).rejects.toThrow(NotFoundError)
      expect(await db.get(`${id(10)}a`)).toEqual({ _id: `${id(10)}a`, n: 'new offline' })
      expect(await db.get(id(12))).toEqual({ _id: id(12), n: 'near' })
      expect(await db.get(id(2500))).toEqual({ _id: id(2500), n: 'far, retried' })
      expect(await db.get(id(2600))).toEqual({ _id: id(2600), n: 2600 })
    }
    expect((await a.allDocs()).rows).toEqual((await b.allDocs()).rows)
  })
})
