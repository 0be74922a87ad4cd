import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { decodeWriteLog, WRITE_LOG_HEADER } from '../src/format/write-log.js'
import { nodeFileStorage } from '../src/storage/node-files.js'
import { loggedFiles } from '../src/storage/write-log.js'
import { dataFiles, rawFileCid, runUntilKilled, seededRandom, tempDir } from './helpers.js'

const fixtures = join(import.meta.dirname, 'fixtures')
const ids = async (db: ReturnType<typeof database>) => (await db.allDocs()).rows.map((row) => row.key)
const segmentFiles = (root: string) => (existsSync(join(root, 'segments')) ? readdirSync(join(root, 'segments')).sort() : [])
const bulk = (t: number, n = 100) => Array.from({ length: n }, (_, k) => ({ _id: `t${String(t).padStart(3, '0')}-${String(k).padStart(3, '0')}`, body: `${t}-${k}-`.padEnd(900, 'y') }))

describe('write log version 1 (a directory written by earlier versions)', () => {
  it('opens with every acknowledged write, is migrated (files/, records/, no v1 log) and takes writes', async () => {
    const dir = tempDir()
    cpSync(join(fixtures, 'write-log-v1', 'db'), dir, { recursive: true })
    const acknowledged = JSON.parse(readFileSync(join(fixtures, 'write-log-v1', 'acknowledged.json'), 'utf8')) as string[]
    const root = join(dir, 'crash')
    expect(decodeWriteLog(readFileSync(join(root, 'log')), 'log').version).toBe(1)
    const db = database('crash', { dir, durability: 'power' })
    const present = new Set(await ids(db))
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
    // The v1 log's entries were moved out the way its version did it, and the log deleted.
    expect(existsSync(join(root, 'log')) && decodeWriteLog(readFileSync(join(root, 'log')), 'log').version === 1).toBe(false)
    expect(readdirSync(join(root, 'files')).length).toBeGreaterThan(11)
    await db.put({ _id: 'after' })
    await db.close()
    const again = database('crash', { dir })
    expect(new Set(await ids(again))).toEqual(new Set([...present, 'after']))
    await again.close()
  })
})

