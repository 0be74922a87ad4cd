import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

async function pair(name: string) {
  const backend = memoryBackend()
  const a = database(name, { storage: 'memory', dir: tempDir() })
  const key = await a.exportKey()
  const b = database(name, { storage: 'memory', dir: tempDir(), key })
  const sa = a.connect(backend(), { pollInterval: 0 })
  const sb = b.connect(backend(), { pollInterval: 0 })
  await Promise.all([sa.ready, sb.ready])
  const sync = async () => {
    await sa.flush()
    await sb.flush()
    await sa.refresh()
    await sb.refresh()
  }
  const close = async () => {
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  }
  return { a, b, sync, close }
}

describe('conflicts', () => {
  it('keeps the losing concurrent version in _conflicts on both replicas until a write resolves it', async () => {
    const { a, b, sync, close } = await pair('c1')
    await a.put({ _id: 'x', v: 0 })
    await sync()
    await a.put({ _id: 'x', v: 'from a' })
    await b.put({ _id: 'x', v: 'from b' })
    await b.put({ _id: 'x', v: 'from b, again' }) // a second local write is not a conflict with the first
    await sync()
    const onA = await a.get('x', { conflicts: true })
    const onB = await b.get('x', { conflicts: true })
    expect(onA).toEqual(onB)
    expect(await a.clock()).toEqual(await b.clock())
    expect(onA._conflicts).toHaveLength(1)
    const versions = [onA.v, (onA._conflicts as { v: unknown }[])[0]!.v].sort()
    expect(versions).toEqual(['from a', 'from b, again'])
    expect(await a.get('x')).not.toHaveProperty('_conflicts')
    await b.put({ _id: 'x', v: 'resolved' })
    await sync()
    expect(await a.get('x', { conflicts: true })).toEqual({ _id: 'x', v: 'resolved' })
    expect(await b.get('x', { conflicts: true })).toEqual({ _id: 'x', v: 'resolved' })
    await close()
  })

  it('reports no conflict for sequential writes across replicas', async () => {
    const { a, b, sync, close } = await pair('c2')
    await a.put({ _id: 'x', v: 1 })
    await sync()
    await b.put({ _id: 'x', v: 2 })
    await b.put({ _id: 'x', v: 3 })
    await sync()
    await a.put({ _id: 'x', v: 4 })
    await sync()
    expect(await b.get('x', { conflicts: true })).toEqual({ _id: 'x', v: 4 })
    await close()
  })

  it('fires subscribe once per merged transaction with the changed docs', async () => {
    const { a, b, sync, close } = await pair('c3')
    const seen: unknown[] = []
    a.subscribe((rows) => seen.push(rows.map((r) => r.key)))
    await b.bulk([{ _id: 'p' }, { _id: 'q' }])
    await sync()
    expect(seen).toEqual([['p', 'q']])
    await close()
  })
  it('resolving by writing back the document read with its conflicts stores no _conflicts field', async () => {
    // The read-modify-write pattern: get with conflicts, pick a winner, put the same object back. The
    // losers it carried in `_conflicts` are what the put resolves; stored as a field, every later read (with
    // or without `conflicts`, on any replica) would show them as conflicts that never go away.
    const { a, b, sync, close } = await pair('c-writeback')
    await a.put({ _id: 'x', v: 0 })
    await sync()
    await a.put({ _id: 'x', v: 'from a' })
    await b.put({ _id: 'x', v: 'from b' })
    await sync()
    const read = await a.get('x', { conflicts: true })
    expect(read._conflicts).toHaveLength(1)
    await a.put({ ...read, v: 'merged' })
    await sync()
    for (const db of [a, b]) {
      expect(await db.get('x')).toEqual({ _id: 'x', v: 'merged' })
      expect(await db.get('x', { conflicts: true })).toEqual({ _id: 'x', v: 'merged' })
      expect((await db.allDocs()).rows.map((row) => row.value)).toEqual([{ _id: 'x', v: 'merged' }])
    }
    // bulk takes the same documents.
    await b.bulk([{ _id: 'y', v: 1, _conflicts: [{ _id: 'y', v: 0 }] }])
    expect(await b.get('y')).toEqual({ _id: 'y', v: 1 })
    await close()
  })
})
