import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { memoryBackend } from './memory-backend.js'
import { dataFiles, readDataFile, seededBackend, tempDir } from './helpers.js'

function diskBytes(dir: string, name: string): number {
  const files = join(dir, name, 'files')
  return readdirSync(files).reduce((sum, f) => sum + statSync(join(files, f)).size, 0)
}

const big = (i: number) => ({ _id: `doc${String(i).padStart(5, '0')}`, n: i % 10, text: 'x'.repeat(500) + i })

describe('compaction', () => {
  it('shrinks disk after mass deletes, writes bounded files, keeps docs and indexes across reopen', async () => {
    const dir = tempDir()
    const db = database('c', { dir, compactEvery: 0 })
    for (let i = 0; i < 5; i++) await db.bulk(Array.from({ length: 1000 }, (_, j) => big(i * 1000 + j)))
    expect((await db.query('n', { key: 3 })).rows).toHaveLength(500)
    await db.compact()
    const full = dataFiles(dir, 'c').map((f) => readDataFile(dir, 'c', f).length)
    expect(full.length).toBeGreaterThan(1)
    for (const size of full) expect(size).toBeLessThan(1.5 * 2 ** 20)
    for (let i = 0; i < 4900; i += 700) {
      await Promise.all(Array.from({ length: 700 }, (_, j) => db.del(big(i + j)._id)))
    }
    const before = diskBytes(dir, 'c')
    await db.compact()
    expect(diskBytes(dir, 'c')).toBeLessThan(before / 4)
    expect((await db.allDocs()).rows).toHaveLength(100)
    expect((await db.query('n', { key: 3 })).rows).toHaveLength(10)
    await db.compact() // repeated compaction with nothing new
    await db.close()
    const again = database('c', { dir, compactEvery: 0 })
    expect((await again.allDocs()).rows).toHaveLength(100)
    expect((await again.query('n', { key: 3 })).rows).toHaveLength(10)
    expect(await again.get('doc04999')).toMatchObject({ n: 9 })
    await again.put({ _id: 'later', n: 3 })
    await again.compact()
    await again.close()
    const third = database('c', { dir })
    expect((await third.query('n', { key: 3 })).rows).toHaveLength(11)
    await third.close()
  })

  it('compacts automatically past compactEvery files, and old clocks fail with HistoryUnavailableError', async () => {
    const dir = tempDir()
    const db = database('auto', { dir, compactEvery: 5 })
    const { clock: old } = await db.put({ _id: 'a', v: 0 })
    for (let i = 1; i <= 12; i++) await db.put({ _id: 'a', v: i })
    await db.close()
    expect(dataFiles(dir, 'auto').length).toBeLessThan(6)
    const again = database('auto', { dir })
    expect(await again.get('a')).toEqual({ _id: 'a', v: 12 })
    const error = await again.at(old).catch((e) => e)
    expect(error.name).toBe('HistoryUnavailableError')
    expect(error.message).toContain(old[0])
    await again.close()
  })

  it('by default waits for 1 MiB written before compacting: a new database keeps its first hundreds of small files, then compacts', async () => {
    // A dir: the store outlives the instance, which is closed to wait for a compaction running in the background.
    const options = { storage: 'memory', dir: tempDir() } as const
    const db = database('default', options)
    const { clock: first } = await db.put({ _id: 'p-0', v: 0, text: 'x'.repeat(150) })
    for (let i = 1; i < 300; i++) await db.put({ _id: `p-${i}`, v: i, text: 'x'.repeat(150) })
    // Three times the default compactEvery, ~0.3 MB: every file is still there, and so is every past clock.
    expect((await db.info()).files.count).toBeGreaterThanOrEqual(300)
    expect((await (await db.at(first)).allDocs()).rows).toHaveLength(1)
    // Past 1 MiB written since (bulks of fresh documents), the next write starts a compaction.
    for (let i = 0; i < 6; i++) await db.bulk(Array.from({ length: 1000 }, (_, k) => ({ _id: `b-${i}-${k}`, text: 'y'.repeat(150) })))
    await db.put({ _id: 'last', v: 1 })
    await db.close()
    const again = database('default', options)
    expect((await again.info()).files.count).toBeLessThan(100)
    expect((await again.allDocs()).rows).toHaveLength(6301)
    await again.close()
  })

  it('paces automatic compaction by bytes: small writes into a large database do not rewrite it every compactEvery files', async () => {
    const dir = tempDir()
    let db = database('paced', { dir, compactEvery: 20 })
    for (let i = 0; i < 4; i++) await db.bulk(Array.from({ length: 1000 }, (_, j) => big(i * 1000 + j)))
    await db.compact()
    const compacted = new Set(dataFiles(dir, 'paced'))
    const compactedBytes = diskBytes(dir, 'paced')
    // 100 single puts (five times compactEvery) write far less than half of the ~2 MB database: no compaction
    // (each would rewrite all of it, ~20 KB per put), so every compacted file is still there.
    for (let i = 0; i < 100; i++) await db.put({ ...big(i), text: `edit ${i}` })
    // close() waits for a compaction running in the background.
    await db.close()
    expect(dataFiles(dir, 'paced').filter((file) => compacted.has(file))).toHaveLength(compacted.size)
    db = database('paced', { dir, compactEvery: 20 })
    // Once the writes since reach half its size, the next write starts a compaction.
    for (let i = 0; i < 3; i++) await db.bulk(Array.from({ length: 500 }, (_, j) => ({ ...big(j), text: 'y'.repeat(600) + i })))
    await db.put({ _id: 'last' })
    await db.close()
    expect(dataFiles(dir, 'paced').filter((file) => compacted.has(file)).length).toBeLessThan(compacted.size)
    expect(diskBytes(dir, 'paced')).toBeLessThan(compactedBytes * 2)
    db = database('paced', { dir, compactEvery: 20 })
    expect((await db.allDocs()).rows).toHaveLength(4001)
    await db.close()
  })

  it('reopened offline after a compaction, finds the blocks a replica\'s header places in files the compaction deleted', async () => {
    const backend = memoryBackend()
    const dirA = tempDir()
    const a = database('o', { dir: dirA, compactEvery: 0 })
    const key = await a.exportKey()
    const b = database('o', { storage: 'memory', key, compactEvery: 0 })
    const sa = a.connect(backend(), { pollInterval: 0 })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await a.bulk(Array.from({ length: 600 }, (_, i) => big(i)))
    await sa.flush()
    await sb.refresh()
    // B's write names A's bulk file for the leaves it did not change.
    await b.put({ ...big(599), n: 42 })
    await sb.flush()
    await a.compact()
    await sa.refresh()
    expect(await a.get(big(599)._id)).toEqual({ ...big(599), n: 42 })
    await sa.close()
    await sb.close()
    await b.close()
    await a.close()
    // No sync: the bulk file is gone locally and no backend serves it; the compaction's record says where
    // its blocks went (read only now, on the first miss).
    const again = database('o', { dir: dirA })
    const rows = (await again.allDocs()).rows
    expect(rows).toHaveLength(600)
    expect(rows.at(-1)!.value).toEqual({ ...big(599), n: 42 })
    expect((await again.query('n', { key: 3 })).rows).toHaveLength(60)
    await again.close()
  })

  it('never loses a block: compaction, concurrent replica writes, merges, repeated compaction, cold starts', async () => {
    const backend = memoryBackend()
    const dirA = tempDir()
    const dirB = tempDir()
    const a = database('s', { dir: dirA, compactEvery: 0 })
    const key = await a.exportKey()
    const b = database('s', { dir: dirB, key, compactEvery: 0 })
    let sa = a.connect(backend(), { pollInterval: 0 })
    let sb = b.connect(backend(), { pollInterval: 0 })
    await a.bulk(Array.from({ length: 2000 }, (_, i) => big(i)))
    await sa.flush()
    await sb.refresh()
    expect((await b.allDocs()).rows).toHaveLength(2000)
    // a compacts; b keeps referencing a's old files by CID in its next transactions
    await a.compact()
    await b.bulk(Array.from({ length: 50 }, (_, i) => ({ ...big(i), n: 100 })))
    await a.put({ _id: 'doc01999', n: 200 })
    await sb.flush()
    await sa.flush()
    await sa.refresh()
    await sb.refresh()
    await a.compact()
    await sa.flush()
    await sb.refresh()
    expect(await a.clock()).toEqual(await b.clock())
    expect((await a.query('n', { key: 100 })).rows).toHaveLength(50)
    // cold start of a without any connector: everything comes from its local files
    await Promise.all([sa.close(), sb.close()])
    await a.close()
    const coldA = database('s', { dir: dirA })
    const docs = (await coldA.allDocs()).rows
    expect(docs).toHaveLength(2000)
    expect(docs.filter((r) => r.value.n === 100)).toHaveLength(50)
    expect(await coldA.get('doc01999')).toMatchObject({ n: 200 })
    expect((await coldA.query('n', { key: 100 })).rows).toHaveLength(50)
    // b compacts too, then a new device starts cold from the remote only
    await b.compact()
    sb = b.connect(backend(), { pollInterval: 0 })
    await b.put({ _id: 'after', n: 1 })
    await sb.flush()
    sa = coldA.connect(backend(), { pollInterval: 0 })
    await sa.refresh()
    await coldA.compact()
    expect((await coldA.allDocs()).rows).toHaveLength(2001)
    const c = database('s', { dir: tempDir(), key, storage: 'memory' })
    const sc = c.connect(backend(), { pollInterval: 0 })
    await sc.ready
    expect((await c.allDocs()).rows).toHaveLength(2001)
    expect((await c.query('n', { key: 200 })).rows.map((r) => r.id)).toEqual(['doc01999'])
    await Promise.all([sa.close(), sb.close(), sc.close()])
    await Promise.all([coldA.close(), b.close(), c.close()])
  })

  it('a device that reads lazily, compacting offline: a MissingBlockError that says to connect a sync, nothing changed; with one it compacts', async () => {
    const { backend, key } = await seededBackend('lazy', 5000)

    const dir = tempDir()
    const lazy = database('lazy', { dir, key, compactEvery: 0 })
    let sync = lazy.connect(backend(), { pollInterval: 0 })
    await sync.ready
    expect(await lazy.get('d00007')).toMatchObject({ i: 7 })
    for (let i = 0; i < 5; i++) await lazy.put({ _id: `local${i}`, i })
    await sync.flush()
    await sync.close()
    const clock = await lazy.clock()
    const error = await lazy.compact().then(
      () => undefined,
      (e: Error) => e,
    )
    // Before: the store's own message, with nothing about compaction or what to do.
    expect(error?.name).toBe('MissingBlockError')
    expect(error?.message).toMatch(/^Block \S+ cannot be found: compact\(\) of "lazy" reads every block; .*Connect a sync, then compact\(\) again\. Nothing was changed$/)
    expect(await lazy.clock()).toEqual(clock)
    expect(await lazy.get('local3')).toEqual({ _id: 'local3', i: 3 })
    sync = lazy.connect(backend(), { pollInterval: 0 })
    await sync.ready
    await lazy.compact()
    expect((await lazy.allDocs()).rows).toHaveLength(5005)
    await sync.close()
    await lazy.close()
  })
})
