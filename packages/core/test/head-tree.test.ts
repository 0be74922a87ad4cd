import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect, it } from 'vitest'
import { database, type Database } from '../src/index.js'
import { seededRandom, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/**
 * A small write builds no tree: its head names no root (head record version 2), and the tree is built when a
 * reader first asks, or by the next checkpoint (database/head-tree.ts). These tests try to catch a reader that
 * sees a tree without the latest acknowledged write, a write that misses an earlier pending one (a lost
 * conflict version, a delete of an id written since the last tree), and trees that differ between the writer,
 * another instance over the same directory, a reopened database and a fresh device.
 */
const doc = (id: string, step: number) => ({ _id: id, step, text: `value at step ${step}` })

async function allOf(db: Pick<Database, 'allDocs'>): Promise<Record<string, unknown>> {
  return Object.fromEntries((await db.allDocs()).rows.map((row) => [row.key, row.value]))
}

/** A writer `a` (memory) and a reader `b` (files in `dir`) with the same key, synced through one backend. */
async function syncedPair(name: string, dir: string) {
  const backend = memoryBackend()
  const a = database(name, { storage: 'memory', compactEvery: 0 })
  const b = database(name, { dir, compactEvery: 0, key: await a.exportKey() })
  await a.bulk([{ _id: 'seed', v: 0 }])
  const syncA = a.connect(backend(), { pollInterval: 0 })
  const syncB = b.connect(backend(), { pollInterval: 0 })
  await Promise.all([syncA.ready, syncB.ready])
  await syncA.flush()
  await syncB.refresh()
  return { a, b, syncA, syncB }
}

describe('the tree at a delta head', () => {
  it('a delta put stores a head with no root; the database, reopened, reads it', async () => {
    const dir = tempDir()
    const db = database('t', { dir, compactEvery: 0 })
    await db.bulk([doc('a', 0), doc('b', 0)])
    await db.put(doc('c', 1))
    await db.put(doc('a', 2))
    await db.close()
    const record = dagCbor.decode(readFileSync(join(dir, 't', 'records', 'head.main'))) as Record<string, unknown>
    expect(record.v).toBe(2)
    expect(record.root).toBeUndefined()
    const again = database('t', { dir })
    expect(await allOf(again)).toEqual({ a: doc('a', 2), b: doc('b', 0), c: doc('c', 1) })
    await again.close()
  })

  it('a run of single writes with no read in between, longer than a checkpoint interval, loses none of them', async () => {
    const dir = tempDir()
    const db = database('run', { dir, compactEvery: 0 })
    await db.put(doc('first', 0))
    await db.get('first')
    const expected: Record<string, unknown> = { first: doc('first', 0) }
    // Distinct ids, then rewrites of early ones: the pending entries of one delta chain, and a checkpoint.
    for (let i = 0; i < 70; i++) {
      const id = i < 50 ? `w${i}` : `w${i - 50}`
      await db.put(doc(id, i))
      expected[id] = doc(id, i)
    }
    expect(await allOf(db)).toEqual(expected)
    await db.close()
    const again = database('run', { dir })
    expect(await allOf(again)).toEqual(expected)
    await again.close()
  })

  it('random writes with reads racing them, a second instance over the same directory, a reopen and a fresh device all see every acknowledged write', async () => {
    const next = seededRandom(2026)
    const dir = tempDir()
    const backend = memoryBackend()
    const db = database('p', { dir, compactEvery: 0 })
    const model: Record<string, unknown> = {}
    const racing: Promise<void>[] = []
    for (let step = 0; step < 400; step++) {
      const roll = next()
      const id = `k${Math.floor(next() * 30)}`
      if (roll < 0.05) {
        const docs = Array.from({ length: 1 + Math.floor(next() * 90) }, (_, i) => doc(`b${Math.floor(next() * 100)}-${i}`, step))
        await db.bulk(docs)
        for (const d of docs) model[d._id] = d
      } else if (roll < 0.2 && model[id]) {
        await db.del(id)
        delete model[id]
      } else if (roll < 0.25 && !model[id]) {
        // A delete of an id with no live version must be refused, whichever delta wrote it last.
        await expect(db.del(id)).rejects.toMatchObject({ name: 'NotFoundError' })
      } else {
        await db.put(doc(id, step))
        model[id] = doc(id, step)
      }
      // A read right after the acknowledged write sees it; reads not awaited race the next writes.
      if (next() < 0.3) expect(await db.get(id).catch(() => undefined)).toEqual(model[id])
      if (next() < 0.1) {
        const expected = { ...model }
        racing.push(allOf(db).then((all) => expect(all).toEqual(expected)))
      }
      if (next() < 0.05) {
        const expected = Object.values(model).filter((value) => (value as { step: number }).step % 2 === 0).length
        const rows = await db.query((d: Record<string, unknown>, emit) => {
          if ((d.step as number) % 2 === 0) emit(d._id)
        })
        expect(rows.rows).toHaveLength(expected)
      }
    }
    await Promise.all(racing)
    // Another instance over the same directory reads the rootless head record and derives the same tree.
    const other = database('p', { dir })
    expect(await allOf(other)).toEqual(model)
    await other.close()
    // One writer: no id may hold a conflict (a pending entry a later write missed would leave one).
    for (const id of Object.keys(model)) expect(await db.get(id, { conflicts: true })).toEqual(model[id])
    const sync = db.connect(backend(), { pollInterval: 0 })
    await sync.flush()
    const key = await db.exportKey()
    await db.close()

    const reopened = database('p', { dir })
    expect(await allOf(reopened)).toEqual(model)
    await reopened.close()
    const fresh = database('p', { storage: 'memory', key })
    const freshSync = fresh.connect(backend(), { pollInterval: 0 })
    await freshSync.ready
    await freshSync.refresh()
    expect(await allOf(fresh)).toEqual(model)
    await fresh.close()
  })

  it('a reader adopting a writer\'s deltas live reports exactly what changed and reads the same tree, with its own writes in between', async () => {
    const next = seededRandom(77)
    const { a, b, syncA, syncB } = await syncedPair('live', tempDir())
    const seen: { key: string; value: unknown }[] = []
    b.subscribe((rows) => seen.push(...rows.map((row) => ({ key: row.key, value: row.deleted ? undefined : row.value }))))
    for (let round = 0; round < 40; round++) {
      // A run of A's single writes (deltas on top of what B holds), then B takes them in one pull.
      const expected = new Map<string, unknown>()
      for (let i = 0, n = 1 + Math.floor(next() * 6); i < n; i++) {
        const id = `k${Math.floor(next() * 15)}`
        if (next() < 0.2 && (await a.get(id).catch(() => undefined))) {
          await a.del(id)
          expected.set(id, undefined)
        } else {
          const doc = { _id: id, round, i }
          await a.put(doc)
          expected.set(id, doc)
        }
      }
      await syncA.flush()
      seen.length = 0
      await syncB.refresh()
      const reported = new Map(seen.map(({ key, value }) => [key, value]))
      expect([...reported.keys()].sort()).toEqual([...expected.keys()].sort())
      for (const [id, doc] of expected) expect(reported.get(id)).toEqual(doc)
      expect(await allOf(b)).toEqual(await allOf(a))
      // Sometimes B writes too: a merge on A's side, a checkpoint on B's.
      if (next() < 0.25) {
        await b.put({ _id: `b${round}`, round })
        await syncB.flush()
        await syncA.refresh()
      }
    }
    await b.close()
    await a.close()
  })

  it('a reader that adopted deltas and never read them reopens offline with every document', async () => {
    const dir = tempDir()
    const { a, b, syncA, syncB } = await syncedPair('offline', dir)
    for (let i = 0; i < 20; i++) {
      await a.put({ _id: `d${i % 7}`, i })
      if (i % 3 === 0) await a.del('seed').catch(() => undefined)
      await syncA.flush()
      await syncB.refresh()
    }
    const expected = await allOf(a)
    await b.close()
    // No sync: the events B downloaded are stored here, and its head record names no root to trust.
    const again = database('offline', { dir })
    expect(await allOf(again)).toEqual(expected)
    await again.close()
    await a.close()
  })
})
