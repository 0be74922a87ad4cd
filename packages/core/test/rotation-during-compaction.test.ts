import { describe, expect, it } from 'vitest'
import { database, inspectBackend, KeyRevokedError, type Clock } from '../src/index.js'
import { bulkLoad, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/**
 * A key rotation while a compaction runs (it runs outside the write queue, so a rotation and writes can land
 * between its snapshot and its swap, while it seals files): the new key still reads everything, now, after a
 * reopen offline and on a fresh device; the old key reads nothing written after the rotation.
 */
const DOCS = 3000
const doc = (i: number, v: number) => ({ _id: `d${String(i).padStart(5, '0')}`, n: i % 10, v, text: 'x'.repeat(200) })
type Doc = ReturnType<typeof doc>

async function loaded(name: string, dir: string) {
  const db = database(name, { dir, compactEvery: 0 })
  const model = new Map<string, Doc>()
  await bulkLoad(db, DOCS, (i) => doc(i, 0), (d) => model.set(d._id, d))
  // Single puts too, so the compaction has many small files to rewrite and drop.
  for (let k = 0; k < 60; k++) {
    const value = doc((k * 37) % DOCS, 1)
    await db.put(value)
    model.set(value._id, value)
  }
  expect((await db.query('n', { key: 3 })).rows).toHaveLength(DOCS / 10)
  return { db, model }
}

async function readsAll(db: ReturnType<typeof database>, model: Map<string, Doc>, where: string) {
  const rows = (await db.allDocs()).rows
  expect(rows.length, where).toBe(model.size)
  for (const row of rows) expect(row.value, `${where}: ${row.key}`).toEqual(model.get(row.key))
  const threes = [...model.values()].filter((value) => value.n === 3).length
  expect((await db.query('n', { key: 3 })).rows, where).toHaveLength(threes)
}

describe('a key rotation during a compaction', () => {
  // How many awaited puts run between compact() and rotateKey(): the rotation lands at different steps of it.
  for (const putsBefore of [0, 2]) {
    it(`after ${putsBefore} puts into the compaction: new key reads all (live, reopened offline, fresh device, history), old key nothing new`, async () => {
      const dir = tempDir()
      const name = `rotc${putsBefore}`
      const { db, model } = await loaded(name, dir)
      const backend = memoryBackend()
      const sync = db.connect(backend(), { pollInterval: 0 })
      await sync.flush()
      const oldKey = await db.exportKey()

      let compacted = false
      const compaction = db.compact().then(() => (compacted = true))
      for (let k = 0; k < putsBefore; k++) {
        const value = doc(DOCS + k, 2)
        await db.put(value)
        model.set(value._id, value)
      }
      const rotatedWhileCompacting = !compacted
      const newKey = await db.rotateKey()
      const secrets: { id: string; clock: Clock; value: Doc }[] = []
      for (let k = 0; k < 20; k++) {
        const value = { ...doc(k % 2 === 0 ? DOCS + 1000 + k : (k * 131) % DOCS, 3), secret: true }
        const { clock } = await db.put(value)
        model.set(value._id, value)
        secrets.push({ id: value._id, clock, value })
      }
      await compaction
      // The case this test is for: otherwise it checks a rotation after a compaction.
      expect(rotatedWhileCompacting).toBe(true)

      await readsAll(db, model, 'live')
      for (const { id, clock, value } of secrets) expect(await (await db.at(clock)).get(id), `at ${clock}`).toEqual(value)
      await db.compact()
      await readsAll(db, model, 'compacted again')
      await sync.flush()
      await sync.close()
      await db.close()

      // Every file at the backend, of both keys, opens with the new key and matches its name.
      const report = await inspectBackend(backend(), name, { key: newKey })
      expect(report.problems).toEqual([])
      // Offline, the current state (the history before the last compaction is read from a connector).
      const reopened = database(name, { dir, compactEvery: 0, key: newKey })
      await readsAll(reopened, model, 'reopened offline')
      await reopened.close()

      const fresh = database(name, { storage: 'memory', key: newKey })
      const freshSync = fresh.connect(backend(), { pollInterval: 0 })
      await freshSync.ready
      await readsAll(fresh, model, 'fresh device')
      for (const { id, clock, value } of secrets) expect(await (await fresh.at(clock)).get(id), `fresh at ${clock}`).toEqual(value)
      await freshSync.close()
      await fresh.close()

      // A device with only the old key is refused by name and holds nothing written after the rotation.
      const revoked = database(name, { storage: 'memory', key: oldKey })
      const revokedSync = revoked.connect(backend(), { pollInterval: 0 })
      const error = await revokedSync.ready.then(
        () => undefined,
        (e: Error) => (e.cause as Error | undefined) ?? e,
      )
      expect(error).toBeInstanceOf(KeyRevokedError)
      for (const { id } of secrets) {
        const got = await revoked.get(id).catch((e: Error) => e.name)
        expect(got, id).toBe('NotFoundError')
      }
      await revokedSync.close()
      await revoked.close()
    }, 120_000)
  }
})
