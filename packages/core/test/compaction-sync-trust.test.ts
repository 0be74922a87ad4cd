import { describe, expect, it } from 'vitest'
import type { Connector } from '../src/connector/api.js'
import { database, type Database } from '../src/index.js'
import { memoryBackend } from './memory-backend.js'
import { tempDir } from './helpers.js'

/**
 * Compaction deletes local files while syncs download and merge: whatever head a merge leaves must open and
 * read back offline (no connector), whichever order the download, the compaction and the merge come in.
 */

const DOCS = 4000
type Row = { _id: string; n: number; v: number; text: string }
const doc = (i: number, v: number): Row => ({ _id: `d${String(i).padStart(5, '0')}`, n: i % 10, v, text: 'x'.repeat(300) })

/** A shared backend whose clients for one device can be told to answer downloads as if the file were absent. */
function withholdingBackend() {
  const backend = memoryBackend()
  let allowed = Infinity
  return {
    client: backend,
    /** A client that serves at most `allowDownloads(n)` more downloads, then answers none (undefined). */
    withholding: (): Connector => {
      const inner = backend()
      return {
        ...inner,
        async download(db, cid) {
          if (allowed <= 0) return undefined
          allowed--
          return inner.download(db, cid)
        },
      }
    },
    allowDownloads(n: number) {
      allowed = n
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
    const backend = withholdingBackend()
    const dirA = tempDir()
    const a = database('s', { dir: dirA, compactEvery: 0 })
    const b = database('s', { storage: 'memory', key: await a.exportKey(), compactEvery: 0 })
    const sa = a.connect(backend.withholding(), { pollInterval: 0 })
    const sb = b.connect(backend.client(), { pollInterval: 0 })
    const model = new Map<string, Row>()
    for (let i = 0; i < DOCS; i += 1000) {
      const docs = Array.from({ length: 1000 }, (_, k) => doc(i + k, 0))
      await a.bulk(docs)
      for (const d of docs) model.set(d._id, d)
    }
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
})
