import { describe, expect, it } from 'vitest'
import { database, type Clock } from '../src/index.js'
import { memoryBackend } from './memory-backend.js'
import { bulkLoad, tempDir } from './helpers.js'

const DOCS = 4000
const doc = (i: number, v: number) => ({ _id: `d${String(i).padStart(5, '0')}`, n: i % 10, v, text: 'x'.repeat(300) })

describe('compaction outside the write queue', () => {
  it('puts issued while a compaction runs resolve before it does, and read back after a reopen, on a fresh device and at their clocks', async () => {
    const dir = tempDir()
    const db = database('q', { dir, compactEvery: 0 })
    const model = new Map<string, { _id: string; n: number; v: number; text: string }>()
    await bulkLoad(db, DOCS, (i) => doc(i, 0), (d) => model.set(d._id, d))
    // A persisted index, which the compaction rebuilds.
    expect((await db.query('n', { key: 3 })).rows).toHaveLength(DOCS / 10)

    let compacted = false
    const compaction = db.compact().then(() => {
      compacted = true
    })
    const written: { id: string; clock: Clock; value: (typeof model extends Map<string, infer V> ? V : never) | undefined }[] = []
    let resolvedBefore = 0
    for (let k = 1; !compacted; k++) {
      // Updates, new documents and deletes, each awaited before the next is issued.
      const i = k % 5 === 0 ? DOCS + k : (k * 7919) % DOCS
      const id = doc(i, 0)._id
      let clock: Clock
      if (k % 11 === 0 && model.has(id)) {
        ;({ clock } = await db.del(id))
        model.delete(id)
      } else {
        const value = doc(i, k)
        ;({ clock } = await db.put(value))
        model.set(id, value)
      }
      if (!compacted) resolvedBefore++
      written.push({ id, clock, value: model.get(id) })
    }
    await compaction
    // Before: every put issued after compact() waited for the whole rewrite (at most the one queued ahead of
    // it resolved first).
    expect(resolvedBefore).toBeGreaterThanOrEqual(3)
    // The first put may have been queued ahead of the compaction's snapshot; every later one came after it.
    const afterSnapshot = written.slice(1)

    const check = async (d: typeof db, where: string) => {
      const rows = (await d.allDocs()).rows
      expect(rows.length, where).toBe(model.size)
      for (const row of rows) expect(row.value, `${where}: ${row.key}`).toEqual(model.get(row.key))
      const threes = [...model.values()].filter((value) => value.n === 3).length
      expect((await d.query('n', { key: 3 })).rows, where).toHaveLength(threes)
    }
    const checkHistory = async (d: typeof db, where: string) => {
      for (const { id, clock, value } of afterSnapshot) {
        const view = await d.at(clock)
        expect(await view.get(id).catch(() => undefined), `${where}: ${id} at ${clock}`).toEqual(value)
      }
    }
    await check(db, 'after the compaction')
    await checkHistory(db, 'after the compaction')
    await db.close()

    const again = database('q', { dir, compactEvery: 0 })
    await check(again, 'reopened')
    await checkHistory(again, 'reopened')
    // Compacting again drops the files the state written meanwhile no longer needs, and keeps what it needs.
    await again.compact()
    await check(again, 'compacted again')
    const backend = memoryBackend()
    const sync = again.connect(backend(), { pollInterval: 0 })
    await sync.flush()
    const fresh = database('q', { storage: 'memory', key: await again.exportKey() })
    const freshSync = fresh.connect(backend(), { pollInterval: 0 })
    await freshSync.ready
    await check(fresh, 'fresh device')
    await Promise.all([sync.close(), freshSync.close()])
    await Promise.all([again.close(), fresh.close()])
  }, 120_000)

  it('an attachment written back while a compaction runs, from a version the compaction drops, keeps its files', async () => {
    const dir = tempDir()
    const db = database('att', { dir, compactEvery: 0 })
    const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 251)
    await db.put({ _id: 'x', _files: { 'a.bin': { data: bytes, type: 'application/octet-stream' } } })
    const old = await db.get<{ _files: Record<string, unknown> }>('x')
    // The current state no longer names the attachment: the compaction does not rewrite its manifest.
    await db.put({ _id: 'x', v: 1 })
    for (let i = 0; i < DOCS; i += 1000) await db.bulk(Array.from({ length: 1000 }, (_, k) => doc(i + k, 0)))
    let compacted = false
    const compaction = db.compact().then(() => {
      compacted = true
    })
    // Queued after the compaction's snapshot (the first put may be queued ahead of it).
    await db.put({ _id: 'y', v: 1 })
    expect(compacted, 'the compaction was still running').toBe(false)
    await db.put({ _id: 'x', v: 2, _files: old._files })
    await compaction
    await db.close()
    const again = database('att', { dir, compactEvery: 0 })
    const x = await again.get<{ v: number; _files: Record<string, { file(): Promise<Blob> }> }>('x')
    expect(x.v).toBe(2)
    expect(new Uint8Array(await (await x._files['a.bin']!.file()).arrayBuffer())).toEqual(bytes)
    await again.close()
  }, 120_000)

  it('a head adopted from another device while a compaction runs (deltas on the head it compacts) still opens offline', async () => {
    const { dirA, a, b, sa, sb } = await headFromAnotherDevice()
    expect(await a.clock()).toEqual(await b.clock())
    await b.put(doc(2, 2))
    await b.put(doc(DOCS + 1, 3))
    await sb.flush()
    // A compacts its head (B's first delta) while it adopts B's next deltas.
    const compaction = a.compact()
    await sa.refresh()
    await compaction
    expect(await a.clock()).toEqual(await b.clock())
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
    // Offline: no backend serves the files the compaction deleted, and the head is B's last delta.
    const again = database('r', { dir: dirA, compactEvery: 0 })
    expect(await again.get(doc(0, 0)._id)).toEqual(doc(0, 1))
    expect(await again.get(doc(1, 0)._id)).toEqual(doc(1, 1))
    expect(await again.get(doc(2, 0)._id)).toEqual(doc(2, 2))
    expect(await again.get(doc(DOCS + 1, 0)._id)).toEqual(doc(DOCS + 1, 3))
    expect((await again.allDocs()).rows).toHaveLength(DOCS + 1)
    await again.put(doc(3, 4))
    expect(await again.get(doc(3, 0)._id)).toEqual(doc(3, 4))
    await again.compact()
    await again.close()
    const third = database('r', { dir: dirA, compactEvery: 0 })
    expect((await third.allDocs()).rows).toHaveLength(DOCS + 1)
    expect(await third.get(doc(2, 0)._id)).toEqual(doc(2, 2))
    await third.close()
  }, 120_000)

  it('deltas adopted from another device after a compaction of a delta head still open offline', async () => {
    const { dirA, a, b, sa, sb } = await headFromAnotherDevice()
    // A compacts that head (its parents' files go).
    await a.compact()
    // B's next deltas build on that head; A adopts them after the compaction.
    await b.put(doc(2, 2))
    await b.put(doc(DOCS + 1, 3))
    await sb.flush()
    await sa.refresh()
    expect(await a.get(doc(2, 0)._id)).toEqual(doc(2, 2))
    // What A wrote on top (a checkpoint of the adopted tree) reaches B, and both hold one state.
    await sa.flush()
    await sb.refresh()
    expect((await b.allDocs()).rows).toEqual((await a.allDocs()).rows)
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
    // Offline: no backend serves the files the compaction deleted.
    const again = database('r', { dir: dirA, compactEvery: 0 })
    expect(await again.get(doc(0, 0)._id)).toEqual(doc(0, 1))
    expect(await again.get(doc(2, 0)._id)).toEqual(doc(2, 2))
    expect(await again.get(doc(DOCS + 1, 0)._id)).toEqual(doc(DOCS + 1, 3))
    expect((await again.allDocs()).rows).toHaveLength(DOCS + 1)
    await again.close()
  }, 120_000)
})

/**
 * A (file storage) and B (memory) syncing through one backend: A bulk-loads DOCS docs, B adopts them and writes
 * two docs (its first write after adopting is a checkpoint, the next a delta on it), and A adopts those: A's
 * head is then one of B's delta events.
 */
async function headFromAnotherDevice() {
  const backend = memoryBackend()
  const dirA = tempDir()
  const a = database('r', { dir: dirA, compactEvery: 0 })
  const b = database('r', { storage: 'memory', key: await a.exportKey(), compactEvery: 0 })
  const sa = a.connect(backend(), { pollInterval: 0 })
  const sb = b.connect(backend(), { pollInterval: 0 })
  for (let i = 0; i < DOCS; i += 1000) await a.bulk(Array.from({ length: 1000 }, (_, k) => doc(i + k, 0)))
  await sa.flush()
  await sb.refresh()
  await b.put(doc(0, 1))
  await b.put(doc(1, 1))
  await sb.flush()
  await sa.refresh()
  return { dirA, a, b, sa, sb }
}
