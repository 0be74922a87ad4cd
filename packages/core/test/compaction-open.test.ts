import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CorruptRecordError, database, type Database } from '../src/index.js'
import { nodeFileStorage } from '../src/storage/node-files.js'
import { OVERLAP_DOCS, SLOW_INDEX, overlapDoc, overlapModel, slowMap } from './fixtures/overlap-docs.js'
import { headNamesDeletedFile } from './head-file-headers.js'
import { seededRandom, tempDir } from './helpers.js'

type Doc = { _id: string; i: number; text: string }

/** CO_SEEDS=n runs more seeds of the interleaving property (CI runs 4). */
const SEEDS = Number(process.env.CO_SEEDS) || 4

const records = (dir: string, name: string) => join(dir, name, 'records')
/** One turn of the event loop after compact(): its snapshot is taken, its rewrite has not ended. */
const pastTheStart = () => new Promise((resolve) => setImmediate(resolve))

/**
 * Replaces the `compaction` record of a closed database with bytes that are no record: an opening or a read that
 * needs it fails with a CorruptRecordError naming it.
 */
function spoilRecord(dir: string, name: string): void {
  const path = join(records(dir, name), 'compaction')
  expect(existsSync(path), 'the compaction record is stored').toBe(true)
  writeFileSync(path, Uint8Array.of(0xff, 0x00, 0x13))
}

async function expectModel(db: Database, model: Map<string, Doc>, where: string): Promise<void> {
  const { rows } = await db.allDocs()
  expect(rows.map((row) => row.key), where).toEqual([...model.keys()].sort())
  for (const row of rows) expect(row.value, `${where}: ${row.key}`).toEqual(model.get(row.key))
}

/**
 * Runs `writes` while a compaction of `db` rewrites (a slow index makes its rewrite take a while: it rebuilds the
 * index first, letting writes have their turns), and checks that the first write landed before it ended: their
 * files then name, for the tree nodes they share with the compacted tree, files the compaction deletes.
 */
async function compactWhileWriting(db: Database, writes: (first: () => void) => Promise<void>): Promise<void> {
  // Opened first: writes issued while it opens would come before the compaction's snapshot.
  await db.clock()
  let compacted = false
  const compacting = db.compact().then(() => void (compacted = true))
  await pastTheStart()
  let landed: boolean | undefined
  await writes(() => void (landed ??= !compacted))
  await compacting
  expect(landed, 'the first write landed during the rewrite').toBe(true)
}

/** Builds the slow index, or brings it up to date (its map function is known to a compaction only then). */
async function slowIndex(db: Database): Promise<void> {
  await db.index(SLOW_INDEX, slowMap).query({ key: -1 })
}

async function overlapDatabase(dir: string, name: string, count: number, model: Map<string, Doc>): Promise<void> {
  const db = database(name, { dir, compactEvery: 0 })
  const docs = Array.from({ length: count }, (_, i) => overlapDoc(i))
  for (let i = 0; i < docs.length; i += 1000) await db.bulk(docs.slice(i, i + 1000))
  for (const doc of docs) model.set(doc._id, doc)
  await slowIndex(db)
  await compactWhileWriting(db, async (first) => {
    for (const doc of [overlapDoc(count), { ...overlapDoc(3), text: 'during' }, overlapDoc(count + 1)]) {
      await db.put(doc)
      first()
      model.set(doc._id, doc)
    }
  })
  await db.close()
  // The swap anchors such a head: no header reached from it names a file the compaction deleted.
  expect(await headNamesDeletedFile(join(dir, name), name, await keyOf(dir, name))).toBe(false)
}

async function keyOf(dir: string, name: string): Promise<string> {
  const db = database(name, { dir, compactEvery: 0 })
  const key = await db.exportKey()
  await db.close()
  return key
}

/**
 * Issue 14: opening a database whose stored head was written during the last compaction's rewrite read and
 * decoded that compaction's whole record (one entry per block of the database: 1.4 MB, ~33 MB of heap and
 * ~150 ms at 1M documents) to find the tree nodes the head's files placed in files the compaction deleted. The
 * swap now anchors that head with every block of its tree no compaction file holds (compactor.ts), so opening
 * and reading the head is O(what was written during the rewrite), and needs no byte of the record.
 */
