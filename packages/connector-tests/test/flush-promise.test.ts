import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database, type Clock, type Database } from '@proj/core'
import { canonicalJson, FaultyConnector, MemoryBackend, MemoryConnector, type FaultCall } from '../src/index.js'

/**
 * flush() resolves with a clock only when the backend holds everything that clock needs. These tests fail
 * chosen single calls inside a push (one upload of many, the save after successful uploads, a lost reply)
 * and check the promise with a fresh device that has only the key and the backend.
 */

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flush-promise-'))
  dirs.push(dir)
  return dir
}

const noRandomFaults = { failure: 0, duplicate: 0, maxDelay: 0, dropPush: 0 }

/** Enough documents of a size that the tree spans many files: a clock then needs more than its head file. */
async function writeMany(db: Database, count: number, prefix = 'doc'): Promise<void> {
  for (let i = 0; i < count; i++) await db.put({ _id: `${prefix}${String(i).padStart(3, '0')}`, text: 'z'.repeat(3000) })
}

async function readFresh(backend: MemoryBackend, name: string, key: string, clock: Clock): Promise<string> {
  const fresh = database(name, { storage: 'memory', dir: `/fresh/${Math.random()}`, key })
  const sync = fresh.connect(new MemoryConnector(backend), { pollInterval: 0 })
  try {
    await sync.ready
    return canonicalJson((await (await fresh.at(clock)).allDocs()).rows)
  } finally {
    await sync.close()
    await fresh.close()
  }
}

describe('flush() promises only what the backend holds', () => {
  it('when all uploads but the first fail, flush rejects (never claims), and the next session uploads them all', async () => {
    const dir = await tempDir()
    const backend = new MemoryBackend()
    let db = database('one-of-many', { dir })
    const key = await db.exportKey()
    await writeMany(db, 40)
    const failAfterFirst = ({ op, index }: FaultCall) => (op === 'upload' && index > 0 ? 'before' : 'none')
    const faulty = new FaultyConnector(new MemoryConnector(backend), 1, { ...noRandomFaults, plan: failAfterFirst })
    let sync = db.connect(faulty, { pollInterval: 0, maxBackoff: 20, flushTimeout: 1500 })
    await expect(sync.flush()).rejects.toThrow(/injected fault before upload/)
    // No meta entry may name files the backend lacks.
    expect(await new MemoryConnector(backend).load('one-of-many', 'main')).toEqual([])
    await sync.close()
    await db.close()

    // A restart reads the durable record of what the backend holds: it must not claim the failed uploads.
    db = database('one-of-many', { dir })
    sync = db.connect(new MemoryConnector(backend), { pollInterval: 0 })
    const clock = await sync.flush()
    const expected = canonicalJson((await db.allDocs()).rows)
    await sync.close()
    await db.close()
    expect(await readFresh(backend, 'one-of-many', key, clock)).toBe(expected)
  })

  it('a lost reply after a successful upload or save is retried and the clock stays readable', async () => {
    const backend = new MemoryBackend()
    const db = database('lost-replies', { storage: 'memory', dir: `/lost/${Math.random()}` })
    const key = await db.exportKey()
    await writeMany(db, 30)
    // Every third upload and the first two saves reach the backend, then their replies are lost.
    const plan = ({ op, index }: FaultCall) =>
      (op === 'upload' && index % 3 === 1) || (op === 'save' && index < 2) ? 'after' : 'none'
    const faulty = new FaultyConnector(new MemoryConnector(backend), 2, { ...noRandomFaults, plan })
    const sync = db.connect(faulty, { pollInterval: 0, maxBackoff: 20 })
    const clock = await sync.flush()
    expect(faulty.injected.get('save')).toBeGreaterThanOrEqual(1)
    expect(faulty.injected.get('upload')).toBeGreaterThan(3)
    const expected = canonicalJson((await (await db.at(clock)).allDocs()).rows)
    await sync.close()
    await db.close()
    expect(await readFresh(backend, 'lost-replies', key, clock)).toBe(expected)
  })

  it('a download failing during a lazy load is retried by the reader, not reported as missing history', async () => {
    const backend = new MemoryBackend()
    const writer = database('lazy-fail', { storage: 'memory', dir: `/lazy/${Math.random()}` })
    const key = await writer.exportKey()
    await writeMany(writer, 30)
    const writerSync = writer.connect(new MemoryConnector(backend), { pollInterval: 0 })
    await writerSync.flush()
    await writerSync.close()
    await writer.close()

    const reader = database('lazy-fail', { storage: 'memory', dir: `/lazy/${Math.random()}`, key })
    // Every other download fails once before reaching the backend.
    const plan = ({ op, index }: FaultCall) => (op === 'download' && index % 2 === 1 ? 'before' : 'none')
    const faulty = new FaultyConnector(new MemoryConnector(backend), 3, { ...noRandomFaults, plan })
    const sync = reader.connect(faulty, { pollInterval: 0, maxBackoff: 20 })
    try {
      await sync.ready
      let rows: unknown[] | undefined
      // A read may fail while the backend is flaky; it names the failure as a connector error, and a retry
      // succeeds. It never claims the history is gone.
      for (let attempt = 0; attempt < 20 && !rows; attempt++) {
        try {
          rows = (await reader.allDocs()).rows
        } catch (error) {
          expect((error as Error).message).toMatch(/injected fault before download/)
          expect((error as Error).name).not.toBe('HistoryUnavailableError')
        }
      }
      expect(rows).toHaveLength(30)
      expect(faulty.injected.get('download')).toBeGreaterThan(0)
    } finally {
      await sync.close()
      await reader.close()
    }
  })

  it('the save after successful uploads fails: nothing is promised, and the retry saves an entry naming held files only', async () => {
    const backend = new MemoryBackend()
    const db = database('save-fails', { storage: 'memory', dir: `/save/${Math.random()}` })
    const key = await db.exportKey()
    await writeMany(db, 20)
    const plan = ({ op, index }: FaultCall) => (op === 'save' && index < 3 ? 'before' : 'none')
    const faulty = new FaultyConnector(new MemoryConnector(backend), 4, { ...noRandomFaults, plan })
    const sync = db.connect(faulty, { pollInterval: 0, maxBackoff: 20 })
    const clock = await sync.flush()
    expect(faulty.injected.get('save')).toBe(3)
    await sync.close()
    await db.close()
    expect(JSON.parse(await readFresh(backend, 'save-fails', key, clock))).toHaveLength(20)
  })

  it('returns while polls keep the loop busy (a backend slower than the poll interval)', async () => {
    const backend = new MemoryBackend()
    const slow = new MemoryConnector(backend)
    const load = slow.load.bind(slow)
    slow.load = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 40))
      return load(...args)
    }
    ;(slow as { subscribe?: unknown }).subscribe = undefined
    const db = database('busy', { storage: 'memory', dir: `/busy/${Math.random()}` })
    const sync = db.connect(slow, { pollInterval: 5, flushTimeout: 5000 })
    try {
      await sync.ready
      await db.put({ _id: 'x' })
      // Each poll lands while the previous pull is still loading: the loop never goes quiet.
      expect(await sync.flush()).toEqual(await db.clock())
    } finally {
      await sync.close()
      await db.close()
    }
  })
})
