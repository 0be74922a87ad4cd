import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ClosedError, database, DatabaseInUseError, KeyMismatchError } from '@proj/core'
import { dataFiles, readDataFile, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/** Bytes this process has read through read(2) and friends so far. */
function readChars(): number {
  return Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])
}

describe('db.info()', () => {
  it('counts live documents and local files, and follows the clock', async () => {
    const dir = tempDir()
    const db = database('inventory', { dir })
    expect(await db.info()).toMatchObject({ name: 'inventory', branch: 'main', clock: [], docCount: 0, syncs: [] })
    await db.bulk([{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }])
    await db.del('b')
    const info = await db.info()
    expect(info.docCount).toBe(2)
    expect(info.clock).toEqual(await db.clock())
    expect(info.location).toBe(join(dir, 'inventory'))
    const files = dataFiles(dir, 'inventory')
    expect(info.files.count).toBe(files.length)
    const bytes = files.reduce((sum, file) => sum + readDataFile(dir, 'inventory', file).length, 0)
    expect(info.files.bytes).toBe(bytes)
    await db.put({ _id: 'b', back: true })
    expect((await db.info()).docCount).toBe(3)
    await db.close()
  })

  it('sums the stored files without reading them: bytes read stay a small part of the database, and every place a file lives counts', async () => {
    const dir = tempDir()
    const db = database('sizes', { dir, compactEvery: 0 })
    // Large files (written to files/ directly), small ones (in the write log), then a reopen seals the log
    // into a segment and new small files start a new log.
    await db.bulk(Array.from({ length: 3000 }, (_, i) => ({ _id: `big-${i}`, pad: 'x'.repeat(300) })))
    for (let i = 0; i < 20; i++) await db.put({ _id: `small-${i}` })
    await db.close()
    const again = database('sizes', { dir, compactEvery: 0 })
    for (let i = 0; i < 20; i++) await again.put({ _id: `late-${i}` })
    await again.get('late-0')
    const files = dataFiles(dir, 'sizes')
    const stored = files.reduce((sum, file) => sum + readDataFile(dir, 'sizes', file).length, 0)
    // The first info() counts the documents: it walks the tree, reading the files a lazy open had not read yet.
    expect((await again.info()).docCount).toBe(3040)
    const before = readChars()
    const info = await again.info()
    const read = readChars() - before
    expect(info.files).toEqual({ count: files.length, bytes: stored })
    expect(info.docCount).toBe(3040)
    // Now the count is known for this clock: summing the files reads none of them.
    expect(read).toBeLessThan(stored / 10)
    await again.close()
  })

  it('reports, per open sync, the files not uploaded yet, and none after flush()', async () => {
    const backend = memoryBackend()
    const db = database('outbox', { storage: 'memory' })
    const sync = db.connect(backend(), { pollInterval: 0 })
    await sync.ready
    sync.pause()
    await db.put({ _id: 'offline-1' })
    await db.put({ _id: 'offline-2' })
    const [paused] = (await db.info()).syncs
    expect(paused).toMatchObject({ connector: 'memory', paused: true })
    expect(paused!.pending.files).toBeGreaterThanOrEqual(2)
    expect(paused!.pending.bytes).toBeGreaterThan(0)
    sync.resume()
    await sync.flush()
    expect((await db.info()).syncs).toEqual([
      { connector: 'memory', status: 'synced', paused: false, pending: { files: 0, bytes: 0 } },
    ])
    await sync.close()
    expect((await db.info()).syncs).toEqual([])
    await db.close()
  })
})

describe('db.destroy()', () => {
  it('deletes the local data and keeps the key unless asked; a backend can bring everything back', async () => {
    const dir = tempDir()
    const backend = memoryBackend()
    const db = database('gone', { dir })
    const key = await db.exportKey()
    await db.bulk([{ _id: 'x' }, { _id: 'y' }])
    const sync = db.connect(backend(), { pollInterval: 0 })
    await sync.flush()
    await db.destroy()
    expect(dataFiles(dir, 'gone')).toEqual([])
    expect(readdirSync(join(dir, 'gone', 'records'))).toEqual(['keybag'])
    await expect(db.get('x')).rejects.toBeInstanceOf(ClosedError)
    expect(sync.status).toBe('offline')

    const again = database('gone', { dir })
    expect(await again.exportKey()).toBe(key)
    expect((await again.info()).docCount).toBe(0)
    await again.connect(backend(), { pollInterval: 0 }).ready
    expect((await again.allDocs()).rows.map((row) => row.key)).toEqual(['x', 'y'])
    await again.destroy({ key: true })
    expect(readdirSync(join(dir, 'gone', 'records'))).toEqual([])
    const fresh = database('gone', { dir })
    expect(await fresh.exportKey()).not.toBe(key)
    await fresh.close()
  })

  it('refuses while another instance has the database open, and deletes nothing', async () => {
    const dir = tempDir()
    const a = database('shared', { dir })
    const b = database('shared', { dir })
    await a.put({ _id: 'kept' })
    await expect.poll(() => b.get('kept').catch(() => undefined)).toEqual({ _id: 'kept' })
    const refused = await a.destroy().catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(DatabaseInUseError)
    expect((refused as Error).message).toContain('"shared"')
    expect(await b.get('kept')).toEqual({ _id: 'kept' })
    await b.close()
    const reopened = database('shared', { dir })
    expect(await reopened.get('kept')).toEqual({ _id: 'kept' })
    await reopened.destroy()
    expect(dataFiles(dir, 'shared')).toEqual([])
  })

  it('destroys a database that cannot open with the key given (a way out of a wrong key)', async () => {
    const dir = tempDir()
    const original = database('wrong', { dir })
    await original.put({ _id: 'secret' })
    await original.close()
    const otherKey = await database('other', { storage: 'memory' }).exportKey()
    const stuck = database('wrong', { dir, key: otherKey })
    await expect(stuck.get('secret')).rejects.toBeInstanceOf(KeyMismatchError)
    await stuck.destroy({ key: true })
    const replaced = database('wrong', { dir, key: otherKey })
    expect((await replaced.allDocs()).rows).toEqual([])
    await replaced.close()
  })

  it('rejects bad options with a TypeError naming the value, deleting nothing', async () => {
    const dir = tempDir()
    const db = database('careful', { dir })
    await db.put({ _id: 'stay' })
    await expect(db.destroy({ key: 'yes' } as never)).rejects.toThrow('destroy() option key must be true or false, got the string "yes"')
    await expect(db.destroy(null as never)).rejects.toThrow(TypeError)
    expect(await db.get('stay')).toEqual({ _id: 'stay' })
    await db.close()
  })
})
