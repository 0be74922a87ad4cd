import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { collate } from '../src/index/collate.js'
import { decodeKey, encodeKey } from '../src/index/encode.js'
import { dataFiles, tempDir } from './helpers.js'

const samples: unknown[] = [
  null, false, true, -Infinity, -1e300, -2.5, -1, -0.001, 0, 1e-300, 0.5, 1, 2, 10, 1e300, Infinity,
  '', '\u0000', '\u0001', '\u0001a', 'a', 'a\u0000', 'a\u0001', 'ab', 'b', 'é', '\uffff',
  [], [null], [1], [1, 2], [1, 'a'], ['a'], [[]], [[1], 2],
  {}, { a: 1 }, { a: 2 }, { b: 1 }, { a: 1, b: 1 },
]

describe('collation encoding', () => {
  it('sorts like collate and decodes back', () => {
    for (const a of samples) {
      expect(decodeKey(encodeKey(a))[0]).toEqual(a)
      for (const b of samples) {
        const expected = Math.sign(collate(a, b))
        const x = encodeKey(a)
        const y = encodeKey(b)
        expect(Math.sign(x < y ? -1 : x > y ? 1 : 0), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(expected)
      }
    }
  })
})

async function seeded(dir: string) {
  const db = database('q', { dir })
  const docs = Array.from({ length: 300 }, (_, i) => ({
    _id: `d${String(i).padStart(3, '0')}`,
    n: i % 17,
    name: `name-${i % 23}`,
    tags: [i % 3, `t${i % 5}`],
    done: i % 2 === 0,
  }))
  await db.bulk(docs)
  return db
}

const cases: [string, Parameters<Awaited<ReturnType<typeof seeded>>['query']>[1]][] = [
  ['all', {}],
  ['key', { key: 5 }],
  ['keys', { keys: [3, 1, 3, 99] }],
  ['range', { range: [2, 6] }],
  ['range desc limit', { range: [2, 6], descending: true, limit: 7 }],
  ['limit', { limit: 10 }],
  ['limit 0', { limit: 0 }],
  ['desc', { descending: true }],
]

describe('query', () => {
  it('answers from the index exactly as a full scan does', async () => {
    const db = await seeded(tempDir())
    const past = await db.at(await db.clock()) // at() views scan
    for (const [label, options] of cases) {
      expect((await db.query('n', options)).rows, label).toEqual((await past.query('n', options)).rows)
    }
    expect((await db.query('name', { prefix: 'name-1' })).rows).toEqual((await past.query('name', { prefix: 'name-1' })).rows)
    expect((await db.query('done', { key: false, includeDocs: true, limit: 3 })).rows).toEqual(
      (await past.query('done', { key: false, includeDocs: true, limit: 3 })).rows,
    )
    const byTags = (doc: Record<string, unknown>, emit: (k: unknown, v?: unknown) => void) => emit(doc.tags, doc.n)
    for (const options of [{ prefix: [1] }, { prefix: [2, 't3'] }, { range: [[0, 't1'], [1, 't4']] as [unknown, unknown] }, { descending: true, limit: 5 }]) {
      expect((await db.query(byTags, options)).rows).toEqual((await past.query(byTags, options)).rows)
    }
    const multi = (doc: Record<string, unknown>, emit: (k: unknown, v?: unknown) => void) => {
      emit(doc.n, 1)
      emit(doc.n, 2)
    }
    expect((await db.query(multi, { key: 4 })).rows).toEqual((await past.query(multi, { key: 4 })).rows)
    await db.close()
  })

  it('updates incrementally on puts and deletes', async () => {
    const db = await seeded(tempDir())
    expect((await db.query('n', { key: 5 })).rows.map((r) => r.id)).toContain('d005')
    await db.put({ _id: 'd005', n: 100 })
    await db.del('d022')
    await db.put({ _id: 'new', n: 5 })
    const rows = (await db.query('n', { key: 5 })).rows.map((r) => r.id)
    expect(rows).not.toContain('d005')
    expect(rows).not.toContain('d022')
    expect(rows).toContain('new')
    expect((await db.query('n', { key: 100, includeDocs: true })).rows).toEqual([
      { id: 'd005', key: 100, value: undefined, doc: { _id: 'd005', n: 100 } },
    ])
    await db.close()
  })

  it('indexes a field by the documents that hold it, never by what every object inherits', async () => {
    // Field names a document may hold that every object also inherits: a document without one is not in its
    // index (before, `constructor` and `toString` failed every query, `__proto__` listed every document).
    const db = database('inherited', { storage: 'memory' })
    await db.bulk<Record<string, unknown> & { _id: string }>([
      { _id: 'a', constructor: 'mine', toString: 3, nested: { valueOf: 'v' } },
      { _id: 'b', x: 1, nested: {} },
      JSON.parse('{"_id":"c","__proto__":5}') as { _id: string },
    ])
    const rows = async (field: string) => (await db.query(field)).rows.map((row) => [row.id, row.key])
    expect(await rows('constructor')).toEqual([['a', 'mine']])
    expect(await rows('toString')).toEqual([['a', 3]])
    expect(await rows('__proto__')).toEqual([['c', 5]])
    expect(await rows('hasOwnProperty')).toEqual([])
    expect(await rows('nested.valueOf')).toEqual([['a', 'v']])
    expect(await rows('x.constructor')).toEqual([])
    await db.put({ _id: 'b', x: 1, constructor: 'now b' })
    expect(await rows('constructor')).toEqual([['a', 'mine'], ['b', 'now b']])
    await db.close()
  })

  it('answers the same whether its index was built before or after a reopen: object keys in stored order', async () => {
    // A file stores an object's keys in dag-cbor's order; a document written and read (or indexed) before a
    // reopen had them in the order it was written in: { bb, a } live, { a, bb } after a reopen. An index of
    // object keys then depended on when it was built, and a query by an object key on the order it was given.
    const dir = tempDir()
    const docs = [
      { _id: 'a', o: { bb: 1, a: 2 } },
      { _id: 'b', o: { a: 2, bb: 1 } },
    ]
    const live = database('order', { dir })
    await live.bulk(docs)
    expect(Object.keys((await live.get('a')).o as object)).toEqual(['a', 'bb'])
    const answers = async (db: typeof live) => [
      (await db.query('o', { key: { a: 2, bb: 1 } })).rows.map((row) => row.id),
      (await db.query('o', { key: { bb: 1, a: 2 } })).rows.map((row) => row.id),
      (await db.query((doc) => doc.o, { key: { bb: 1, a: 2 } })).rows.map((row) => row.id),
    ]
    const builtLive = await answers(live)
    expect(builtLive).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b']])
    await live.close()
    const fresh = tempDir()
    const writer = database('order', { dir: fresh })
    await writer.bulk(docs)
    await writer.close()
    const reopened = database('order', { dir: fresh })
    expect(Object.keys((await reopened.get('a')).o as object)).toEqual(['a', 'bb'])
    expect(await answers(reopened)).toEqual(builtLive)
    await reopened.close()
  })

  it('takes key, keys, range and prefix as stored keys are: a Date finds its rows, what no key can be is a TypeError', async () => {
    const db = database('key-options', { storage: 'memory' })
    await db.bulk([
      { _id: 'a', when: new Date(0), n: 1 },
      { _id: 'b', when: new Date(1000), n: 2 },
    ])
    const ids = async (field: string, options: Record<string, unknown>) => (await db.query(field, options)).rows.map((row) => row.id)
    expect(await ids('when', { key: new Date(0) })).toEqual(['a'])
    expect(await ids('when', { keys: [new Date(1000)] })).toEqual(['b'])
    expect(await ids('when', { range: [new Date(0), new Date(5000)] })).toEqual(['a', 'b'])
    expect(await ids('when', { prefix: new Date(0) })).toEqual(['a'])
    const refused = async (options: Record<string, unknown>, message: RegExp) => {
      const error = await db.query('n', options).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      expect((error as Error).message).toMatch(message)
    }
    await refused({ key: NaN }, /query\(\): the key option is NaN/)
    await refused({ key: 1n }, /query\(\): the key option is bigint 1/)
    await refused({ keys: [1, Infinity] }, /query\(\): keys\[1\] is Infinity/)
    await refused({ range: [1, new Map()] }, /query\(\): range\[1\] is an object \(Map\)/)
    await refused({ range: [2, 1] }, /query\(\): range \[2, 1\] matches nothing: its low end sorts after its high end/)
    expect(await ids('n', { range: [1, 1] })).toEqual(['a'])
    await db.close()
  })

  it('persists indexes: the first query after reopen writes nothing and reads the stored index', async () => {
    const dir = tempDir()
    const db = await seeded(dir)
    const first = (await db.query('name', { range: ['name-10', 'name-12'] })).rows
    await db.close()
    const before = dataFiles(dir, 'q').length
    const again = database('q', { dir })
    expect((await again.query('name', { range: ['name-10', 'name-12'] })).rows).toEqual(first)
    expect(dataFiles(dir, 'q')).toHaveLength(before)
    await again.put({ _id: 'x', name: 'name-11' })
    expect((await again.query('name', { key: 'name-11' })).rows.map((r) => r.id)).toContain('x')
    // one file for the put, one for the index update
    expect(dataFiles(dir, 'q')).toHaveLength(before + 2)
    await again.close()
  })

  it('queries at(clock) views, and rejects bad options with a TypeError', async () => {
    const db = database('q2', { storage: 'memory', dir: tempDir() })
    const { clock } = await db.put({ _id: 'a', n: 1 })
    await db.put({ _id: 'a', n: 2 })
    expect((await (await db.at(clock)).query('n')).rows).toEqual([{ id: 'a', key: 1, value: undefined }])
    expect((await db.query('n')).rows).toEqual([{ id: 'a', key: 2, value: undefined }])
    await expect(db.query('n', { limit: -1 })).rejects.toThrow(TypeError)
    await expect(db.query(42 as never)).rejects.toThrow(TypeError)
    await expect(db.query('n', { descending: 'yes' as never })).rejects.toThrow('query(): descending must be true or false, got the string "yes"')
    await expect(db.query('n', { includeDocs: 1 as never })).rejects.toThrow('query(): includeDocs must be true or false, got number 1')
    await expect(db.query('n', { limit: 2.5 })).rejects.toThrow('query(): limit must be a non-negative integer, got number 2.5')
    await expect(db.query('n', { startkey: 1 } as never)).rejects.toThrow('query(): unknown option "startkey"')
    const past = await db.at(clock)
    await expect(past.query('n', { descending: 'yes' as never })).rejects.toThrow('descending must be true or false')
    await db.close()
  })
})
