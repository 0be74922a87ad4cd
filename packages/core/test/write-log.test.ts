import { cpSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { database, FormatVersionError } from '../src/index.js'
import {
  blankRecordEntryAt,
  decodeSegmentIndex,
  decodeWriteLog,
  encodeSegmentIndex,
  encodeWriteLogEntry,
  WRITE_LOG_HEADER,
  WRITE_LOG_V1_HEADER,
  writeLogEntryLength,
} from '../src/format/write-log.js'
import { runUntilKilled, tempDir } from './helpers.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('write log format, version 2, and segment index, version 1 (format/write-log.ts)', () => {
  it('pins the bytes of the header and of each entry kind (the CRC is zlib’s CRC-32)', () => {
    expect(hex(WRITE_LOG_HEADER)).toBe('70726f6a6c6f6702')
    expect(hex(WRITE_LOG_V1_HEADER)).toBe('70726f6a6c6f6701')
    expect(hex(encodeWriteLogEntry({ kind: 'file-deleted', name: 'bafkreia' }))).toBe('0400086261666b7265696100000000ec029008')
    expect(hex(encodeWriteLogEntry({ kind: 'file', name: 'bafkreia', body: Uint8Array.of(1, 2, 3) }))).toBe(
      '0100086261666b726569610000000301020332aff476',
    )
    expect(hex(encodeWriteLogEntry({ kind: 'record', name: 'head.main', body: Uint8Array.of(0xa1, 0x61, 0x76, 0x01) }))).toBe(
      '020009686561642e6d61696e00000004a1617601150da252',
    )
    expect(hex(encodeWriteLogEntry({ kind: 'deleted', name: 'sync.x' }))).toBe('03000673796e632e7800000000904e80a3')
  })

  it('blanks a record entry in place to the bytes of the same record with an all-zero body, and touches nothing else', () => {
    const file = encodeWriteLogEntry({ kind: 'file', name: 'bafkreia', body: Uint8Array.of(1, 2, 3) })
    const record = encodeWriteLogEntry({ kind: 'record', name: 'héad.main', body: Uint8Array.of(0xa1, 0x61, 0x76, 0x01) })
    expect(writeLogEntryLength('héad.main', 4)).toBe(record.length)
    const window = new Uint8Array([...file, ...record, ...file])
    expect(blankRecordEntryAt(window.subarray(file.length), 0)).toBe(record.length)
    const blank = encodeWriteLogEntry({ kind: 'record', name: 'héad.main', body: new Uint8Array(4) })
    expect(hex(window)).toBe(hex(new Uint8Array([...file, ...blank, ...file])))
    // A file entry is never blanked; an entry running past the bytes given is refused.
    expect(() => blankRecordEntryAt(window, 0)).toThrow(/not a record entry/)
    expect(() => blankRecordEntryAt(window.subarray(file.length, file.length + record.length - 1), 0)).toThrow(/ends past/)
  })

  it('pins the bytes of a segment index, decodes it back, and refuses a cut-off, altered or newer one', () => {
    const entries = [
      { name: 'bafkreia', offset: 15, length: 3 },
      { name: 'bafkreib', offset: 40, length: 300 },
    ]
    const bytes = encodeSegmentIndex(entries)
    expect(hex(bytes)).toBe(
      '70726f6a696478010000000200086261666b726569610000000f0000000300086261666b72656962000000280000012ceae12694',
    )
    expect(hex(encodeSegmentIndex([]))).toBe('70726f6a69647801000000007a3c8d14')
    expect(decodeSegmentIndex(bytes, 'index')).toEqual(entries)
    for (const cut of [0, 12, bytes.length - 1]) {
      expect(() => decodeSegmentIndex(bytes.subarray(0, cut), 'The index of segment 3')).toThrow(/The index of segment 3 is corrupt/)
    }
    const altered = bytes.slice()
    altered[20]! ^= 1
    expect(() => decodeSegmentIndex(altered, 'index')).toThrow(/CRC does not match/)
    const newer = bytes.slice()
    newer[7] = 2
    expect(() => decodeSegmentIndex(newer, 'index')).toThrow(FormatVersionError)
  })

  it('reads a version 1 log (kinds 1 to 3; kind 4 ends it there)', () => {
    const file = encodeWriteLogEntry({ kind: 'file', name: 'bafkreia', body: Uint8Array.of(1, 2, 3) })
    const gone = encodeWriteLogEntry({ kind: 'file-deleted', name: 'bafkreia' })
    const v1 = decodeWriteLog(Uint8Array.from([...WRITE_LOG_V1_HEADER, ...file, ...gone]), 'log')
    expect(v1.version).toBe(1)
    expect(v1.entries.map(({ entry }) => entry.kind)).toEqual(['file'])
    const v2 = decodeWriteLog(Uint8Array.from([...WRITE_LOG_HEADER, ...file, ...gone]), 'log')
    expect(v2.version).toBe(2)
    expect(v2.entries.map(({ entry }) => entry.kind)).toEqual(['file', 'file-deleted'])
  })

  it('decodes whole entries, stops at a cut-off or altered one, and refuses a newer version or another header', () => {
    const first = encodeWriteLogEntry({ kind: 'record', name: 'a', body: Uint8Array.of(7) })
    const second = encodeWriteLogEntry({ kind: 'deleted', name: 'b' })
    const log = Uint8Array.from([...WRITE_LOG_HEADER, ...first, ...second])
    const whole = decodeWriteLog(log, 'log')
    expect(whole.entries.map(({ entry }) => entry)).toEqual([
      { kind: 'record', name: 'a', body: Uint8Array.of(7) },
      { kind: 'deleted', name: 'b' },
    ])
    expect(whole.validLength).toBe(log.length)
    for (let cut = WRITE_LOG_HEADER.length + first.length; cut < log.length; cut++) {
      expect(decodeWriteLog(log.subarray(0, cut), 'log').validLength).toBe(WRITE_LOG_HEADER.length + first.length)
    }
    const flipped = log.slice()
    flipped[log.length - 6]! ^= 0x01
    expect(decodeWriteLog(flipped, 'log').entries).toHaveLength(1)
    expect(decodeWriteLog(log.subarray(0, 5), 'log').entries).toEqual([])
    const newer = log.slice()
    newer[7] = 3
    expect(() => decodeWriteLog(newer, 'The write log of "x"')).toThrow(FormatVersionError)
    expect(() => decodeWriteLog(newer, 'The write log of "x"')).toThrow('The write log of "x" has format version 3')
    const other = log.slice()
    other[0] = 0x50
    expect(() => decodeWriteLog(other, 'The write log of "x"')).toThrow(/The write log of "x" is corrupt/)
  })
})

