import { describe, expect, it } from 'vitest'
import { database, type Database } from '../src/index.js'
import { seededRandom, tempDir } from './helpers.js'

type Value = { _id: string; n: number; v: number }

/**
 * Random interleavings of puts, deletes, bulks, explicit compactions and automatic ones (a low `compactEvery`),
 * none awaited before the next is issued within a group; after each group, and after reopening, the database
 * must hold exactly what a model applying the writes in issue order holds, at its clock too.
 */
describe('compaction interleaved with writes', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`matches the model (seed ${seed})`, async () => {
      const r = seededRandom(seed)
      const dir = tempDir()
      const options = { dir, compactEvery: 1 + Math.floor(r() * 4) }
      let db: Database = database('mix', options)
      const model = new Map<string, Value>()
      const ids = 400
      const id = () => `k${String(Math.floor(r() * ids)).padStart(4, '0')}`
      let v = 0
      // A start with some volume, so a compaction takes a while.
      const start = Array.from({ length: 1500 }, (_, i) => ({ _id: `k${String(i).padStart(4, '0')}`, n: i % 7, v: v++ }))
      await db.bulk(start)
      for (const doc of start) model.set(doc._id, doc)

      const compare = async (where: string) => {
        const rows = (await db.allDocs()).rows
        expect(rows.map((row) => row.key), where).toEqual([...model.keys()].sort())
        for (const row of rows) expect(row.value, `${where}: ${row.key}`).toEqual(model.get(row.key))
        const view = await db.at(await db.clock())
        const sample = [...model.keys()][Math.floor(r() * model.size)]
        if (sample) expect(await view.get(sample), where).toEqual(model.get(sample))
        const fours = [...model.values()].filter((value) => value.n === 4).length
        expect((await db.query('n', { key: 4 })).rows, where).toHaveLength(fours)
      }

      for (let group = 0; group < 12; group++) {
        const pending: Promise<unknown>[] = []
        const ops = 5 + Math.floor(r() * 40)
        for (let op = 0; op < ops; op++) {
          const pick = r()
          if (pick < 0.55) {
            const doc = { _id: id(), n: Math.floor(r() * 7), v: v++ }
            model.set(doc._id, doc)
            pending.push(db.put(doc))
          } else if (pick < 0.7) {
            // Writes apply in issue order, so a document the model holds now exists when this delete commits.
            const keys = [...model.keys()]
            const target = keys[Math.floor(r() * keys.length)]
            if (!target) continue
            model.delete(target)
            pending.push(db.del(target))
          } else if (pick < 0.85) {
            const docs = Array.from({ length: 1 + Math.floor(r() * 80) }, () => ({ _id: id(), n: Math.floor(r() * 7), v: v++ }))
            for (const doc of docs) model.set(doc._id, doc)
            pending.push(db.bulk(docs))
          } else if (pick < 0.92) {
            pending.push(db.compact())
          } else if (pick < 0.95) {
            // A query meanwhile updates the persisted index the compaction rebuilds; it must not fail.
            pending.push(db.query('n', { key: Math.floor(r() * 7) }))
          } else {
            // A wait in the middle: the next writes land while what was issued runs.
            await pending[pending.length - 1]
          }
        }
        await Promise.all(pending)
        await compare(`seed ${seed}, group ${group}`)
        if (r() < 0.4) {
          await db.close()
          db = database('mix', options)
          await compare(`seed ${seed}, group ${group}, reopened`)
        }
      }
      await db.close()
      db = database('mix', { dir, compactEvery: 0 })
      await compare(`seed ${seed}, final reopen`)
      await db.compact()
      await db.close()
      db = database('mix', { dir, compactEvery: 0 })
      await compare(`seed ${seed}, compacted and reopened`)
      await db.close()
    }, 120_000)
  }
})
