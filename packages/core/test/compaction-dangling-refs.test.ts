import { describe, expect, it } from 'vitest'
import { database, inspectBackend, inspectLocal, type Clock } from '../src/index.js'
import { tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/**
 * Files written while a compaction rewrites were sealed before it wrote the blocks they link, so their headers
 * name, for those, old files the compaction deletes (the local compaction record relocates them). Left
 * reachable from the head, every walk of file headers from it met a file that is gone: the first sync to a
 * backend failed for good (MissingBlockError), a device could not start from that backend, and inspectLocal
 * reported the files as missing.
 */
describe('a compaction with writes going on leaves no header reachable from the head naming a deleted file', () => {
  for (const during of ['put', 'bulk'] as const) {
    it(`syncs to a fresh backend and inspects clean after ${during}s made during the rewrite`, async () => {
      const dir = tempDir()
      const db = database('d', { dir, compactEvery: 0 })
      const model = new Map<string, unknown>()
      for (let i = 0; i < 4000; i += 500) {
        const docs = Array.from({ length: 500 }, (_, k) => ({ _id: `id-${i + k}`, text: 'x'.repeat(200) }))
        await db.bulk(docs)
        for (const { _id, text } of docs) model.set(_id, { text })
      }
      for (let i = 0; i < 40; i++) {
        await db.put({ _id: `id-${i * 37}`, i })
        model.set(`id-${i * 37}`, { i })
      }
      // Writes all through the compaction: those after its snapshot link blocks it has not rewritten yet.
      let done = false
      const compaction = db.compact().then(() => void (done = true))
      const clocks: { clock: Clock; docs: Map<string, unknown> }[] = []
      for (let n = 0; !done; n++) {
        if (during === 'put') {
          const { clock } = await db.put({ _id: `id-${(n * 13) % 4000}`, n })
          model.set(`id-${(n * 13) % 4000}`, { n })
          clocks.push({ clock, docs: new Map(model) })
        } else {
          const docs = Array.from({ length: 20 }, (_, k) => ({ _id: `id-${(n * 97 + k * 11) % 4000}`, n, k }))
          const { clock } = await db.bulk(docs)
          for (const { _id, n, k } of docs) model.set(_id, { n, k })
          clocks.push({ clock, docs: new Map(model) })
        }
        if (n === 2000) throw new Error('the compaction did not end')
      }
      await compaction
      expect(clocks.length).toBeGreaterThan(1)
      await db.close()

      const report = await inspectLocal('d', { dir })
      expect(report.problems).toEqual([])

      const again = database('d', { dir })
      expect(await rows(again)).toEqual(model)
      // Reads at the clocks written during the compaction still work here (their files stay until the next one).
      for (const { clock, docs } of clocks.slice(-3)) expect(await rows(await again.at(clock))).toEqual(docs)
      const backend = memoryBackend()
      const sync = again.connect(backend(), { pollInterval: 0 })
      await sync.flush()
      expect((await inspectBackend(backend(), 'd', { key: await again.exportKey() })).problems).toEqual([])
      const fresh = database('d', { storage: 'memory', key: await again.exportKey() })
      const freshSync = fresh.connect(backend(), { pollInterval: 0 })
      await freshSync.ready
      expect(await rows(fresh)).toEqual(model)
      await Promise.all([sync.close(), freshSync.close()])
      await Promise.all([again.close(), fresh.close()])
    }, 60_000)
  }
})

async function rows(db: { allDocs(): Promise<{ rows: { key: string; value: unknown }[] }> }): Promise<Map<string, unknown>> {
  const { rows } = await db.allDocs()
  return new Map(rows.map((row) => [row.key, strip(row.value as Record<string, unknown>)]))
}

function strip(doc: Record<string, unknown>): Record<string, unknown> {
  const { _id, ...rest } = doc
  return rest
}
