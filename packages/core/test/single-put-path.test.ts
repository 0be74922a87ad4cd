import { describe, expect, it } from 'vitest'
import { BlockStore } from '../src/blockstore/store.js'
import { makeDeltaEvent, makeEvent } from '../src/clock/event.js'
import { applyEntries, applyEntriesNow } from '../src/crdt/tree.js'
import type { Entry } from '../src/crdt/entry.js'
import type { CID } from '../src/blockstore/block.js'
import { emptyTreeBlock } from '../src/database/open.js'
import { open } from '../src/crypto/envelope.js'
import { generateKeyBytes, importKey } from '../src/crypto/key.js'
import { writeHead, writeHeadNow } from '../src/database/head.js'
import { fileCid } from '../src/format/file.js'
import { memoryStorage } from '../src/storage/memory.js'
import { database, DatabaseInUseError, HistoryUnavailableError, inspectLocal, NotFoundError, type Clock, type Database } from '../src/index.js'
import { seededRandom, tempDir } from './helpers.js'

/**
 * A put or del with nothing queued commits in one synchronous step (transaction.ts commitNow); every other
 * write goes through the write queue. These tests try to catch the two paths writing different bytes, the
 * short path losing or reordering an acknowledged write, and it running where it must not (another
 * instance's compaction, a burst of unawaited puts that should make one transaction, a delete of nothing).
 */
