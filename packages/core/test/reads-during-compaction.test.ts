import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { bulkLoad, seededRandom, tempDir } from './helpers.js'

/**
 * Reads in flight while a compaction runs outside the write queue, swaps its head and deletes the files the
 * new head does not need: a read that started on the old tree must not walk into a deleted file, and what it
 * answers must be a state the database was in. Offline (file storage, no connector): nothing can come back.
 */
const DOCS = 4000
const doc = (i: number, v: number) => ({ _id: `d${String(i).padStart(5, '0')}`, n: i % 10, v, text: 'y'.repeat(150) })
type Doc = ReturnType<typeof doc>

describe('reads while a compaction runs', () => {
  for (const withWrites of [false, true]) {
    it(`allDocs, query, get and changes answer a state the database was in${withWrites ? ', while single puts go on' : ''}`, async () => {
      const dir = tempDir()
      const db = database(withWrites ? 'rdw' : 'rd', { dir, compactEvery: 0 })
      // Every version each id ever had: a read during writes must answer one of them (and a whole state).
      const versions = new Map<string, Set<string>>()
      const note = (value: Doc) => {
        let seen = versions.get(value._id)
        if (!seen) versions.set(value._id, (seen = new Set()))
        seen.add(JSON.stringify(value))
      }
      await bulkLoad(db, DOCS, (i) => doc(i, 0), note)
      // Many single-put files, which the compaction drops.
      for (let k = 1; k <= 150; k++) {
        const value = doc((k * 53) % DOCS, k)
        await db.put(value)
        note(value)
      }
      expect((await db.query('n', { key: 7 })).rows).toHaveLength(DOCS / 10)

      const random = seededRandom(withWrites ? 7 : 3)
      let compacted = false
      const compaction = db.compact().then(() => (compacted = true))
      const problems: string[] = []
      const checkRow = (where: string, id: string, value: unknown) => {
        if (!versions.get(id)?.has(JSON.stringify(value))) problems.push(`${where}: ${id} = ${JSON.stringify(value)?.slice(0, 80)}`)
      }
      let reads = 0
      const reader = async (kind: number) => {
        while (!compacted) {
          try {
            if (kind === 0) {
              const { rows } = await db.allDocs()
              if (rows.length !== DOCS) problems.push(`allDocs: ${rows.length} rows`)
              for (const row of rows) checkRow('allDocs', row.key, row.value)
            } else if (kind === 1) {
              const { rows } = await db.query('n', { key: 7, includeDocs: true })
              if (rows.length !== DOCS / 10) problems.push(`query: ${rows.length} rows`)
              for (const row of rows) checkRow('query', row.id, row.doc)
            } else if (kind === 2) {
              for (let g = 0; g < 50; g++) {
                const id = doc(Math.floor(random() * DOCS), 0)._id
                checkRow('get', id, await db.get(id))
              }
            } else {
              const { rows } = await db.changes()
              const ids = new Set(rows.map((row) => row.key))
              if (ids.size !== DOCS) problems.push(`changes: ${ids.size} ids`)
              for (const row of rows) checkRow('changes', row.key, row.value)
            }
            reads++
            // A read answered from memory resolves without an event-loop turn: let the compaction's I/O run.
            await new Promise((resolve) => setImmediate(resolve))
          } catch (error) {
            problems.push(`${['allDocs', 'query', 'get', 'changes'][kind]}: ${(error as Error).name}: ${(error as Error).message}`)
            return
          }
        }
      }
      const writer = async () => {
        for (let k = 1000; !compacted; k++) {
          const value = doc((k * 71) % DOCS, k)
          note(value)
          await db.put(value)
        }
      }
      await Promise.all([compaction, reader(0), reader(1), reader(2), reader(3), withWrites ? writer() : undefined])
      expect(problems).toEqual([])
      // The readers ran while it did (each loop made at least one read before the compaction ended).
      expect(reads).toBeGreaterThanOrEqual(4)

      // And after: everything, again, and after a reopen with no backend.
      const { rows } = await db.allDocs()
      expect(rows).toHaveLength(DOCS)
      for (const row of rows) checkRow('after', row.key, row.value)
      await db.close()
      const again = database(withWrites ? 'rdw' : 'rd', { dir, compactEvery: 0 })
      const reopened = await again.allDocs()
      expect(reopened.rows.map((row) => row.value)).toEqual(rows.map((row) => row.value))
      expect((await again.query('n', { key: 7 })).rows).toHaveLength(DOCS / 10)
      await again.close()
      expect(problems).toEqual([])
    }, 120_000)
  }
})