describe('a head written during a compaction\'s rewrite', () => {
  it('opens, and every read of it works, with the compaction record spoilt', async () => {
    const dir = tempDir()
    const model = new Map<string, Doc>()
    await overlapDatabase(dir, 'pin', 2000, model)
    spoilRecord(dir, 'pin')
    const db = database('pin', { dir, compactEvery: 0 })
    // Before the swap anchored such a head: CorruptRecordError (the record was read to find the shared nodes).
    expect(await db.get(overlapDoc(3)._id)).toEqual(model.get(overlapDoc(3)._id))
    await expectModel(db, model, 'reopened without the record')
    expect((await db.index(SLOW_INDEX, slowMap).query({ key: 5 })).rows).toEqual([{ id: overlapDoc(5)._id, key: 5, value: null }])
    await db.close()
  }, 60_000)
})

/**
 * A kill -9 between the writes that follow a swap leaves one of these states (the files the compaction chose
 * are deleted only after both records are stored): the head (and indexes) of the swap with the previous
 * compaction's record and summary, with the new record and the previous summary, or with both new. Each is
 * made here from the states before and after a compaction (the files it deleted, and the records it replaced,
 * put back through the storage), and each must open and read every write, then compact again.
 */
describe('a crash between the writes after a swap', () => {
  it('leaves a state that opens and reads every acknowledged write, whichever write it stopped before', async () => {
    // Both compactions with writes landing during their rewrites: the head the swap stores is anchored, and the
    // first compaction's record is the one the second replaces.
    const dir = tempDir()
    const model = new Map<string, Doc>()
    await overlapDatabase(dir, 'crash', 2000, model)
    // Before the second compaction: its files and records.
    const before = join(tempDir(), 'before')
    cpSync(dir, before, { recursive: true })

    const db = database('crash', { dir, compactEvery: 0 })
    await slowIndex(db)
    await compactWhileWriting(db, async (first) => {
      for (const doc of [overlapDoc(5000), { ...overlapDoc(2001), text: 'second' }, { ...overlapDoc(4), text: 'second' }]) {
        await db.put(doc)
        first()
        model.set(doc._id, doc)
      }
    })
    await db.close()

    const old = nodeFileStorage('crash', { dir: before })
    const oldFiles = new Map<string, Uint8Array>()
    for (const file of await old.listFiles()) oldFiles.set(file, (await old.readFile(file))!)
    const oldRecord = (await old.readRecord('compaction'))!
    const oldSummary = (await old.readRecord('compaction-summary'))!
    await old.close()

    const stops = [
      { before: 'the record', records: { compaction: oldRecord, 'compaction-summary': oldSummary } },
      { before: 'the summary', records: { 'compaction-summary': oldSummary } },
      { before: 'the deletions', records: {} },
    ]
    for (const stop of stops) {
      const copy = join(tempDir(), 'copy')
      cpSync(dir, copy, { recursive: true })
      const storage = nodeFileStorage('crash', { dir: copy })
      const present = new Set(await storage.listFiles())
      for (const [file, bytes] of oldFiles) if (!present.has(file)) await storage.writeFile(file, bytes)
      for (const [name, bytes] of Object.entries(stop.records)) await storage.writeRecord(name, bytes)
      await storage.close()

      const reopened = database('crash', { dir: copy, compactEvery: 0 })
      await expectModel(reopened, model, `killed before ${stop.before}`)
      await reopened.compact()
      await reopened.close()
      const after = database('crash', { dir: copy, compactEvery: 0 })
      await expectModel(after, model, `killed before ${stop.before}, compacted again`)
      await after.close()
    }
  }, 120_000)
})

/**
 * A database written before the swap anchored such a head (test/fixtures/golden-overlap-v1, generate-overlap.ts):
 * its head's files name files its last compaction deleted, and its record relocates them.
 */
