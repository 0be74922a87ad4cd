import { describe, expect, it } from 'vitest'
import { database, NotFoundError } from '../src/index.js'
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

describe('deletes are visible conflicts', () => {
  it('a delete of an id this replica never saw is a NotFoundError and writes nothing', async () => {
    const { a, b, sync, close } = await pair('d1')
    await b.put({ _id: 'x', by: 'b' })
    // a is ahead in the clock: before the rule its blind delete won the merge.
    for (let i = 0; i < 5; i++) await a.put({ _id: `filler${i}` })
    const before = await a.clock()
    const error = await a.del('x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotFoundError)
    expect((error as NotFoundError).id).toBe('x')
    expect(await a.clock()).toEqual(before)
    await sync()
    expect(await a.get('x')).toEqual({ _id: 'x', by: 'b' })
    expect(await b.get('x')).toEqual({ _id: 'x', by: 'b' })
    await close()
  })

  it('a delete of an id already deleted here is a NotFoundError; other writes of the batch go through', async () => {
    const db = database('d2', { storage: 'memory', dir: tempDir() })
    await db.put({ _id: 'x' })
    await db.del('x')
    const [again, put] = await Promise.allSettled([db.del('x'), db.put({ _id: 'y' })])
    expect(again.status).toBe('rejected')
    expect((again as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError)
    expect(put.status).toBe('fulfilled')
    expect(await db.get('y')).toEqual({ _id: 'y' })
    // put then del of the same id issued together: the delete sees the put (in its transaction or after it).
    const [p, d] = await Promise.all([db.put({ _id: 'z' }), db.del('z')])
    if (p.clock.join() !== d.clock.join()) expect(await (await db.at(p.clock)).get('z')).toEqual({ _id: 'z' })
    await expect(db.get('z')).rejects.toThrow(NotFoundError)
    await db.close()
  })

  it('concurrent put and delete: the document survives on both replicas and carries the delete in _conflicts', async () => {
    const { a, b, sync, close } = await pair('d3')
    await a.put({ _id: 'x', v: 0 })
    await sync()
    // The deleter has the higher clock height, so height alone would let the delete win.
    for (let i = 0; i < 5; i++) await a.put({ _id: `filler${i}` })
    await a.del('x')
    await b.put({ _id: 'x', v: 'edited on b' })
    await sync()
    for (const db of [a, b]) {
      expect(await db.get('x')).toEqual({ _id: 'x', v: 'edited on b' })
      expect(await db.get('x', { conflicts: true })).toEqual({
        _id: 'x',
        v: 'edited on b',
        _conflicts: [{ _id: 'x', _deleted: true }],
      })
    }
    expect(await a.clock()).toEqual(await b.clock())
    // Deleting the survivor resolves the conflict: it saw both versions.
    await a.del('x')
    await sync()
    await expect(a.get('x')).rejects.toThrow(NotFoundError)
    await expect(b.get('x')).rejects.toThrow(NotFoundError)
    await expect(b.get('x', { conflicts: true })).rejects.toThrow(NotFoundError)
    await close()
  })

  it('a delete that saw the write is not a conflict', async () => {
    const { a, b, sync, close } = await pair('d4')
    await a.put({ _id: 'x', v: 1 })
    await sync()
    await b.del('x')
    await sync()
    await expect(a.get('x')).rejects.toThrow(NotFoundError)
    await a.put({ _id: 'x', v: 2 }) // a re-create after the delete it saw
    await sync()
    expect(await b.get('x', { conflicts: true })).toEqual({ _id: 'x', v: 2 })
    await close()
  })
})
