import { describe, expect, it } from 'vitest'
import { database, type MapFn } from '../src/index.js'
import { dataFiles, tempDir } from './helpers.js'

const only =
  (color: string): MapFn =>
  (doc, emit) => {
    if (doc.color === color) emit(doc._id)
  }

const ids = (result: { rows: { id: string }[] }) => result.rows.map((row) => row.id)

async function paint(dir: string) {
  const db = database('paint', { dir })
  await db.bulk([
    { _id: 'r1', color: 'red', size: 3 },
    { _id: 'r2', color: 'red', size: 1 },
    { _id: 'b1', color: 'blue', size: 2 },
  ])
  return db
}

describe('index identity', () => {
  it('never answers an unnamed closure from another closure with the same source', async () => {
    const dir = tempDir()
    const db = await paint(dir)
    expect(ids(await db.query(only('red')))).toEqual(['r1', 'r2'])
    expect(ids(await db.query(only('blue')))).toEqual(['b1'])
    await db.put({ _id: 'b2', color: 'blue' })
    expect(ids(await db.query(only('red')))).toEqual(['r1', 'r2'])
    await db.close()
    const again = database('paint', { dir })
    expect(ids(await again.query(only('blue')))).toEqual(['b1', 'b2'])
    expect(ids(await again.query(only('red')))).toEqual(['r1', 'r2'])
    await again.close()
  })

  it('keeps unnamed map functions in memory, up to date across writes, deletes and compactions: querying writes no file', async () => {
    const dir = tempDir()
    const db = database('mem', { dir, compactEvery: 0 })
    const byN: MapFn = (doc, emit) => emit(doc.n, doc._id)
    await db.bulk(Array.from({ length: 50 }, (_, i) => ({ _id: `d${i}`, n: i % 7 })))
    const check = async () => {
      const scan = await db.at(await db.clock())
      const files = dataFiles(dir, 'mem').length
      for (const options of [{}, { key: 3 }, { range: [2, 4] as [unknown, unknown], descending: true, limit: 6 }, { keys: [6, 0] }]) {
        expect((await db.query(byN, options)).rows).toEqual((await scan.query(byN, options)).rows)
      }
      expect(dataFiles(dir, 'mem')).toHaveLength(files)
    }
    await check()
    for (let round = 0; round < 5; round++) {
      await db.put({ _id: `d${round}`, n: 100 + round })
      await db.del(`d${round + 20}`)
      await check()
      if (round % 2) await db.compact()
    }
    await db.put({ _id: 'late', n: 3 })
    await check()
    await db.close()
  })

  it('persists a named index under its name, and two names never share rows', async () => {
    const dir = tempDir()
    const db = await paint(dir)
    expect(ids(await db.query(only('red'), { index: 'reds' }))).toEqual(['r1', 'r2'])
    expect(ids(await db.query(only('blue'), { index: 'blues' }))).toEqual(['b1'])
    await db.close()
    const before = dataFiles(dir, 'paint').length
    const again = database('paint', { dir })
    // Answered from the stored index: nothing is rebuilt or written.
    expect(ids(await again.query(only('blue'), { index: 'blues' }))).toEqual(['b1'])
    expect(ids(await again.query(only('red'), { index: 'reds' }))).toEqual(['r1', 'r2'])
    expect(dataFiles(dir, 'paint')).toHaveLength(before)
    await again.close()
  })

  it('rebuilds a named index whose map function source changed, instead of answering from the old rows', async () => {
    const dir = tempDir()
    const db = await paint(dir)
    const byColor = db.index('shape', (doc) => doc.color)
    expect((await byColor.query()).rows.map((r) => [r.key, r.id])).toEqual([['blue', 'b1'], ['red', 'r1'], ['red', 'r2']])
    await db.close()
    const again = database('paint', { dir })
    const bySize = again.index('shape', (doc) => doc.size)
    expect((await bySize.query()).rows.map((r) => [r.key, r.id])).toEqual([[1, 'r2'], [2, 'b1'], [3, 'r1']])
    expect((await bySize.query({ key: 'red' })).rows).toEqual([])
    await again.put({ _id: 'g', size: 0 })
    expect(ids(await bySize.query({ limit: 1 }))).toEqual(['g'])
    await again.close()
  })

  it('index(name, fn) is query(fn, { index: name }), also on at() views', async () => {
    const db = await paint(tempDir())
    const byColor = db.index('byColor', (doc, emit) => emit(doc.color, doc.size))
    expect(byColor.name).toBe('byColor')
    const rows = (await byColor.query({ key: 'red', includeDocs: true })).rows
    expect(rows).toEqual([
      { id: 'r1', key: 'red', value: 3, doc: { _id: 'r1', color: 'red', size: 3 } },
      { id: 'r2', key: 'red', value: 1, doc: { _id: 'r2', color: 'red', size: 1 } },
    ])
    const past = await db.at(await db.clock())
    expect((await past.index('byColor', (doc, emit) => emit(doc.color, doc.size)).query({ key: 'red', includeDocs: true })).rows).toEqual(rows)
    expect(() => db.index('', (doc) => doc.color)).toThrow(TypeError)
    expect(() => db.index('x', 'color' as never)).toThrow('index(): expects a map function, got the string "color"')
    await expect(db.query('color', { index: 'x' })).rejects.toThrow(TypeError)
    await expect(db.query((doc) => doc.color, { index: 42 as never })).rejects.toThrow('an index name must be a non-empty string, got number 42')
    await db.close()
  })
})

describe('map functions that return their key', () => {
  it('index the returned value when emit is not called (Fireproof semantics)', async () => {
    const db = database('ret', { storage: 'memory' })
    await db.bulk([
      { _id: 'a', color: 'red', x: 1, y: 2 },
      { _id: 'b', color: 'blue', x: 1, y: 1 },
      { _id: 'c', x: 0, y: 5 },
    ])
    expect((await db.query((doc) => doc.color)).rows).toEqual([
      { id: 'b', key: 'blue', value: undefined },
      { id: 'a', key: 'red', value: undefined },
    ])
    expect((await db.query((doc) => [doc.x, doc.y], { prefix: [1] })).rows.map((r) => [r.key, r.id])).toEqual([
      [[1, 1], 'b'],
      [[1, 2], 'a'],
    ])
    // Persisted under a name, after a write, and in an at() view: the same rows.
    const named = await db.query((doc) => doc.color, { index: 'color' })
    expect(named.rows.map((r) => r.id)).toEqual(['b', 'a'])
    await db.put({ _id: 'c', color: 'green', x: 0, y: 5 })
    expect((await db.query((doc) => doc.color, { index: 'color' })).rows.map((r) => r.key)).toEqual(['blue', 'green', 'red'])
    const past = await db.at(await db.clock())
    expect((await past.query((doc) => doc.color)).rows.map((r) => r.key)).toEqual(['blue', 'green', 'red'])
    // emit wins over the return value; null is a key, undefined is no row.
    expect((await db.query((doc, emit) => (emit(doc.x), 'ignored'))).rows.map((r) => r.key)).toEqual([0, 1, 1])
    expect((await db.query((doc) => (doc._id === 'a' ? null : undefined))).rows).toEqual([{ id: 'a', key: null, value: undefined }])
    await expect(db.query(async (doc) => doc.color)).rejects.toThrow('the map function returned a Promise')
    await db.close()
  })
})
