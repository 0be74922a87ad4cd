import { describe, expect, it } from 'vitest'
import type { Connector } from '../src/connector/api.js'
import { database, MissingBlockError, type Database } from '../src/index.js'
import { memoryBackend } from './memory-backend.js'
import { bulkLoad, tempDir } from './helpers.js'

/**
 * Compaction deletes local files while syncs download and merge: whatever head a merge leaves must open and
 * read back offline (no connector), whichever order the download, the compaction and the merge come in.
 */

const DOCS = 4000
type Row = { _id: string; n: number; v: number; text: string }
const doc = (i: number, v: number): Row => ({ _id: `d${String(i).padStart(5, '0')}`, n: i % 10, v, text: 'x'.repeat(300) })

/**
 * A shared in-process backend whose clients are named: a client can be blind to the entries others save
 * (it loads only the rest: two devices writing concurrently), its saves can leave the entries they replace
 * listed (as a backend whose listing lags), and the downloads of controlled clients can be limited (answered
 * as absent past a count) or held (files some client uploaded wait until released).
 */
function sharedBackend() {
  const backend = memoryBackend()
  const uploadedBy = new Map<string, Set<string>>()
  const savedBy = new Map<string, string>()
  let allowed = Infinity
  let holdFrom: string | undefined
  let release: () => void = () => {}
  let released = Promise.resolve()
  let onHeld: () => void = () => {}
  return {
    client(name: string, { blindTo = [] as string[], keepReplaced = false, controlled = false } = {}): Connector {
      const inner = backend()
      uploadedBy.set(name, uploadedBy.get(name) ?? new Set())
      return {
        ...inner,
        async upload(db, cid, bytes) {
          uploadedBy.get(name)!.add(cid)
          return inner.upload(db, cid, bytes)
        },
        async save(db, branch, entry, replaces) {
          savedBy.set(entry.cid, name)
          return inner.save(db, branch, entry, keepReplaced ? [] : replaces)
        },
        async load(db, branch) {
          return (await inner.load(db, branch)).filter((entry) => !blindTo.includes(savedBy.get(entry.cid)!))
        },
        async download(db, cid) {
          if (controlled) {
            if (allowed <= 0) return undefined
            allowed--
            if (holdFrom && uploadedBy.get(holdFrom)!.has(cid)) {
              onHeld()
              await released
            }
          }
          return inner.download(db, cid)
        },
      }
    },
    /** Controlled clients answer at most `n` more downloads, then none (as if the files were absent). */
    allowDownloads(n: number) {
      allowed = n
    },
    /** Controlled clients hold downloads of what `client` uploaded; resolves when one is held. */
    hold(client: string): Promise<void> {
      holdFrom = client
      released = new Promise((resolve) => (release = resolve))
      return new Promise((resolve) => (onHeld = resolve))
    },
    release() {
      holdFrom = undefined
      release()
    },
  }
}

async function expectModel(db: Database, model: Map<string, Row>, where: string): Promise<void> {
  const rows = (await db.allDocs<Row>()).rows
  expect(rows.length, where).toBe(model.size)
  for (const row of rows) expect(row.value, `${where}: ${row.key}`).toEqual(model.get(row.key))
  const changes = await db.changes()
  expect(changes.rows.length, `${where}: changes`).toBe(model.size)
}

