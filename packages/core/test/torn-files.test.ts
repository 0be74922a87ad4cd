import { openSync, closeSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { database, type Database } from '../src/index.js'
import { loggedFilePlaces } from '../src/storage/write-log.js'
import { dataFiles, readDataFile, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/** A database on disk with a few transactions, flushed to a backend; returns what a test needs to damage it. */
async function written(name: string) {
  const dir = tempDir()
  const backend = memoryBackend()
  const db = database(name, { dir, storage: 'file', compactEvery: 0 })
  const sync = db.connect(backend(), { pollInterval: 0 })
  await sync.ready
  for (let i = 0; i < 4; i++) await db.put({ _id: `doc${i}`, v: i })
  await sync.flush()
  const key = await db.exportKey()
  await sync.close()
  await db.close()
  const head = readFileSync(join(dir, name, 'records', 'head.main'))
  // The newest file is the one the head record names (its CID string is in the record).
  const newest = dataFiles(dir, name).find((file) => head.includes(Buffer.from(file)))!
  expect(newest).toBeDefined()
  return { dir, backend, key, newest, name }
}

/**
 * Damages a stored file where the storage keeps it: a file of `files/` is cut short or has a byte flipped; a
 * small file lives in a sealed segment of the write log, where a torn write leaves zeros instead of its tail.
 */
function damage(dir: string, name: string, file: string, how: 'truncated' | 'flipped', at: number) {
  const place = loggedFilePlaces(join(dir, name)).get(file)
  if (!place) {
    const path = join(dir, name, 'files', file)
    if (how === 'truncated') truncateSync(path, at)
    else flipByte(path, at)
    return
  }
  const fd = openSync(place.path, 'r+')
  try {
    const bytes = how === 'truncated' ? new Uint8Array(place.length - at) : Uint8Array.of(readFileSync(place.path)[place.offset + at]! ^ 0x20)
    writeSync(fd, bytes, 0, bytes.length, place.offset + at)
  } finally {
    closeSync(fd)
  }
}

async function docs(db: Database) {
  return (await db.allDocs()).rows.map((row) => row.value)
}

const expected = [0, 1, 2, 3].map((i) => ({ _id: `doc${i}`, v: i }))

function flipByte(path: string, at: number) {
  const bytes = readFileSync(path)
  bytes[at] = bytes[at]! ^ 0x20
  writeFileSync(path, bytes)
}

describe('torn or altered local files', () => {
  for (const how of ['truncated', 'flipped'] as const) {
    it(`a ${how} newest file is fetched from a connected backend when the database opens, and replaced locally`, async () => {
      const { dir, backend, key, newest, name } = await written(`torn-${how}`)
      const good = readDataFile(dir, name, newest)
      damage(dir, name, newest, how, Math.floor(good.length / 2))
      const db = database(`torn-${how}`, { dir, storage: 'file', key })
      const sync = db.connect(backend(), { pollInterval: 0 })
      await sync.ready
      expect(await docs(db)).toEqual(expected)
      expect(readDataFile(dir, name, newest).equals(good)).toBe(true)
      await db.put({ _id: 'after', v: 4 })
      await sync.flush()
      await sync.close()
      await db.close()
    })
  }

  it('a torn newest file without a backend: reads fail with an IntegrityError naming the file, until a backend repairs it', async () => {
    const { dir, backend, key, newest, name } = await written('torn-later')
    damage(dir, name, newest, 'truncated', 100)
    const db = database('torn-later', { dir, storage: 'file', key })
    const error = await db.get('doc0').catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).name).toBe('IntegrityError')
    expect((error as Error).message).toContain(newest)
    expect((error as Error).message).toContain('head.main')
    const sync = db.connect(backend(), { pollInterval: 0 })
    await sync.ready
    expect(await docs(db)).toEqual(expected)
    await sync.close()
    await db.close()
  })
})

describe('damaged local records', () => {
  const openError = async (dir: string, name: string, key?: string) => {
    const db = database(name, { dir, storage: 'file', key })
    const error = await db.get('doc0').then(
      () => undefined,
      (e: Error) => e,
    )
    await db.close().catch(() => {})
    return error
  }

  it('a truncated head record: an error naming the record and saying it is corrupt', async () => {
    const { dir } = await written('head-cut')
    const record = join(dir, 'head-cut', 'records', 'head.main')
    truncateSync(record, 20)
    const error = await openError(dir, 'head-cut')
    expect(error?.name).toBe('CorruptRecordError')
    expect(error?.message).toContain('head.main')
    expect(error?.message).toContain(join(dir, 'head-cut'))
    expect(error?.message).not.toMatch(/^CBOR decode error/)
  })

  it('a head record whose file name was altered: an error naming the record, not a missing block', async () => {
    const { dir, newest } = await written('head-flip')
    const record = join(dir, 'head-flip', 'records', 'head.main')
    const bytes = readFileSync(record)
    const at = bytes.indexOf(Buffer.from(newest)) + newest.length - 3
    bytes[at] = bytes[at] === 0x61 ? 0x62 : 0x61 // another base32 letter: still a well-formed CID string
    writeFileSync(record, bytes)
    const error = await openError(dir, 'head-flip')
    expect(error?.name).toBe('CorruptRecordError')
    expect(error?.message).toContain('head.main')
    expect(error?.message).toContain(join(dir, 'head-flip'))
  })

  it('a head record whose height was altered: an error naming the record', async () => {
    const { dir } = await written('head-height')
    const record = join(dir, 'head-height', 'records', 'head.main')
    const bytes = readFileSync(record)
    // dag-cbor: the key "height" then a small unsigned integer (major type 0) right after it.
    const at = bytes.indexOf(Buffer.from('height')) + 'height'.length
    expect(bytes[at]! >> 5).toBe(0)
    bytes[at] = bytes[at]! ^ 0x08
    writeFileSync(record, bytes)
    const error = await openError(dir, 'head-height')
    expect(error?.name).toBe('CorruptRecordError')
    expect(error?.message).toContain('head.main')
  })

  it('a truncated keybag: an error naming the keybag record and saying it is corrupt', async () => {
    const { dir } = await written('bag-cut')
    truncateSync(join(dir, 'bag-cut', 'records', 'keybag'), 10)
    const error = await openError(dir, 'bag-cut')
    expect(error?.name).toBe('CorruptRecordError')
    expect(error?.message).toContain('keybag')
    expect(error?.message).toContain(join(dir, 'bag-cut'))
  })

  it('a keybag whose key bytes were altered: a key mismatch that names the keybag record', async () => {
    const { dir } = await written('bag-flip')
    const record = join(dir, 'bag-flip', 'records', 'keybag')
    flipByte(record, readFileSync(record).length - 1) // the last byte of the 32-byte key
    const error = await openError(dir, 'bag-flip')
    expect(error?.name).toBe('KeyMismatchError')
    expect(error?.message).toContain('keybag')
    expect(error?.message).toContain(join(dir, 'bag-flip'))
  })
})
