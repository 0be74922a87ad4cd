import { describe, expect, it, vi } from 'vitest'
import type { Connector } from '../src/connector/api.js'
import { database, inspectBackend, KeyMismatchError, KeyRevokedError, type SyncWarning } from '../src/index.js'
import { runUntilKilled, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'


/** The cause a sync failure carries (sync wraps errors in ConnectorError). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  )
  expect(error, 'expected a rejection').toBeInstanceOf(Error)
  return ((error as { cause?: Error }).cause ?? error) as Error
}

describe('key rotation', () => {
  it('a device given the new key reads everything, old and new, and the history before the rotation', async () => {
    const backend = memoryBackend()
    const a = database('rot1', { storage: 'memory' })
    const sa = a.connect(backend(), { pollInterval: 0 })
    await sa.ready
    const { clock: before } = await a.put({ _id: 'old', v: 1 })
    await a.put({ _id: 'old', v: 2 })
    const oldKey = await a.exportKey()
    const newKey = await a.rotateKey()
    expect(newKey).not.toBe(oldKey)
    expect(await a.exportKey()).toBe(newKey)
    await a.put({ _id: 'new', v: 3 })
    await sa.flush()

    const b = database('rot1', { storage: 'memory', key: newKey })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sb.ready
    expect(await b.get('old')).toEqual({ _id: 'old', v: 2 })
    expect(await b.get('new')).toEqual({ _id: 'new', v: 3 })
    expect(await (await b.at(before)).get('old')).toEqual({ _id: 'old', v: 1 })
    expect(await (await a.at(before)).get('old')).toEqual({ _id: 'old', v: 1 })
    // B follows: its writes reach A, and A's later writes reach B.
    await b.put({ _id: 'from-b', v: 4 })
    await sb.flush()
    await sa.refresh()
    expect(await a.get('from-b')).toEqual({ _id: 'from-b', v: 4 })
    expect(await b.exportKey()).toBe(newKey)
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('a device with only the old key reads nothing new, gets KeyRevokedError, and its writes reach no one', async () => {
    const backend = memoryBackend()
    const a = database('rot2', { storage: 'memory' })
    const sa = a.connect(backend(), { pollInterval: 0 })
    await sa.ready
    await a.put({ _id: 'shared', v: 1 })
    await sa.flush()
    const oldKey = await a.exportKey()
    const c = database('rot2', { storage: 'memory', key: oldKey })
    const sc = c.connect(backend(), { pollInterval: 0 })
    await sc.flush()
    expect(await c.get('shared')).toEqual({ _id: 'shared', v: 1 })

    const newKey = await a.rotateKey()
    await a.put({ _id: 'secret', v: 2 })
    await sa.flush()

    const revoked = await failure(sc.refresh())
    expect(revoked).toBeInstanceOf(KeyRevokedError)
    expect(revoked.message).toContain('was revoked')
    expect(revoked.message).not.toContain(oldKey.slice(1, 12))
    expect(sc.status).toBe('error')
    await expect(c.get('secret')).rejects.toMatchObject({ name: 'NotFoundError' })
    await c.put({ _id: 'from-c', v: 3 })
    expect(await failure(sc.flush())).toBeInstanceOf(KeyRevokedError)

    // A fresh old-key device is refused at once, too.
    const late = database('rot2', { storage: 'memory', key: oldKey })
    const sl = late.connect(backend(), { pollInterval: 0 })
    expect(await failure(sl.ready)).toBeInstanceOf(KeyRevokedError)

    // An old-key writer that ignores the rotation (old code, or hostile) gets its files and entry onto the
    // backend: honest devices refuse the entry, with a warning, and sync on.
    const blind = memoryBackend()
    const real = backend()
    const own = blind()
    const ignoring: Connector = {
      name: 'memory',
      upload: async (db, cid, bytes) => {
        await own.upload(db, cid, bytes)
        await real.upload(db, cid, bytes)
      },
      download: (db, cid) => own.download(db, cid),
      save: async (db, branch, entry, replaces) => {
        await own.save(db, branch, entry, replaces)
        await real.save(db, branch, entry, [])
      },
      load: (db, branch) => own.load(db, branch),
    }
    const sci = c.connect(ignoring, { pollInterval: 0 })
    await sci.flush()
    const warnings: SyncWarning[] = []
    sa.on('warning', (warning) => warnings.push(warning))
    await sa.refresh()
    await expect(a.get('from-c')).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(warnings.map((w) => [w.kind, w.error.name])).toEqual([['foreign-entry', 'KeyMismatchError']])
    expect(warnings[0]!.error.message).toContain('revoked')
    expect(sa.status).not.toBe('error')
    const b = database('rot2', { storage: 'memory', key: newKey })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sb.ready
    expect(await b.get('secret')).toEqual({ _id: 'secret', v: 2 })
    await expect(b.get('from-c')).rejects.toMatchObject({ name: 'NotFoundError' })
    await a.put({ _id: 'after', v: 5 })
    await sa.flush()
    await sb.refresh()
    expect(await b.get('after')).toEqual({ _id: 'after', v: 5 })
    await Promise.all([sa.close(), sb.close(), sc.close(), sl.close(), sci.close()])
    await Promise.all([a.close(), b.close(), c.close(), late.close()])
  })

  it('reopens after a rotation (twice) with the new key, and refuses the old one by name', async () => {
    const dir = tempDir()
    const a = database('rot3', { dir })
    const { clock: first } = await a.put({ _id: 'k0', v: 0 })
    const key0 = await a.exportKey()
    const key1 = await a.rotateKey()
    await a.put({ _id: 'k1', v: 1 })
    const key2 = await a.rotateKey()
    await a.put({ _id: 'k2', v: 2 })
    await a.close()

    const reopened = database('rot3', { dir })
    expect(await (await reopened.at(first)).get('k0')).toEqual({ _id: 'k0', v: 0 })
    // Compaction rewrites the current state under the newest key (older files go, the history with them).
    await reopened.compact()
    await reopened.close()

    const again = database('rot3', { dir })
    expect(await again.exportKey()).toBe(key2)
    expect((await again.allDocs()).rows.map((row) => row.key)).toEqual(['k0', 'k1', 'k2'])
    await again.close()
    for (const old of [key0, key1]) {
      const withOld = database('rot3', { dir, key: old })
      await expect(withOld.allDocs()).rejects.toBeInstanceOf(KeyRevokedError)
      await withOld.close()
    }
    const withNew = database('rot3', { dir, key: key2 })
    expect(await withNew.get('k1')).toEqual({ _id: 'k1', v: 1 })
    await withNew.close()
  })

  it('a device given the new key can rotate again before it read any older file: the next key still reads all', async () => {
    const backend = memoryBackend()
    const a = database('rot7', { storage: 'memory' })
    const sa = a.connect(backend(), { pollInterval: 0 })
    await sa.ready
    await a.bulk([{ _id: 'e0', v: 0 }, { _id: 'f0', v: 0 }])
    const key1 = await a.rotateKey()
    await sa.flush()
    const b = database('rot7', { storage: 'memory', key: key1 })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sb.ready
    const key2 = await b.rotateKey()
    await sb.flush()
    const c = database('rot7', { storage: 'memory', key: key2 })
    const sc = c.connect(backend(), { pollInterval: 0 })
    await sc.ready
    expect((await c.allDocs()).rows.map((row) => row.value)).toEqual([{ _id: 'e0', v: 0 }, { _id: 'f0', v: 0 }])
    await Promise.all([sa.close(), sb.close(), sc.close()])
    await Promise.all([a.close(), b.close(), c.close()])
  })

  it('a rotation made offline is pushed by the next session (the old entry at the backend does not block it)', async () => {
    const dir = tempDir()
    const backend = memoryBackend()
    const a = database('rot6', { dir })
    const sa = a.connect(backend(), { pollInterval: 0 })
    await a.put({ _id: 'x', v: 1 })
    await sa.flush()
    await sa.close()
    const newKey = await a.rotateKey()
    await a.put({ _id: 'y', v: 2 })
    await a.close()

    const again = database('rot6', { dir })
    const sync = again.connect(backend(), { pollInterval: 0 })
    await sync.flush()
    const b = database('rot6', { storage: 'memory', key: newKey })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sb.ready
    expect((await b.allDocs()).rows.map((row) => row.value)).toEqual([{ _id: 'x', v: 1 }, { _id: 'y', v: 2 }])
    await Promise.all([sync.close(), sb.close()])
    await Promise.all([again.close(), b.close()])
  })

  it('another instance over the same storage follows the rotation: what it writes next is sealed with the new key', async () => {
    const dir = tempDir()
    const first = database('rot5', { dir })
    const second = database('rot5', { dir })
    await first.put({ _id: 'x', v: 1 })
    const oldKey = await second.exportKey()
    const newKey = await first.rotateKey()
    expect(newKey).not.toBe(oldKey)
    await vi.waitFor(async () => expect(await second.exportKey()).toBe(newKey), { timeout: 20_000 })
    const backend = memoryBackend()
    const sync = second.connect(backend(), { pollInterval: 0 })
    await second.put({ _id: 'y', v: 2 })
    await sync.flush()
    const reader = database('rot5', { storage: 'memory', key: newKey })
    const sr = reader.connect(backend(), { pollInterval: 0 })
    await sr.ready
    expect((await reader.allDocs()).rows.map((row) => row.value)).toEqual([{ _id: 'x', v: 1 }, { _id: 'y', v: 2 }])
    await Promise.all([sync.close(), sr.close()])
    await Promise.all([first.close(), second.close(), reader.close()])
  })

  it('a device that learned the new key from a device that rotated twice reads epoch 0 files', async () => {
    const backend = memoryBackend()
    const a = database('rot4', { storage: 'memory' })
    const sa = a.connect(backend(), { pollInterval: 0 })
    await sa.ready
    await a.put({ _id: 'e0', v: 0 })
    await sa.flush()
    await a.rotateKey()
    await a.put({ _id: 'e1', v: 1 })
    await sa.flush()
    const key2 = await a.rotateKey()
    await sa.flush()
    const b = database('rot4', { storage: 'memory', key: key2 })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sb.ready
    expect((await b.allDocs()).rows.map((row) => row.value)).toEqual([{ _id: 'e0', v: 0 }, { _id: 'e1', v: 1 }])
    // Inspecting the backend with the newest key checks the files of every epoch.
    const report = await inspectBackend(backend(), 'rot4', { key: key2 })
    expect(report.problems).toEqual([])
    expect(report.entries).toEqual({ count: 1, foreign: 0, unreadable: 0 })
    expect(report.files.count).toBeGreaterThanOrEqual(4)
    // A stranger's key is still a plain mismatch, not a revocation.
    const stranger = database('rot4', { storage: 'memory' })
    const ss = stranger.connect(backend(), { pollInterval: 0 })
    expect(await failure(ss.ready)).toBeInstanceOf(KeyMismatchError)
    await Promise.all([sa.close(), sb.close(), ss.close()])
    await Promise.all([a.close(), b.close(), stranger.close()])
  })
})

describe('key rotation and crashes', () => {
  const KILLS = 6
  it(`a kill -9 during rotations leaves the database openable with the last or the next key, nothing lost (${KILLS} kills)`, async () => {
    const dir = tempDir()
    const acknowledged: string[] = []
    for (let round = 0; round < KILLS; round++) {
      const lines = await runUntilKilled('rotate-writer.ts', [dir], { afterMs: 3 + (((round * 7919) % 997) % 60) })
      expect(lines.length, `round ${round}: the writer acknowledged nothing`).toBeGreaterThan(0)
      acknowledged.push(...lines.map((line) => line.split(' ')[0]!))
      const lastKey = lines.at(-1)!.split(' ')[1]!
      const db = database('rotating', { dir })
      const present = new Set((await db.allDocs()).rows.map((row) => row.key))
      expect(acknowledged.filter((id) => !present.has(id)), `round ${round}: lost writes`).toEqual([])
      const key = await db.exportKey()
      await db.close()
      // The key kept is the last acknowledged one, or the one a rotation cut short had already stored.
      if (key !== lastKey) {
        const withLast = database('rotating', { dir, key: lastKey })
        await expect(withLast.allDocs()).rejects.toBeInstanceOf(KeyRevokedError)
        await withLast.close()
      }
      const withKey = database('rotating', { dir, key })
      expect((await withKey.allDocs()).rows.length).toBe(present.size)
      await withKey.close()
    }
  }, 120_000)
})
