import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import * as format from '../src/format/index.js'
import { database, type Clock, type Database } from '../src/index.js'
import { dataFiles, readDataFile, seededRandom, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/**
 * Small transactions write delta events (their entries, not a tree path: format/event.ts); every 32nd event,
 * a merge, a large transaction or the first write after opening writes a checkpoint with the tree. These
 * tests try to catch a reader that derives another tree than the writer had, a tree swept while read, and
 * history that stops reading after a reopen, a compaction or a sync.
 */
const doc = (i: number, v = 0) => ({ _id: `doc-${String(i).padStart(5, '0')}`, v, title: `Document ${i}`, body: 'x'.repeat(120) })

function newFileSizes(dir: string, name: string, before: Set<string>): number[] {
  return dataFiles(dir, name)
    .filter((file) => !before.has(file))
    .map((file) => readDataFile(dir, name, file).length)
}


async function allOf(db: Pick<Database, 'allDocs'>): Promise<Record<string, unknown>> {
  return Object.fromEntries((await db.allDocs()).rows.map((row) => [row.key, row.value]))
}

describe('delta events', () => {
  it('a single put into a 3 000-doc database writes one small file; every 32nd is a checkpoint', async () => {
    const dir = tempDir()
    const db = database('d', { dir, compactEvery: 0 })
    for (let i = 0; i < 3000; i += 1000) await db.bulk(Array.from({ length: 1000 }, (_, k) => doc(i + k)))
    const sizes: number[] = []
    for (let i = 0; i < 64; i++) {
      const before = new Set(dataFiles(dir, 'd'))
      await db.put(doc(i * 37, 1))
      const added = newFileSizes(dir, 'd', before)
      expect(added).toHaveLength(1)
      sizes.push(added[0]!)
    }
    const small = sizes.filter((size) => size < 1024)
    // Before delta events every one of these files held a leaf of ~32 documents and its path (~8 KB).
    expect(small.length).toBeGreaterThanOrEqual(60)
    expect(Math.max(...small)).toBeLessThan(1024)
    expect(sizes.filter((size) => size > 2048).length).toBeLessThanOrEqual(3)
    await db.close()
    const again = database('d', { dir })
    expect(await again.get(doc(63 * 37)._id)).toEqual(doc(63 * 37, 1))
    expect((await again.allDocs()).rows).toHaveLength(3000)
    await again.close()
  })

  it('reads every past clock of random writes as it was: live, after a reopen, and from a fresh device', async () => {
    const next = seededRandom(14)
    const dir = tempDir()
    const backend = memoryBackend()
    const db = database('h', { dir, compactEvery: 0 })
    const model: Record<string, unknown> = {}
    const history: { clock: Clock; state: Record<string, unknown>; ids: string[] }[] = []
    for (let step = 0; step < 150; step++) {
      const roll = next()
      const id = `k${Math.floor(next() * 40)}`
      if (roll < 0.1) {
        const docs = Array.from({ length: 1 + Math.floor(next() * 80) }, (_, i) => ({ _id: `b${Math.floor(next() * 200)}-${i}`, step }))
        const { clock } = await db.bulk(docs)
        for (const d of docs) model[d._id] = d
        history.push({ clock, state: { ...model }, ids: docs.map((d) => d._id) })
      } else if (roll < 0.25 && model[id]) {
        const { clock } = await db.del(id)
        delete model[id]
        history.push({ clock, state: { ...model }, ids: [id] })
      } else {
        const value = { _id: id, step, text: 't'.repeat(Math.floor(next() * 300)) }
        const { clock } = await db.put(value)
        model[id] = value
        history.push({ clock, state: { ...model }, ids: [id] })
      }
    }
    for (const { clock, state } of history) expect(await allOf(await db.at(clock))).toEqual(state)
    const sync = db.connect(backend(), { pollInterval: 0 })
    await sync.flush()
    await db.close()

    const reopened = database('h', { dir })
    expect(await allOf(reopened)).toEqual(model)
    for (const { clock, state } of history.filter((_, i) => i % 7 === 0)) expect(await allOf(await reopened.at(clock))).toEqual(state)
    // changes since a delta clock: exactly the ids written (put or deleted) after it.
    const changed = (await reopened.changes(history[75]!.clock)).rows.map((row) => row.key).sort()
    expect(changed).toEqual([...new Set(history.slice(76).flatMap((step) => step.ids))].sort())
    await reopened.close()

    const fresh = database('h', { storage: 'memory', key: await database('h', { dir }).exportKey() })
    const freshSync = fresh.connect(backend(), { pollInterval: 0 })
    await freshSync.ready
    await freshSync.refresh()
    expect(await allOf(fresh)).toEqual(model)
    for (const { clock, state } of history.filter((_, i) => i % 11 === 0)) expect(await allOf(await fresh.at(clock))).toEqual(state)
    await fresh.close()
  })

  it('a read walking the tree is not broken by the writes and checkpoints that happen meanwhile', async () => {
    const backend = memoryBackend()
    const a = database('r', { storage: 'memory', compactEvery: 0 })
    // Ascending ids in bulks of 100: the leaves end up spread over 20 files.
    for (let i = 0; i < 2000; i += 100) await a.bulk(Array.from({ length: 100 }, (_, k) => doc(i + k)))
    // Deltas at the end of the key space: the head's tree ends in derived nodes, which a scan reaches last.
    for (let i = 0; i < 6; i++) await a.put(doc(1990 + i, 1))
    await a.connect(backend(), { pollInterval: 0 }).flush()
    const expected = await allOf(a)
    const key = await a.exportKey()
    await a.close()
    // A fresh device whose backend answers slowly: its reads load the leaf files one by one, lazily.
    const b = database('r', { storage: 'memory', compactEvery: 0, key })
    const inner = backend()
    const slow = { ...inner, download: async (db: string, cid: string) => (await new Promise((r) => setTimeout(r, 15)), inner.download(db, cid)) }
    const sync = b.connect(slow, { pollInterval: 0 })
    await sync.ready
    await sync.refresh()
    const reads = [b.allDocs(), b.changes([])] as const
    // Meanwhile this device writes in the same region: its first write is a checkpoint, which sweeps the
    // derived nodes no live tree reaches, unless a reader pinned them.
    const writes = (async () => {
      for (let i = 0; i < 40; i++) await b.put(doc(1996 + (i % 4), i + 2))
    })()
    const [all, changes] = await Promise.all(reads)
    await writes
    expect(Object.fromEntries(all.rows.map((row) => [row.key, row.value]))).toEqual(expected)
    expect(changes.rows).toHaveLength(2000)
    // That clock still reads, derived again, after the trees it had were swept.
    const view = await b.at(all.clock)
    for (let i = 0; i < 40; i++) await b.put(doc(i, 500 + i))
    expect(await allOf(view)).toEqual(expected)
    await b.close()
  })

  it('a query at a delta head persists its index, naming the head event; a reopened database answers from it', async () => {
    const dir = tempDir()
    const db = database('q', { dir, compactEvery: 0 })
    await db.bulk(Array.from({ length: 300 }, (_, i) => ({ ...doc(i), v: i % 3 })))
    await db.put({ ...doc(1), v: 9 })
    await db.del(doc(2)._id)
    expect((await db.query('v', { key: 9 })).rows.map((row) => row.id)).toEqual([doc(1)._id])
    const { clock } = await db.put({ ...doc(4), v: 9 })
    await db.close()
    const record = format.decodeIndexRecord(readFileSync(join(dir, 'q', 'records', 'indexes.main')), 'indexes')
    expect(record).toHaveLength(1)
    // The delta head the query saw (the put after it is not in it).
    expect(record[0]!.docEvent).toBeDefined()
    expect(String(record[0]!.docEvent)).not.toBe(clock[0])
    const again = database('q', { dir })
    expect((await again.query('v', { key: 9 })).rows.map((row) => row.id)).toEqual([doc(1)._id, doc(4)._id])
    expect((await again.query('v', { key: 2 })).rows.map((row) => row.id)).not.toContain(doc(2)._id)
    await again.close()
  })

  it('a head record whose root is not the tree its delta head event gives: CorruptRecordError at open', async () => {
    const dir = tempDir()
    const db = database('c', { dir, compactEvery: 0 })
    await db.bulk(Array.from({ length: 100 }, (_, i) => doc(i)))
    await db.put(doc(1, 1))
    await db.put(doc(2, 1))
    await db.close()
    const path = join(dir, 'c', 'records', 'head.main')
    const record = dagCbor.decode(readFileSync(path)) as { root: CID }
    // A well-formed root CID that no file holds: only deriving the head's tree can tell it is wrong.
    const wrong = CID.parse('bafyreibiswgm67aobphhofhxojafecagxgu4hqwfvhxwxhvvdqvpi7extu')
    expect(wrong.equals(record.root)).toBe(false)
    writeFileSync(path, dagCbor.encode({ ...record, root: wrong }))
    const broken = database('c', { dir })
    const error = await broken.get(doc(1)._id).catch((e: unknown) => e as Error)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).name).toBe('CorruptRecordError')
    expect((error as Error).message).toContain('head.main')
    await broken.close()
  })

  it('a compaction at a delta head keeps the head readable offline after a reopen, and later writes derive from it', async () => {
    const dir = tempDir()
    const db = database('z', { dir, compactEvery: 0 })
    await db.bulk(Array.from({ length: 500 }, (_, i) => doc(i)))
    for (let i = 0; i < 5; i++) await db.put(doc(i, 1))
    await db.compact()
    for (let i = 5; i < 10; i++) await db.put(doc(i, 1))
    const expected = await allOf(db)
    await db.close()
    const again = database('z', { dir })
    expect(await allOf(again)).toEqual(expected)
    await again.put(doc(11, 1))
    expect(await again.get(doc(11)._id)).toEqual(doc(11, 1))
    await again.close()
  })
})
