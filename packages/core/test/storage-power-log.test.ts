import fs, { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { encodeWriteLogEntry, WRITE_LOG_HEADER } from '../src/format/write-log.js'
import { nodeFileStorage } from '../src/storage/node-files.js'
import { dataFiles, rawFileCid, runUntilKilled, seededRandom, tempDir } from './helpers.js'

/** Counts fsync and fdatasync calls of this process (storage calls the synchronous ones). */
const realFsync = fs.fsyncSync
const realFdatasync = fs.fdatasyncSync
let syncs = 0
function countSyncs(): void {
  syncs = 0
  fs.fsyncSync = (fd) => {
    syncs++
    realFsync(fd)
  }
  fs.fdatasyncSync = (fd) => {
    syncs++
    realFdatasync(fd)
  }
  syncBuiltinESMExports()
}
afterEach(() => {
  fs.fsyncSync = realFsync
  fs.fdatasyncSync = realFdatasync
  syncBuiltinESMExports()
})


const doc = (i: number) => ({ _id: `doc-${String(i).padStart(6, '0')}`, i, body: 'x'.repeat(80) })

describe("durability 'power' through the write log: one fsync per transaction", () => {
  it('a sequential put costs one fsync, the stored file is in the log and nothing goes to files/', async () => {
    const dir = tempDir()
    const db = database('one-sync', { dir, durability: 'power', compactEvery: 0 })
    await db.put(doc(0))
    countSyncs()
    for (let i = 1; i <= 40; i++) await db.put(doc(i))
    const perPut = syncs / 40
    expect(perPut).toBeLessThanOrEqual(1.05)
    expect(readdirSync(join(dir, 'one-sync', 'files')).filter((f) => !f.startsWith('.'))).toEqual([])
    expect((await db.allDocs()).rows).toHaveLength(41)
    await db.close()
    const again = database('one-sync', { dir })
    expect((await again.get('doc-000040')).i).toBe(40)
    await again.close()
  })

  it('passing the log size bound moves no small file out: no per-file fsync, no stall (fsyncs counted)', async () => {
    const dir = tempDir()
    const db = database('no-stall', { dir, durability: 'power', compactEvery: 0 })
    await db.put(doc(0))
    countSyncs()
    // ~100 KB transactions past 8 MiB: each under the size that goes to files/ directly.
    const transactions = 100
    for (let t = 0; t < transactions; t++) {
      await db.bulk(Array.from({ length: 100 }, (_, k) => ({ _id: `t${t}-${k}`, body: `${t}-${k}-`.padEnd(900, 'y') })))
    }
    expect(syncs).toBeLessThan(transactions + 40)
    expect((await db.allDocs()).rows).toHaveLength(transactions * 100 + 1)
    // A compaction deleting every small file syncs about once per file it writes, not once per deletion.
    const before = new Set(dataFiles(dir, 'no-stall'))
    countSyncs()
    await db.compact()
    const after = dataFiles(dir, 'no-stall')
    const written = after.filter((file) => !before.has(file)).length
    expect(before.size - after.filter((file) => before.has(file)).length).toBeGreaterThan(transactions)
    expect(syncs).toBeLessThan(written + 40)
    countSyncs()
    await db.close()
    expect(syncs).toBeLessThan(40)
    const again = database('no-stall', { dir })
    expect((await again.get('t99-99')).body).toMatch(/^99-99-y+$/)
    expect((await again.allDocs()).rows).toHaveLength(transactions * 100 + 1)
    await again.close()
  }, 120_000)
})

describe('the write log read back after a crash', () => {
  it('skips a file entry whose bytes do not hash to its name and keeps the entries after it; a torn tail is dropped', async () => {
    const dir = tempDir()
    const root = join(dir, 'garbage')
    const good = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff)
    const other = Uint8Array.from({ length: 200 }, (_, i) => (i * 13) & 0xff)
    const storage = nodeFileStorage('garbage', { dir, durability: 'power' })
    await storage.writeFile(rawFileCid(other), other)
    await storage.writeRecord('r', Uint8Array.of(1))
    await storage.close()
    // A log left by a crash: a whole entry (its CRC matches) under the name of `good` with other bytes, then
    // entries that are fine, then half an entry.
    const log = join(root, 'log')
    const before = existsSync(log) ? readFileSync(log) : Buffer.from(WRITE_LOG_HEADER)
    const tail = [
      encodeWriteLogEntry({ kind: 'file', name: rawFileCid(good), body: Uint8Array.from(good, (b) => b ^ 1) }),
      encodeWriteLogEntry({ kind: 'record', name: 'r', body: Uint8Array.of(2) }),
      encodeWriteLogEntry({ kind: 'file', name: rawFileCid(good), body: good }),
      encodeWriteLogEntry({ kind: 'record', name: 's', body: Uint8Array.of(3) }).subarray(0, 9),
    ]
    fs.writeFileSync(log, Buffer.concat([before, ...tail]))
    const reopened = nodeFileStorage('garbage', { dir, durability: 'power' })
    expect(await reopened.readRecord('r')).toEqual(Uint8Array.of(2))
    expect(await reopened.readFile(rawFileCid(good))).toEqual(good)
    expect(await reopened.readFile(rawFileCid(other))).toEqual(other)
    expect(await reopened.readRecord('s')).toBeUndefined()
    // Writes after the torn tail are read back after the next open.
    await reopened.writeRecord('t', Uint8Array.of(4))
    await reopened.close()
    const third = nodeFileStorage('garbage', { dir, durability: 'power' })
    expect(await third.readRecord('t')).toEqual(Uint8Array.of(4))
    expect(await third.readRecord('r')).toEqual(Uint8Array.of(2))
    expect(await third.readFile(rawFileCid(good))).toEqual(good)
    await third.close()
  })

  it("kill -9 between a file's append and the record naming it ('power'): every acknowledged file and record is read back byte-identical", async () => {
    const dir = tempDir()
    const lines = await runUntilKilled('storage-kill-writer.ts', [dir, '60'], { afterLines: 1_000 })
    const unnamed = lines.pop()!
    expect(unnamed).toMatch(/^unnamed /)
    expect(lines).toHaveLength(60)
    const storage = nodeFileStorage('kill', { dir, durability: 'power' })
    expect(new TextDecoder().decode(await storage.readRecord('head'))).toBe(lines.at(-1))
    for (const cid of lines) {
      const bytes = await storage.readFile(cid)
      expect(bytes && rawFileCid(bytes)).toBe(cid)
    }
    // The file no record names was written before the kill: kept whole (or, after a power loss, absent).
    const orphan = await storage.readFile(unnamed.slice('unnamed '.length))
    if (orphan) expect(rawFileCid(orphan)).toBe(unnamed.slice('unnamed '.length))
    expect(await storage.listFiles()).toEqual(expect.arrayContaining(lines))
    await storage.close()
  })

  it("a 'power' log cut back to what was acknowledged (a power loss) keeps every acknowledged put", async () => {
    const source = tempDir()
    const lines = await runUntilKilled('power-log-writer.ts', [source, '0'], { afterLines: 40 })
    const acked = lines.map((line) => {
      const [id, size] = line.split(' ')
      return { id: id!, size: Number(size) }
    })
    expect(acked.length).toBeGreaterThanOrEqual(40)
    const random = seededRandom(0x5eed)
    for (const k of [0, 9, 20, acked.length - 1]) {
      const copy = tempDir()
      cpSync(source, copy, { recursive: true })
      const log = join(copy, 'crash', 'log')
      // What the disk holds after a power loss: everything fsync'd before the acknowledgement of put k,
      // then some prefix of the writes after it, cut anywhere.
      const kept = acked[k]!.size + Math.floor(random() * Math.max(0, statSync(log).size - acked[k]!.size))
      truncateSync(log, kept)
      const db = database('crash', { dir: copy, durability: 'power' })
      const present = new Set((await db.allDocs()).rows.map((row) => row.key))
      expect(acked.slice(0, k + 1).filter(({ id }) => !present.has(id))).toEqual([])
      await db.put({ _id: 'after' })
      await db.close()
    }
  }, 120_000)

  it('garbage appended after the last whole entry does not stop later writes from being read back', async () => {
    const dir = tempDir()
    const db = database('torn', { dir, durability: 'power', compactEvery: 0 })
    for (let i = 0; i < 5; i++) await db.put(doc(i))
    await db.close()
    const log = join(dir, 'torn', 'log')
    if (existsSync(log)) appendFileSync(log, Buffer.from('01003b62616662', 'hex'))
    else fs.writeFileSync(log, Buffer.concat([Buffer.from(WRITE_LOG_HEADER), Buffer.from('0100', 'hex')]))
    const again = database('torn', { dir, durability: 'power', compactEvery: 0 })
    for (let i = 5; i < 10; i++) await again.put(doc(i))
    await again.close()
    const third = database('torn', { dir })
    expect((await third.allDocs()).rows.map((row) => row.key)).toEqual(Array.from({ length: 10 }, (_, i) => doc(i)._id))
    await third.close()
  })
})