describe('a database whose head names files its last compaction deleted (written before heads were anchored)', () => {
  const fixture = join(import.meta.dirname, 'fixtures', 'golden-overlap-v1')
  const copyOf = () => {
    const dir = tempDir()
    cpSync(join(fixture, 'db'), dir, { recursive: true })
    return { dir, key: readFileSync(join(fixture, 'key.txt'), 'utf8').trim() }
  }

  it('opens and reads every document through its record; compacted again, it opens without one', async () => {
    const { dir, key } = copyOf()
    const model = overlapModel()
    expect(await headNamesDeletedFile(join(dir, 'overlap'), 'overlap', key)).toBe(true)
    const db = database('overlap', { dir, key, compactEvery: 0 })
    await expectModel(db, model, 'as written')
    expect((await db.index(SLOW_INDEX, slowMap).query({ key: 7 })).rows).toEqual([{ id: overlapDoc(7)._id, key: 7, value: null }])
    // Compacted by this version with a write landing during the rewrite.
    await compactWhileWriting(db, async (first) => {
      const doc = overlapDoc(OVERLAP_DOCS + 10)
      await db.put(doc)
      first()
      model.set(doc._id, doc)
    })
    await db.close()
    expect(await headNamesDeletedFile(join(dir, 'overlap'), 'overlap', key)).toBe(false)
    spoilRecord(dir, 'overlap')
    const again = database('overlap', { dir, compactEvery: 0 })
    await expectModel(again, model, 'compacted again, without the record')
    await again.close()
  })

  it('needs that record: spoilt, reading the head fails, and nothing is lost', async () => {
    const { dir, key } = copyOf()
    const path = join(records(dir, 'overlap'), 'compaction')
    const stored = readFileSync(path)
    spoilRecord(dir, 'overlap')
    const db = database('overlap', { dir, key, compactEvery: 0 })
    // The error names the record, not a block it would have relocated.
    await expect(db.allDocs()).rejects.toBeInstanceOf(CorruptRecordError)
    await expect(db.allDocs()).rejects.toThrow(/compaction record/)
    await db.close().catch(() => {})
    writeFileSync(path, stored)
    const again = database('overlap', { dir, key, compactEvery: 0 })
    await expectModel(again, overlapModel(), 'the record put back')
    await again.close()
  })
})

/**
 * Random puts, deletes and bulks interleaved with compactions (writes landing before, during and after their
 * rewrites): after each compaction no header reached from the stored head names a file that is gone, and a
 * fresh open of a copy whose compaction record is spoilt sees every acknowledged write, as does the database.
 */
describe('writes interleaved with compactions, then a fresh open without the compaction record', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`sees every acknowledged write (seed ${seed})`, async () => {
      const r = seededRandom(seed)
      const dir = tempDir()
      const model = new Map<string, Doc>()
      let db = database('mix', { dir, compactEvery: 0 })
      const key = await db.exportKey()
      const start = Array.from({ length: 1500 }, (_, i) => overlapDoc(i))
      await db.bulk(start)
      for (const doc of start) model.set(doc._id, doc)
      await slowIndex(db)
      const id = () => overlapDoc(Math.floor(r() * 2500))._id
      let v = 0
      const write = async () => {
        const pick = r()
        if (pick < 0.6) {
          const doc = { _id: id(), i: v, text: `v${v++}` }
          await db.put(doc)
          model.set(doc._id, doc)
        } else if (pick < 0.8) {
          const keys = [...model.keys()]
          const target = keys[Math.floor(r() * keys.length)]!
          await db.del(target)
          model.delete(target)
        } else {
          const docs = Array.from({ length: 1 + Math.floor(r() * 50) }, () => ({ _id: id(), i: v, text: `v${v++}` }))
          await db.bulk(docs)
          for (const doc of docs) model.set(doc._id, doc)
        }
      }
      for (let round = 0; round < 6; round++) {
        for (let n = Math.floor(r() * 5); n > 0; n--) await write()
        await db.clock()
        const compacting = db.compact()
        for (let turns = Math.floor(r() * 3); turns > 0; turns--) await pastTheStart()
        for (let n = Math.floor(r() * 40); n > 0; n--) await write()
        await compacting
        for (let n = Math.floor(r() * 3); n > 0; n--) await write()
        await db.close()
        expect(await headNamesDeletedFile(join(dir, 'mix'), 'mix', key), `round ${round}: the head names a deleted file`).toBe(false)

        const copy = join(tempDir(), 'copy')
        cpSync(dir, copy, { recursive: true })
        spoilRecord(copy, 'mix')
        const fresh = database('mix', { dir: copy, compactEvery: 0 })
        await expectModel(fresh, model, `round ${round}, a fresh open without the record`)
        await fresh.close()
        db = database('mix', { dir, compactEvery: 0 })
        await slowIndex(db)
        await expectModel(db, model, `round ${round}, reopened`)
      }
      await db.close()
    }, 120_000)
  }
})