describe('compaction and sync: what a merge keeps opens offline', () => {
  it('a remote head whose files were downloaded before a compaction and merged after it opens offline', async () => {
    const backend = sharedBackend()
    const dirA = tempDir()
    const a = database('s', { dir: dirA, compactEvery: 0 })
    const b = database('s', { storage: 'memory', key: await a.exportKey(), compactEvery: 0 })
    const sa = a.connect(backend.client('a', { controlled: true }), { pollInterval: 0 })
    const sb = b.connect(backend.client('b'), { pollInterval: 0 })
    const model = new Map<string, Row>()
    await bulkLoad(a, DOCS, (i) => doc(i, 0), (x) => model.set(x._id, x))
    await sa.flush()
    await sb.refresh()
    // B rewrites a quarter of the documents in one transaction (several files: its head file holds the top
    // of the tree, the changed leaves are in the others).
    const updates = Array.from({ length: 1000 }, (_, k) => doc(k * 4, 1))
    await b.bulk(updates)
    for (const d of updates) model.set(d._id, d)
    await sb.flush()
    // A listener makes A's merge read the changed leaves: A downloads B's head file, and the next download
    // fails, so the merge fails with B's head file stored locally and read, but not merged.
    a.subscribe(() => {})
    backend.allowDownloads(1)
    const failed = new Promise((resolve) => sa.on('error', resolve))
    void sa.refresh().catch(() => {})
    await failed
    // No retry meanwhile.
    sa.pause()
    expect(await a.clock(), 'the merge failed').not.toEqual(await b.clock())
    // The compaction sees B's head file among the local files, and its head does not need it.
    await a.compact()
    backend.allowDownloads(Infinity)
    sa.resume()
    await sa.refresh()
    expect(await a.clock()).toEqual(await b.clock())
    await expectModel(a, model, 'merged')
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
    // Offline.
    const again = database('s', { dir: dirA, compactEvery: 0 })
    await expectModel(again, model, 'reopened offline')
    await again.close()
  }, 120_000)

  it('two entries loaded side by side, one held while a compaction runs: the head adopted after it opens offline', async () => {
    const backend = sharedBackend()
    const dirA = tempDir()
    const a = database('s', { dir: dirA, compactEvery: 0 })
    const key = await a.exportKey()
    const b = database('s', { storage: 'memory', key, compactEvery: 0 })
    const d = database('s', { storage: 'memory', key, compactEvery: 0 })
    const sa = a.connect(backend.client('a', { controlled: true }), { pollInterval: 0 })
    // B's save leaves D's entry, which B's head contains, listed: A loads both.
    const sb = b.connect(backend.client('b', { keepReplaced: true }), { pollInterval: 0 })
    const sd = d.connect(backend.client('d'), { pollInterval: 0 })
    const model = new Map<string, Row>()
    await bulkLoad(a, DOCS, (i) => doc(i, 0), (x) => model.set(x._id, x))
    await sa.flush()
    const fromD = Array.from({ length: 10 }, (_, k) => doc(k * 200, 2))
    const fromB = Array.from({ length: 10 }, (_, k) => doc(k * 200 + 100, 1))
    await sd.refresh()
    await d.bulk(fromD)
    await sd.flush()
    await sb.refresh()
    await b.bulk(fromB)
    await sb.flush()
    for (const x of [...fromD, ...fromB]) model.set(x._id, x)
    // A loads both head files side by side: B's is stored, D's is held; A compacts meanwhile.
    const stored = (await a.info()).files.count
    const held = backend.hold('d')
    const merging = sa.refresh()
    await held
    while ((await a.info()).files.count === stored) await new Promise((resolve) => setTimeout(resolve, 2))
    await a.compact()
    backend.release()
    await merging
    expect(await a.clock()).toEqual(await b.clock())
    await expectModel(a, model, 'merged')
    await Promise.all([sa.close(), sb.close(), sd.close()])
    await Promise.all([a.close(), b.close(), d.close()])
    const again = database('s', { dir: dirA, compactEvery: 0 })
    await expectModel(again, model, 'reopened offline')
    await again.close()
  }, 120_000)

  for (const synced of [false, true]) {
    it(`an attachment written back after a compaction, from a version it dropped, ${synced ? 'is stored again from the backend and reads back offline' : 'is refused without a backend'}`, async () => {
      const dir = tempDir()
      const db = database('att', { dir, compactEvery: 0 })
      const sync = synced ? db.connect(memoryBackend()(), { pollInterval: 0 }) : undefined
      const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 251)
      await db.put({ _id: 'x', _files: { 'a.bin': { data: bytes, type: 'application/octet-stream' } } })
      const old = await db.get<{ _files: Record<string, unknown> }>('x')
      await db.put({ _id: 'x', v: 1 })
      await db.bulk(Array.from({ length: 1000 }, (_, k) => doc(k, 0)))
      await sync?.flush()
      // The compaction's state no longer names the attachment: its manifest and chunk files go.
      await db.compact()
      const writing = db.put({ _id: 'x', v: 2, _files: old._files })
      if (synced) await writing
      // Acknowledging it would name files that are gone: it fails, naming what is missing.
      else await expect(writing).rejects.toThrow(MissingBlockError)
      await sync?.close()
      await db.close()
      const again = database('att', { dir, compactEvery: 0 })
      const x = await again.get<{ v: number; _files?: Record<string, { file(): Promise<Blob> }> }>('x')
      expect(x.v).toBe(synced ? 2 : 1)
      if (synced) expect(new Uint8Array(await (await x._files!['a.bin']!.file()).arrayBuffer())).toEqual(bytes)
      await again.close()
    }, 120_000)
  }

  for (const order of ['after the compaction', 'while the compaction runs', 'before the compaction'] as const) {
    it(`a remote head naming no root (deltas past a checkpoint) over a compacted delta head, adopted ${order}, opens offline`, async () => {
      const { dirA, a, b, sa, sb, model } = await headFromAnotherDevice()
      const put = async (x: Row) => {
        await b.put(x)
        model.set(x._id, x)
      }
      // B writes past its next checkpoint: its head is a delta whose chain ends at that checkpoint, not at
      // A's head, so A adopts it as a whole head (not as deltas on its own).
      const more = Array.from({ length: 40 }, (_, k) => doc(k * 97 + 5, 3))
      if (order === 'after the compaction') await a.compact()
      for (const x of more) await put(x)
      await sb.flush()
      if (order === 'while the compaction runs') {
        const compaction = a.compact()
        await sa.refresh()
        await compaction
      } else {
        await sa.refresh()
        if (order === 'before the compaction') await a.compact()
      }
      expect(await a.clock()).toEqual(await b.clock())
      // Read online first: a device holds what it read (B's checkpoint is in several files, which A's merge
      // does not download).
      await expectModel(a, model, 'adopted')
      await Promise.all([sa.close(), sb.close()])
      await Promise.all([a.close(), b.close()])
      const again = database('s', { dir: dirA, compactEvery: 0 })
      await expectModel(again, model, 'reopened offline')
      const next = doc(7, 4)
      await again.put(next)
      model.set(next._id, next)
      await again.compact()
      await again.close()
      const third = database('s', { dir: dirA, compactEvery: 0 })
      await expectModel(third, model, 'reopened again')
      await third.close()
    }, 120_000)
  }
})

/** As in compaction-off-queue.test: A's head is B's delta event (A adopted B's two writes on A's bulk load). */
async function headFromAnotherDevice() {
  const backend = memoryBackend()
  const dirA = tempDir()
  const a = database('s', { dir: dirA, compactEvery: 0 })
  const b = database('s', { storage: 'memory', key: await a.exportKey(), compactEvery: 0 })
  const sa = a.connect(backend(), { pollInterval: 0 })
  const sb = b.connect(backend(), { pollInterval: 0 })
  const model = new Map<string, Row>()
  await bulkLoad(a, DOCS, (i) => doc(i, 0), (x) => model.set(x._id, x))
  await sa.flush()
  await sb.refresh()
  for (const x of [doc(0, 1), doc(1, 1)]) {
    await b.put(x)
    model.set(x._id, x)
  }
  await sb.flush()
  await sa.refresh()
  return { dirA, a, b, sa, sb, model }
}