describe('the single-write path', () => {
  it('writes the plaintext file and head record the write queue writes for the same transaction', async () => {
    const key = await importKey(generateKeyBytes())
    const parentFile = (await fileCid(new Uint8Array([1, 2, 3]))).toString()
    const parentOf = await makeDeltaEvent((await fileCid(new Uint8Array([9]))) as never, 1, [['x', 1, { v: 0 }]])
    const stores = ['queued', 'now'].map((name) => new BlockStore(memoryStorage(name), key, name))
    for (const store of stores) store.locate(parentOf.block.cid, parentFile)
    const delta = await makeDeltaEvent(parentOf.block.cid, 2, [['a', 2, { title: 'é', n: [1, 2.5, null], nested: { z: 1, a: true } }]])
    const queuedFile = await stores[0]!.commit([delta], [delta.block.cid])
    const storage = memoryStorage('now')
    const writes = storage.writeNow!()!
    const nowFile = stores[1]!.commitNow([delta], [delta.block.cid], writes)!
    expect(nowFile).toBeDefined()
    // Fresh IVs make the stored bytes differ; what they seal must not.
    const plain = async (store: BlockStore, file: string, from: typeof storage) => open(key, (await from.readFile(file))!, file, 'x')
    const queuedPlain = await plain(stores[0]!, queuedFile, stores[0]!.storage as typeof storage)
    const nowPlain = await plain(stores[1]!, nowFile, storage)
    expect(Buffer.from(nowPlain).equals(Buffer.from(queuedPlain))).toBe(true)

    const head = { heads: [delta.block.cid], files: [nowFile], height: 2 }
    const [a, b] = [memoryStorage('head-a'), memoryStorage('head-b')]
    await writeHead(a, 'main', head)
    writeHeadNow(b.writeNow!()!, b, 'main', head)
    expect(Buffer.from((await b.readRecord('head.main'))!).equals(Buffer.from((await a.readRecord('head.main'))!))).toBe(true)
  })

  it('builds and writes the checkpoint the write queue writes for the same tree, from the nodes held', async () => {
    const key = await importKey(generateKeyBytes())
    const stores = ['queued', 'now'].map((name) => new BlockStore(memoryStorage(name), key, name))
    const entry = (i: number, height: number): Entry => [`doc-${String(i).padStart(4, '0')}`, height, { n: i, text: 'x'.repeat(i % 50) }]
    // A base tree of a few hundred entries (several leaves and a branch), stored and held by both stores.
    const base: Entry[] = Array.from({ length: 300 }, (_, i) => entry(i * 3, 1))
    const roots: CID[] = []
    const parents: CID[] = []
    for (const store of stores) {
      const empty = emptyTreeBlock()
      store.putUnsaved(empty, [])
      const built = await applyEntries(store, empty.cid, base, () => true)
      const event = await makeEvent([], 1, built.root)
      await store.commit([...built.blocks, event], [event.block.cid])
      roots.push(built.root)
      parents.push(event.block.cid)
    }
    expect(roots[0]!.toString()).toBe(roots[1]!.toString())
    // Entries between, after and replacing the base's, as the pending entries of 31 deltas are.
    const incoming = [entry(1, 2), entry(3, 2), entry(450, 2), entry(899, 2), entry(900, 2), entry(1000, 2)]
    const queued = await applyEntries(stores[0]!, roots[0]!, incoming, () => true)
    const now = applyEntriesNow(stores[1]!, roots[1]!, incoming, () => true)!
    expect(now).toBeDefined()
    expect(now.root.toString()).toBe(queued.root.toString())
    expect(now.blocks.map(({ block }) => block.cid.toString())).toEqual(queued.blocks.map(({ block }) => block.cid.toString()))
    const event = await makeEvent([parents[0]!], 2, queued.root)
    // One store for both files: the base's file names (fresh IVs) differ from store to store.
    const store = stores[0]!
    const storage = store.storage as ReturnType<typeof memoryStorage>
    const queuedFile = await store.commit([...queued.blocks, event], [event.block.cid])
    const nowFile = store.commitNow([...now.blocks, event], [event.block.cid], storage.writeNow!()!)!
    expect(nowFile).toBeDefined()
    expect(nowFile).not.toBe(queuedFile)
    const queuedPlain = await open(key, (await storage.readFile(queuedFile))!, queuedFile, 'x')
    const nowPlain = await open(key, (await storage.readFile(nowFile))!, nowFile, 'x')
    expect(Buffer.from(nowPlain).equals(Buffer.from(queuedPlain))).toBe(true)
  })

  it('a checkpoint made in one step after a reader built the tree stores the nodes it shares with that tree', async () => {
    const dir = tempDir()
    const db = database('derived', { dir, durability: 'process', compactEvery: 0 })
    const clocks: Clock[] = []
    const expected = new Map<string, unknown>()
    for (let i = 0; i < 100; i++) {
      const id = `doc-${String((i * 37) % 100).padStart(3, '0')}`
      const { clock } = await db.put({ _id: id, i })
      expected.set(id, i)
      clocks.push(clock)
      // Readers build the pending tree between checkpoints: its nodes stay unsaved until one writes them.
      if (i % 7 === 3) expect((await db.allDocs()).rows).toHaveLength(expected.size)
    }
    await db.close()
    const fresh = database('derived', { dir, durability: 'process' })
    const rows = (await fresh.allDocs()).rows
    expect(new Map(rows.map((row) => [row.key, (row.value as unknown as { i: number }).i]))).toEqual(expected)
    for (const [k, clock] of clocks.entries()) expect((await (await fresh.at(clock)).allDocs()).rows.length).toBe(Math.min(k + 1, 100))
    const report = await inspectLocal('derived', { dir })
    expect(report.problems).toEqual([])
    await fresh.close()
  })

  it('a checkpoint over a pending document with attachments takes the write queue and keeps them', async () => {
    const dir = tempDir()
    const db = database('attached', { dir, durability: 'process', compactEvery: 0 })
    const bytes = new Uint8Array(Array.from({ length: 300 }, (_, i) => i & 0xff))
    await db.put({ _id: 'seed' })
    await db.put({ _id: 'with-file', _files: { 'a.bin': new File([bytes], 'a.bin') } })
    for (let i = 0; i < 70; i++) await db.put({ _id: `doc-${i}`, i })
    await db.close()
    // Reopened, its tree read (every leaf held), the next write is a checkpoint over a leaf naming the manifest.
    const again = database('attached', { dir, durability: 'process' })
    expect((await again.allDocs()).rows).toHaveLength(72)
    await again.put({ _id: 'after-reopen' })
    await again.close()
    const fresh = database('attached', { dir, durability: 'process' })
    const doc = await fresh.get('with-file')
    const file = (doc._files as Record<string, { file(): Promise<File> }>)['a.bin']!
    expect(new Uint8Array(await (await file.file()).arrayBuffer())).toEqual(bytes)
    expect((await fresh.info()).docCount).toBe(73)
    await fresh.close()
  })

  it('puts issued without awaiting each still make one transaction after the first', async () => {
    const dir = tempDir()
    const db = database('burst', { dir, durability: 'process' })
    await db.put({ _id: 'seed' })
    await db.put({ _id: 'seed-2' })
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => db.put({ _id: `b${i}` })))
    expect(new Set(results.map((r) => r.clock.join())).size).toBeLessThanOrEqual(2)
    expect((await db.allDocs()).rows).toHaveLength(42)
    await db.close()
  })

  it('a read called before a write never sees it, though the write commits before the read takes its next step', async () => {
    const db = database('reads-first', { storage: 'memory' })
    await db.put({ _id: 'x', v: 1 })
    await db.put({ _id: 'y', v: 1 })
    await db.query('v')
    // A write that takes the write queue's turn of the event loop if one is due: the next one is made in one step.
    await db.put({ _id: 'z', v: 0 })
    const reads = [db.get('x'), db.allDocs(), db.clock(), db.changes(), db.info()] as const
    const write = db.put({ _id: 'x', v: 2 })
    const [x, all, clock, changes, info] = await Promise.all(reads)
    const { clock: after } = await write
    expect(x).toEqual({ _id: 'x', v: 1 })
    expect(all.rows.map((row) => row.value)).toEqual([{ _id: 'x', v: 1 }, { _id: 'y', v: 1 }, { _id: 'z', v: 0 }])
    expect(clock).not.toEqual(after)
    expect(all.clock).toEqual(clock)
    expect(changes.clock).toEqual(clock)
    expect(info.clock).toEqual(clock)
    expect(info.docCount).toBe(3)
    // A query brings its index up to date in the write queue: a write issued after it waits behind it.
    const query = db.query('v')
    await db.put({ _id: 'y', v: 2 })
    expect((await query).rows.map((row) => [row.id, row.key])).toEqual([['z', 0], ['y', 1], ['x', 2]])
    expect(await db.get('x')).toEqual({ _id: 'x', v: 2 })
    await db.close()
  })

  it("a subscriber writing from its listener makes a later transaction, outside the clock of the write it saw", async () => {
    const db = database('reentrant', { storage: 'memory' })
    await db.put({ _id: 'seed' })
    await db.put({ _id: 'seed-2' })
    let echoed: Promise<{ clock: Clock }> | undefined
    db.subscribe((rows) => {
      if (rows.some((row) => row.key === 'a')) echoed = db.put({ _id: 'echo-of-a' })
    })
    const { clock } = await db.put({ _id: 'a' })
    const echo = await echoed!
    expect(echo.clock).not.toEqual(clock)
    const then = await db.at(clock)
    expect(await then.get('a')).toEqual({ _id: 'a' })
    await expect(then.get('echo-of-a')).rejects.toBeInstanceOf(NotFoundError)
    expect(await db.get('echo-of-a')).toEqual({ _id: 'echo-of-a' })
    await db.close()
  })

  it('refuses a delete of an id with no live version, whatever path it would take', async () => {
    const db = database('del-nothing', { storage: 'memory' })
    await db.put({ _id: 'a' })
    await db.put({ _id: 'b' })
    await expect(db.del('never')).rejects.toBeInstanceOf(NotFoundError)
    await db.del('a')
    await expect(db.del('a')).rejects.toBeInstanceOf(NotFoundError)
    expect((await db.allDocs()).rows.map((r) => r.key)).toEqual(['b'])
    await db.close()
  })

  for (const durability of ['process', 'power'] as const) {
    it(`keeps every acknowledged write of random operations with two instances and compactions (durability '${durability}')`, async () => {
      const dir = tempDir()
      const r = seededRandom(durability === 'process' ? 11 : 12)
      const model = new Map<string, unknown>()
      const snapshots: { clock: Clock; docs: Map<string, unknown> }[] = []
      let a: Database = database('prop', { dir, durability, compactEvery: 0 })
      // A second instance over the same folder, open for stretches (a compaction finishes only while it is not).
      let b: Database | undefined
      const ids = Array.from({ length: 30 }, (_, i) => `id-${i}`)
      const pick = () => ids[Math.floor(r() * ids.length)]!
      const writer = () => (r() < 0.8 || !b ? a : b)
      const lastWriter = new Map<string, Database>()
      let compaction: Promise<void> | undefined
      let readableFrom = 0
      for (let step = 0; step < 400; step++) {
        const roll = r()
        const id = pick()
        if (roll < 0.45) {
          const doc = { _id: id, step, text: 'x'.repeat(Math.floor(r() * 300)) }
          const db = writer()
          const { clock } = await db.put(doc)
          model.set(id, { step, text: doc.text })
          lastWriter.set(id, db)
          if (r() < 0.1) snapshots.push({ clock, docs: new Map(model) })
        } else if (roll < 0.6) {
          const db = writer()
          if (model.has(id)) {
            await db.del(id)
            model.delete(id)
            lastWriter.set(id, db)
          } else {
            await expect(db.del(id)).rejects.toBeInstanceOf(NotFoundError)
          }
        } else if (roll < 0.7) {
          // A burst of puts not awaited one by one, some of one id (the last wins).
          const burst = Array.from({ length: 1 + Math.floor(r() * 6) }, (_, k) => ({ _id: pick(), step, k }))
          await Promise.all(burst.map((doc) => a.put(doc)))
          for (const doc of burst) model.set(doc._id, { step, k: doc.k }), lastWriter.set(doc._id, a)
        } else if (roll < 0.75) {
          const docs = Array.from({ length: 1 + Math.floor(r() * 5) }, (_, k) => ({ _id: `bulk-${step}-${k}`, step }))
          const db = writer()
          await db.bulk(docs)
          for (const doc of docs) model.set(doc._id, { step }), lastWriter.set(doc._id, db)
        } else if (roll < 0.78) {
          const bytes = new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * step) & 0xff))
          await a.put({ _id: id, step, _files: { 'f.bin': new File([bytes], 'f.bin') } })
          model.set(id, { step, _files: 'f.bin' })
          lastWriter.set(id, a)
        } else if (roll < 0.82) {
          // A compaction runs while the writes after it go on (another instance open: it waits for a moment alone).
          // History before a local compaction may be gone (no backend keeps it); what came after must read.
          // Its snapshot is taken at a moment no public call shows, between compact() and its end: every clock
          // written before it ended may be gone.
          compaction ??= a
            .compact()
            .then(() => void (readableFrom = snapshots.length))
            .catch((error) => (error instanceof DatabaseInUseError ? undefined : Promise.reject(error)))
            .finally(() => (compaction = undefined))
        } else if (roll < 0.83) {
          if (b) await b.close()
          b = b ? undefined : database('prop', { dir, durability, compactEvery: 0 })
          lastWriter.clear()
        } else if (roll < 0.85) {
          await compaction
          await a.close()
          a = database('prop', { dir, durability, compactEvery: 0 })
          lastWriter.clear()
        } else {
          // An instance reads its own writes at once; another's once it has merged them (asynchronously).
          const reader = roll < 0.92 || !b ? a : b
          if (lastWriter.get(id) !== reader) continue
          const got = await reader.get(id).catch((error) => (error instanceof NotFoundError ? undefined : Promise.reject(error)))
          expect(got === undefined ? undefined : comparable(got), `${id} at step ${step}`).toEqual(model.get(id))
        }
      }
      await compaction
      await Promise.all([a.close(), b?.close()])
      const fresh = database('prop', { dir, durability })
      const all = await fresh.allDocs()
      expect(new Map(all.rows.map((row) => [row.key, comparable(row.value as Record<string, unknown>)]))).toEqual(model)
      for (const [i, { clock, docs }] of snapshots.entries()) {
        const view = await fresh.at(clock).catch((error) => (i < readableFrom && error instanceof HistoryUnavailableError ? undefined : Promise.reject(error)))
        if (!view) continue
        const rows = (await view.allDocs()).rows
        expect(new Map(rows.map((row) => [row.key, comparable(row.value as Record<string, unknown>)]))).toEqual(docs)
      }
      await fresh.close()
      const report = await inspectLocal('prop', { dir })
      // Every file the head reaches is stored and intact (a compaction with writes going on anchors the head:
      // compaction-dangling-refs.test.ts).
      expect(report.problems).toEqual([])
    }, 60_000)
  }
})

/** A document as the model keeps it: without `_id`, its attachment named only. */
function comparable(doc: Record<string, unknown>): Record<string, unknown> {
  const { _id, _files, ...rest } = doc
  return _files ? { ...rest, _files: Object.keys(_files as object).join() } : rest
}