/** The entries of a log, none when there is no log. */
const entriesLeft = (path: string) => (existsSync(path) ? decodeWriteLog(readFileSync(path), 'log').entries : [])

async function idsIn(dir: string): Promise<Set<string>> {
  const db = database('crash', { dir, durability: 'process' })
  const ids = new Set((await db.allDocs()).rows.map((row) => row.key))
  await db.close()
  return ids
}

describe("the write log under kill -9 (durability 'process')", () => {
  it('a log cut anywhere, or altered in its last entry, opens with a prefix of the acknowledged writes', async () => {
    const source = tempDir()
    const acknowledged = await runUntilKilled('crash-writer.ts', [source, '1', 'process'], { afterLines: 12 })
    const logPath = join(source, 'crash', 'log')
    expect(existsSync(logPath)).toBe(true)
    const bytes = readFileSync(logPath)
    const { entries, validLength } = decodeWriteLog(bytes, 'log')
    expect(entries.length).toBeGreaterThan(2)
    // Cut points: inside the header, at and inside each of the last three entries, and at the end.
    const starts = entries.map(({ bodyOffset, entry }) => bodyOffset - 7 - Buffer.byteLength(entry.name))
    const cuts = new Set([3, WRITE_LOG_HEADER.length, validLength])
    for (const start of starts.slice(-3)) for (const delta of [0, 1, 9, 40]) cuts.add(Math.min(start + delta, validLength))
    const present: number[] = []
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      const copy = tempDir()
      cpSync(source, copy, { recursive: true })
      truncateSync(join(copy, 'crash', 'log'), cut)
      const ids = await idsIn(copy)
      // A prefix: no acknowledged write is present after one that is missing.
      const kept = acknowledged.findIndex((id) => !ids.has(id))
      const count = kept === -1 ? acknowledged.length : kept
      expect(acknowledged.slice(count).filter((id) => ids.has(id)), `cut at ${cut}`).toEqual([])
      present.push(count)
      // Closing sealed the log (records into records/, files into a segment): the log left holds no entry.
      expect(entriesLeft(join(copy, 'crash', 'log'))).toEqual([])
    }
    // Longer logs keep more, and the whole log keeps every acknowledged write.
    expect(present).toEqual([...present].sort((a, b) => a - b))
    expect(present.at(-1)).toBe(acknowledged.length)

    const flipped = tempDir()
    cpSync(source, flipped, { recursive: true })
    const damaged = readFileSync(join(flipped, 'crash', 'log'))
    damaged[starts.at(-1)! + 3]! ^= 0x40
    writeFileSync(join(flipped, 'crash', 'log'), damaged)
    const ids = await idsIn(flipped)
    const kept = acknowledged.findIndex((id) => !ids.has(id))
    expect(acknowledged.slice(kept === -1 ? acknowledged.length : kept).filter((id) => ids.has(id))).toEqual([])
    // Everything before the altered entry is kept.
    expect(kept === -1 ? acknowledged.length : kept).toBeGreaterThanOrEqual(present[present.length - 2] ?? 0)
  }, 120_000)
})

