import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { database, type Clock } from '../src/index.js'
import { seededRandom, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/**
 * Blocks read from files are kept within `cacheBytes` (least recently used out): a database larger than
 * memory is scanned and indexed in bounded memory, and an evicted block is read again from its file. These
 * tests run with caches far smaller than one file, so every read path meets evicted blocks.
 */
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}


describe('block cache', () => {
  it('refuses a cacheBytes that is not a positive integer, naming it', () => {
    for (const bad of [0, -1, 1.5, '1MB', Number.NaN]) {
      expect(() => database('bad', { storage: 'memory', cacheBytes: bad as number })).toThrow(
        /database\("bad"\): cacheBytes must be a positive integer \(bytes\), got/,
      )
    }
  })

  it('reads exactly what was written through a 16 KiB cache: random writes, reopens, compactions, history, a fresh device', async () => {
    const next = seededRandom(99)
    const dir = tempDir()
    const backend = memoryBackend()
    const model: Record<string, unknown> = {}
    const history: { clock: Clock; state: Record<string, unknown> }[] = []
    let db = database('c', { dir, cacheBytes: 16 * 1024, compactEvery: 0 })
    for (let step = 0; step < 80; step++) {
      const roll = next()
      if (roll < 0.15) {
        const docs = Array.from({ length: 50 + Math.floor(next() * 200) }, (_, i) => ({ _id: `b${Math.floor(next() * 3000)}-${i}`, n: step, pad: 'p'.repeat(100) }))
        const { clock } = await db.bulk(docs)
        for (const doc of docs) model[doc._id] = doc
        history.push({ clock, state: { ...model } })
      } else if (roll < 0.2) {
        await db.compact()
      } else if (roll < 0.25) {
        await db.close()
        db = database('c', { dir, cacheBytes: 16 * 1024, compactEvery: 0 })
      } else {
        const id = `k${Math.floor(next() * 60)}`
        const doc = { _id: id, n: step }
        const { clock } = await db.put(doc)
        model[id] = doc
        history.push({ clock, state: { ...model } })
      }
      if (step % 10 === 0) {
        const all = await db.allDocs()
        expect(Object.fromEntries(all.rows.map((row) => [row.key, row.value]))).toEqual(model)
        expect((await db.query('n', { key: step })).rows.map((row) => row.id).sort()).toEqual(
          Object.values(model).filter((doc) => (doc as { n: number }).n === step).map((doc) => (doc as { _id: string })._id).sort(),
        )
      }
    }
    const all = await db.allDocs()
    expect(Object.fromEntries(all.rows.map((row) => [row.key, row.value]))).toEqual(model)
    // Clocks since the last compaction still read; older ones are HistoryUnavailableError (not wrong data).
    let read = 0
    for (const { clock, state } of history.slice(-20)) {
      const rows = await db
        .at(clock)
        .then((view) => view.allDocs())
        .then((result) => result.rows)
        .catch((error: Error) => error)
      if (rows instanceof Error) {
        expect(rows.name).toBe('HistoryUnavailableError')
        continue
      }
      read++
      expect(Object.fromEntries(rows.map((row) => [row.key, row.value]))).toEqual(state)
    }
    expect(read).toBeGreaterThan(0)
    await db.connect(backend(), { pollInterval: 0 }).flush()
    const key = await db.exportKey()
    await db.close()
    const fresh = database('c', { storage: 'memory', key, cacheBytes: 16 * 1024 })
    const sync = fresh.connect(backend(), { pollInterval: 0 })
    await sync.ready
    await sync.refresh()
    const freshRows = (await fresh.allDocs()).rows
    expect(Object.fromEntries(freshRows.map((row) => [row.key, row.value]))).toEqual(model)
    await fresh.close()
  })

  it('scans and indexes a database many times its cache without keeping what it read', async () => {
    const dir = tempDir()
    const writer = database('big', { dir, compactEvery: 0 })
    const body = 'x'.repeat(1000)
    for (let i = 0; i < 20_000; i += 2000) {
      await writer.bulk(Array.from({ length: 2000 }, (_, k) => ({ _id: `d${String(i + k).padStart(6, '0')}`, n: (i + k) % 97, body })))
    }
    await writer.close()
    // ~20 MB of documents, a 1 MiB cache.
    const db = database('big', { dir, cacheBytes: 1024 * 1024 })
    await db.get('d000000')
    const before = heapAfterGc()
    let seen = 0
    let after: string | undefined
    for (;;) {
      const page = await db.allDocs({ limit: 1000, ...(after ? { after } : {}) })
      if (page.rows.length === 0) break
      seen += page.rows.length
      after = page.rows.at(-1)!.key
    }
    expect(seen).toBe(20_000)
    expect((await db.query('n', { key: 5 })).rows).toHaveLength(207)
    const grown = heapAfterGc() - before
    // Unbounded (the cache before it had a budget), the heap grew by 38 MB here.
    expect(grown).toBeLessThan(12 * 1024 * 1024)
    await db.close()
  })
})