describe('sealed segments', () => {
  it('a log sealed past 8 MiB keeps its files in a segment with an index; an open reads the indexes, not the segments', async () => {
    const dir = tempDir()
    const root = join(dir, 'seal')
    const db = database('seal', { dir, durability: 'power', compactEvery: 0 })
    for (let t = 0; t < 100; t++) await db.bulk(bulk(t))
    expect(segmentFiles(root)).toEqual(['1.index', '1.log'])
    // Nothing was copied into files/: every small file is in the segment or the current log.
    expect(readdirSync(join(root, 'files'))).toEqual([])
    await db.close()
    // Closing seals the current log too, and its records go to records/; an empty log (the version 2 header)
    // stays, which earlier versions refuse.
    expect(readFileSync(join(root, 'log'))).toEqual(Buffer.from(WRITE_LOG_HEADER))
    expect(segmentFiles(root)).toEqual(['1.index', '1.log', '2.index', '2.log'])
    expect(readdirSync(join(root, 'records'))).toContain('head.main')
    // A segment keeps files only: every record entry (the keybag's among them) is blanked, whole entries with
    // their CRC, and the file entries around them are intact (every entry decodes; the reads below).
    for (const n of [1, 2]) {
      const segment = readFileSync(join(root, 'segments', `${n}.log`))
      const { entries, validLength } = decodeWriteLog(segment, `segment ${n}`)
      expect(validLength).toBe(segment.length)
      const records = entries.filter(({ entry }) => entry.kind === 'record')
      expect(records.length).toBeGreaterThan(0)
      for (const { entry } of records) expect('body' in entry && entry.body.every((byte) => byte === 0)).toBe(true)
      expect(entries.filter(({ entry }) => entry.kind === 'file').length).toBeGreaterThan(0)
    }
    const again = database('seal', { dir })
    expect((await again.get('t099-099')).body).toMatch(/^99-99-y+$/)
    expect(await ids(again)).toHaveLength(100 * 100)
    await again.close()
  }, 120_000)

  it('sealing blanks records of every size (one larger than the 64 KiB window among small ones) and leaves the files readable', async () => {
    const dir = tempDir()
    const root = join(dir, 'sizes')
    const storage = nodeFileStorage('sizes', { dir, durability: 'process' })
    const files: Uint8Array[] = []
    for (let i = 0; i < 200; i++) {
      const file = Uint8Array.from({ length: 500 + i }, (_, k) => (k * 31 + i) & 0xff)
      files.push(file)
      await storage.writeFile(rawFileCid(file), file)
      // Records of 1 byte to 200 KiB: most share a window with their neighbours, a few are larger than one.
      const size = i % 50 === 7 ? 200_000 : 1 + i
      await storage.writeRecord(`r${i % 3}`, Uint8Array.from({ length: size }, () => 0xee))
    }
    await storage.writeRecord('last', Uint8Array.of(9))
    await storage.close()
    const [segment] = segmentFiles(root).filter((f) => f.endsWith('.log'))
    const bytes = readFileSync(join(root, 'segments', segment!))
    const { entries, validLength } = decodeWriteLog(bytes, 'segment')
    expect(validLength).toBe(bytes.length)
    const records = entries.filter(({ entry }) => entry.kind === 'record')
    expect(records).toHaveLength(201)
    expect(records.filter(({ entry }) => 'body' in entry && entry.body.length === 200_000)).toHaveLength(4)
    for (const { entry } of records) expect('body' in entry && entry.body.every((byte) => byte === 0)).toBe(true)
    const reopened = nodeFileStorage('sizes', { dir, durability: 'process' })
    for (const file of files) expect(await reopened.readFile(rawFileCid(file))).toEqual(file)
    expect(await reopened.readRecord('last')).toEqual(Uint8Array.of(9))
    expect((await reopened.readRecord('r1'))?.length).toBe(1 + 199 - (199 % 3) + 1)
    await reopened.close()
  })

  it('compaction deletes files in segments: dead segments are removed when the log is sealed, and nothing comes back', async () => {
    const dir = tempDir()
    const root = join(dir, 'gc')
    const db = database('gc', { dir, durability: 'power', compactEvery: 0 })
    for (let t = 0; t < 100; t++) await db.bulk(bulk(t))
    const before = dataFiles(dir, 'gc').length
    await db.compact()
    const kept = dataFiles(dir, 'gc')
    expect(kept.length).toBeLessThan(before)
    await db.close()
    // Segment 1 held only files the compaction replaced: it is gone, not kept for files nobody names.
    expect(segmentFiles(root).filter((f) => f.startsWith('1.'))).toEqual([])
    const logged = [...loggedFiles(root).keys()]
    expect(logged.every((file) => kept.includes(file))).toBe(true)
    const again = database('gc', { dir })
    expect(new Set(dataFiles(dir, 'gc'))).toEqual(new Set(kept))
    expect(await ids(again)).toHaveLength(100 * 100)
    await again.close()
  }, 120_000)

  it('a compaction that deletes more than 8 MiB of segment files gets the space back without waiting for close', async () => {
    const dir = tempDir()
    const root = join(dir, 'reclaim')
    const db = database('reclaim', { dir, durability: 'power', compactEvery: 0 })
    for (let t = 0; t < 200; t++) await db.bulk(bulk(t))
    const segmentBytes = () => segmentFiles(root).reduce((sum, f) => sum + statSync(join(root, 'segments', f)).size, 0)
    const before = segmentBytes()
    expect(before).toBeGreaterThan(16 * 1024 * 1024)
    await db.compact()
    // Still open: the compaction's deletions sealed the log, and the dead segments are gone.
    expect(segmentBytes()).toBeLessThan(before / 2)
    expect(await ids(db)).toHaveLength(200 * 100)
    await db.close()
    const again = database('reclaim', { dir })
    expect((await again.get('t199-099')).body).toMatch(/^199-99-y+$/)
    await again.close()
  }, 120_000)

  it('a seal cut short by a crash after the index was written (the log not yet renamed) opens with everything', async () => {
    const dir = tempDir()
    const root = join(dir, 'cut')
    const db = database('cut', { dir, durability: 'power', compactEvery: 0 })
    for (let i = 0; i < 30; i++) await db.put({ _id: `d${i}`, i })
    // The log as the seal finds it ('power': everything in it is fdatasync'd).
    const log = readFileSync(join(root, 'log'))
    await db.close()
    // The state between "index written" and "log renamed": records/ holds the records, segments/1.index is
    // written, and the log is still where it was.
    expect(segmentFiles(root)).toEqual(['1.index', '1.log'])
    rmSync(join(root, 'segments', '1.log'))
    writeFileSync(join(root, 'log'), log)
    const reopened = database('cut', { dir, durability: 'power', compactEvery: 0 })
    expect(await ids(reopened)).toHaveLength(30)
    await reopened.put({ _id: 'after' })
    await reopened.close()
    const third = database('cut', { dir })
    expect(await ids(third)).toHaveLength(31)
    await third.close()
  })

  it('a damaged segment index is not trusted: the segment is read and every file checked against its CID', async () => {
    const dir = tempDir()
    const root = join(dir, 'badindex')
    const db = database('badindex', { dir, durability: 'power', compactEvery: 0 })
    for (let i = 0; i < 30; i++) await db.put({ _id: `d${i}`, i })
    await db.close()
    const index = join(root, 'segments', '1.index')
    const bytes = readFileSync(index)
    bytes[bytes.length - 10]! ^= 0xff
    writeFileSync(index, bytes)
    const again = database('badindex', { dir })
    expect(await ids(again)).toHaveLength(30)
    await again.close()
  })

  it("keeps every acknowledged write across kill -9 rounds that pass the 8 MiB seal ('power' and 'process')", async () => {
    for (const durability of ['power', 'process'] as const) {
      const dir = tempDir()
      const acknowledged: string[] = []
      const random = seededRandom(durability === 'power' ? 0x51a1 : 0x51a2)
      for (let round = 0; round < 6; round++) {
        acknowledged.push(...(await runUntilKilled('log-filler.ts', [dir, String(round * 1000), durability], { afterMs: 200 + Math.floor(random() * 1500) })))
        const db = database('filler', { dir, durability })
        const present = new Set(await ids(db))
        const lost = acknowledged.filter((id) => !present.has(id))
        expect(lost, `${durability} round ${round}: lost ${lost.length}`).toEqual([])
        await db.close()
      }
      expect(statSync(join(dir, 'filler', 'segments')).isDirectory()).toBe(true)
      expect(segmentFiles(join(dir, 'filler')).length).toBeGreaterThanOrEqual(2)
    }
  }, 180_000)
})

describe('the header of a fresh log', () => {
  it('is version 2', async () => {
    const dir = tempDir()
    const db = database('fresh', { dir, durability: 'process', compactEvery: 0 })
    await db.put({ _id: 'a' })
    expect(readFileSync(join(dir, 'fresh', 'log')).subarray(0, 8)).toEqual(Buffer.from(WRITE_LOG_HEADER))
    await db.close()
  })
})
