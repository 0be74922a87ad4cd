import { describe, expect, it } from 'vitest'
import { ClockChangedError, database, type Database } from '../src/index.js'
import { tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/**
 * `bulk(docs, { ifClock })`: a read-modify-write (mark every todo done) made against the clock it read must not
 * overwrite a change made or merged since: it commits only at that clock, else rejects with ClockChangedError
 * and writes nothing; the caller reads again and writes again.
 */
const ids = async (db: Database) => (await db.allDocs()).rows.map((row) => row.key)

describe('bulk(docs, { ifClock })', () => {
  it('commits at the clock it names; after another write, rejects with ClockChangedError naming both clocks and writes nothing', async () => {
    const db = database('conditional', { dir: tempDir() })
    await db.bulk([{ _id: 'a', done: false }, { _id: 'b', done: false }])
    const read = await db.clock()
    const { clock } = await db.bulk([{ _id: 'a', done: true }], { ifClock: read })
    expect(clock).not.toEqual(read)
    // `read` is stale now: the write made against it is refused whole.
    const error = await db.bulk([{ _id: 'b', done: true }, { _id: 'c' }], { ifClock: read }).catch((e) => e)
    expect(error).toBeInstanceOf(ClockChangedError)
    expect(error.name).toBe('ClockChangedError')
    expect([...error.expected]).toEqual([...read].sort())
    expect([...error.current]).toEqual([...clock].sort())
    expect(await db.clock()).toEqual(clock)
    expect(await ids(db)).toEqual(['a', 'b'])
    expect((await db.get('b')).done).toBe(false)
    // An empty bulk checks the clock too.
    await expect(db.bulk([], { ifClock: read })).rejects.toBeInstanceOf(ClockChangedError)
    expect((await db.bulk([], { ifClock: clock })).clock).toEqual(clock)
    await db.close()
  })

  it('of writes issued together against one clock, only the first commits (the others are made against a state it changed)', async () => {
    const db = database('together', { dir: tempDir() })
    await db.put({ _id: 'n', value: 0 })
    const read = await db.clock()
    const results = await Promise.allSettled(
      [1, 2, 3].map((value) => db.bulk([{ _id: 'n', value }], { ifClock: read })),
    )
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected'])
    for (const r of results.slice(1)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ClockChangedError)
    expect((await db.get('n')).value).toBe(1)
    // A plain write in the same run does not wait for, or take part in, the condition.
    const [conditional, plain] = await Promise.allSettled([
      db.bulk([{ _id: 'n', value: 10 }], { ifClock: await db.clock() }),
      db.put({ _id: 'other' }),
    ])
    expect([conditional.status, plain.status]).toEqual(['fulfilled', 'fulfilled'])
    expect((await db.get('n')).value).toBe(10)
    await db.close()
  })

  it('a change merged from another device between the read and the write makes the write reject; read again, it commits and keeps that change', async () => {
    const backend = memoryBackend()
    const a = database('merged', { dir: tempDir() })
    const b = database('merged', { dir: tempDir(), key: await a.exportKey() })
    const options = { pollInterval: 0, maxBackoff: 50, flushTimeout: 5_000 }
    const syncA = a.connect(backend(), options)
    const syncB = b.connect(backend(), options)
    await a.put({ _id: 'todo', title: 'milk', done: false })
    await syncA.flush()
    await syncB.refresh()
    // A reads, to mark the todo done...
    const read = await a.clock()
    const stale = await a.get('todo')
    // ...meanwhile B renames it, and A merges that before writing.
    await b.put({ ...(await b.get('todo')), title: 'oat milk' })
    await syncB.flush()
    await syncA.refresh()
    await expect(a.bulk([{ ...stale, done: true }], { ifClock: read })).rejects.toBeInstanceOf(ClockChangedError)
    expect(await a.get('todo')).toMatchObject({ title: 'oat milk', done: false })
    // Read again and write again: the rename is kept.
    const again = await a.clock()
    await a.bulk([{ ...(await a.get('todo')), done: true }], { ifClock: again })
    expect(await a.get('todo')).toMatchObject({ title: 'oat milk', done: true })
    await syncA.close()
    await syncB.close()
    await a.close()
    await b.close()
  })

  it('a bad ifClock is a TypeError naming it, before anything is queued', async () => {
    const db = database('bad', { dir: tempDir() })
    await expect(db.bulk([{ _id: 'x' }], { ifClock: 'bafy' as unknown as string[] })).rejects.toThrow(/ifClock must be a clock/)
    await expect(db.bulk([{ _id: 'x' }], { ifClock: [''] })).rejects.toThrow(/ifClock must be a clock/)
    await expect(db.bulk([{ _id: 'x' }], { when: 1 } as never)).rejects.toThrow(/unknown option "when"/)
    await expect(db.bulk([{ _id: 'x' }], null as never)).rejects.toThrow(/options must be an object/)
    expect(await ids(db)).toEqual([])
    await db.close()
  })
})