describe("the write log inside one process (durability 'process')", () => {
  it("instances share it: a 'power' instance sees the log's writes and writes after them; close seals it (an empty log left)", async () => {
    const dir = tempDir()
    const fast = database('shared', { dir, durability: 'process', compactEvery: 0 })
    for (let i = 0; i < 6; i++) await fast.put({ _id: `f${i}`, i })
    expect(existsSync(join(dir, 'shared', 'log'))).toBe(true)
    const safe = database('shared', { dir, durability: 'power', compactEvery: 0 })
    expect((await safe.allDocs()).rows.map((row) => row.key)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5'])
    await safe.put({ _id: 's0' })
    // The 'power' write's file and head record went to the log and were fdatasync'd with everything appended
    // before them (the 'process' writes they build on).
    expect(existsSync(join(dir, 'shared', 'log'))).toBe(true)
    await fast.put({ _id: 'f6' })
    await safe.close()
    expect((await fast.allDocs()).rows.map((row) => row.key)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 's0'])
    const before = (await fast.info()).files.count
    await fast.compact()
    expect((await fast.info()).files.count).toBeLessThan(before)
    await fast.put({ _id: 'f7' })
    await fast.close()
    expect(entriesLeft(join(dir, 'shared', 'log'))).toEqual([])
    const reopened = database('shared', { dir })
    expect((await reopened.allDocs()).rows).toHaveLength(9)
    await reopened.close()
  })

  it('is sealed into a segment once it passes 8 MiB, so a process that never closes does not grow it without bound', async () => {
    const dir = tempDir()
    const db = database('bounded', { dir, durability: 'process', compactEvery: 0 })
    const log = join(dir, 'bounded', 'log')
    let largest = 0
    let shrank = false
    for (let i = 0; i < 60; i++) {
      // ~200 KB files: under the size that goes to files/ directly, so each goes through the log.
      await db.bulk(Array.from({ length: 250 }, (_, k) => ({ _id: `d${i}-${k}`, body: 'x'.repeat(700) })))
      const size = existsSync(log) ? readFileSync(log).length : 0
      if (size < largest) shrank = true
      largest = Math.max(largest, size)
    }
    expect(shrank).toBe(true)
    expect(largest).toBeLessThan(8 * 1024 * 1024 + 512 * 1024)
    expect((await db.allDocs()).rows).toHaveLength(60 * 250)
    await db.close()
    const again = database('bounded', { dir })
    expect((await again.allDocs({ limit: 1, descending: true })).rows[0]!.key).toBe('d9-99')
    expect((await again.allDocs()).rows).toHaveLength(60 * 250)
    await again.close()
  })
})
