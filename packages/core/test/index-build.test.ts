// The first build of a persisted index (index/build.ts) streams the document tree, sorts its rows in bounded runs
// and builds the index bottom-up: it must answer every query as before and make the very index tree (root CID)
// the in-memory build made, then persist, reopen and update like any index.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import type { BlockFetcher, CID } from '../src/blockstore/block.js'
import type { BlockStore } from '../src/blockstore/store.js'
import type { Body, Entry } from '../src/crdt/entry.js'
import { applyEntries, emptyTree, type NewBlock } from '../src/crdt/tree.js'
import { database, type Doc, type MapFn, type QueryOptions, type QueryRow } from '../src/index.js'
import { buildIndex } from '../src/index/build.js'
import { collate } from '../src/index/collate.js'
import { updateIndex } from '../src/index/indexer.js'
import { mapper, type Mapper } from '../src/index/query.js'
import { readIndexes } from '../src/index/record.js'
import { nodeFileStorage } from '../src/storage/node-files.js'
import { BlockMap } from './block-map.js'
import { dataFiles, seededRandom, tempDir } from './helpers.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

type Bodies = Map<string, Exclude<Body, null> | null>

/** A document tree of `bodies` (null: deleted) in a plain block map, and its empty tree. */
async function docTree(bodies: Bodies): Promise<{ store: BlockMap; empty: CID; root: CID }> {
  const store = new BlockMap()
  const made: NewBlock[] = []
  const empty = await emptyTree(made)
  store.keep(made)
  const entries: Entry[] = [...bodies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, body]) => [id, 1, body])
  const { root, blocks } = await applyEntries(store, empty, entries, () => true)
  store.keep(blocks)
  return { store, empty, root }
}

/** The index root the build before streaming made (updateIndex from the empty tree, all rows in memory). */
async function inMemoryIndexRoot(bodies: Bodies, map: Mapper): Promise<string> {
  const { store, empty, root } = await docTree(bodies)
  // updateIndex reads blocks only through the BlockFetcher part of a BlockStore.
  const { root: index, blocks } = await updateIndex(store as unknown as BlockStore, map, empty, empty, root)
  store.keep(blocks)
  return index.toString()
}

const ALPHABET = ['a', 'B', 'z', '0', 'é', 'ß', '中', '😀', '-', ' ', 'Ω']
function randomId(random: () => number): string {
  let id = ''
  const length = 1 + Math.floor(random() * 8)
  for (let i = 0; i < length; i++) id += ALPHABET[Math.floor(random() * ALPHABET.length)]
  return id
}

function randomValue(random: () => number): unknown {
  const pick = random()
  if (pick < 0.35) return Math.floor(random() * 50) - 10
  if (pick < 0.6) return randomId(random)
  if (pick < 0.7) return random() < 0.5
  if (pick < 0.75) return null
  if (pick < 0.9) return [Math.floor(random() * 5), randomId(random)]
  return { k: Math.floor(random() * 3) }
}

/** Emits several keys per document, the same key more than once, values or none, and nothing for some. */
const tags: MapFn = (doc, emit) => {
  for (const tag of (doc.tags as unknown[] | undefined) ?? []) emit(tag, doc.n)
  if (typeof doc.n === 'number' && doc.n % 4 === 0) emit(doc.n)
}

/** What a query must answer, computed from the documents themselves. */
function expectedRows(bodies: Bodies, map: Mapper, options: QueryOptions = {}): QueryRow[] {
  const rows: QueryRow[] = []
  for (const [id, body] of bodies) {
    if (!body) continue
    const emitted = map({ _id: id, ...body } as never)
    for (const [key, value] of emitted) {
      // A key a document emits more than once keeps all its values, an absent one as null.
      const repeated = emitted.filter(([other]) => collate(other, key) === 0).length > 1
      if (options.key !== undefined && collate(key, options.key) !== 0) continue
      if (options.range && (collate(key, options.range[0]) < 0 || collate(key, options.range[1]) > 0)) continue
      rows.push({ id, key, value: repeated && value === undefined ? null : value })
    }
  }
  // Stable: a document's rows with one key keep their emit order.
  rows.sort((a, b) => collate(a.key, b.key) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return options.descending ? rows.reverse() : rows
}

async function persistedRoots(dir: string, name: string): Promise<Map<string, string>> {
  const storage = nodeFileStorage(name, { dir })
  try {
    const indexes = await readIndexes(storage, 'main')
    return new Map([...indexes].map(([index, state]) => [index, state.root.toString()]))
  } finally {
    await storage.close()
  }
}

/** A random document set written in several transactions, with updates and deletes among them. */
async function randomDatabase(seed: number, dir: string, name: string, count: number): Promise<Bodies> {
  const random = seededRandom(seed)
  const bodies: Bodies = new Map()
  const db = database(name, { dir })
  const ids: string[] = []
  while (ids.length < count) {
    const id = `${randomId(random)}${ids.length}`
    ids.push(id)
  }
  for (let start = 0; start < ids.length; start += 97) {
    const batch: Doc[] = []
    for (const id of ids.slice(start, start + 97)) {
      const body: Record<string, unknown> = { n: Math.floor(random() * 1000) }
      if (random() < 0.8) body.v = randomValue(random)
      const tagCount = Math.floor(random() * 4)
      if (tagCount) body.tags = Array.from({ length: tagCount }, () => randomValue(random))
      bodies.set(id, body)
      batch.push({ _id: id, ...body })
    }
    await db.bulk(batch)
  }
  // Deletes and rewrites of documents written before, each id at most once a round.
  for (let round = 0; round < 3; round++) {
    const batch = new Map<string, Doc>()
    for (let k = 0; k < count / 10; k++) {
      const id = ids[Math.floor(random() * ids.length)]!
      if (batch.has(id)) continue
      // Only a live document can be deleted.
      const body = bodies.get(id) && random() < 0.5 ? null : { n: Math.floor(random() * 1000), v: randomValue(random) }
      bodies.set(id, body)
      batch.set(id, body ? { _id: id, ...body } : { _id: id, _deleted: true })
    }
    await db.bulk([...batch.values()])
  }
  await db.close()
  return bodies
}

describe('first index build (streamed, sorted runs, bottom-up)', () => {
  it('gives the same index tree as the in-memory build, for random trees and every run size (buildIndex)', async () => {
    const random = seededRandom(7)
    for (const count of [0, 1, 5, 300, 2500]) {
      const bodies: Bodies = new Map()
      for (let i = 0; i < count; i++) {
        const id = `${randomId(random)}${i}`
        const tagCount = Math.floor(random() * 4)
        bodies.set(id, random() < 0.1 ? null : { n: Math.floor(random() * 100), tags: Array.from({ length: tagCount }, () => randomValue(random)) })
      }
      const { store, root } = await docTree(bodies)
      for (const map of [mapper('n'), mapper('tags.0'), mapper(tags)]) {
        const expected = await inMemoryIndexRoot(bodies, map)
        // 7 rows a run: hundreds of runs, merged in more than one pass of 16.
        for (const runRows of [7, 100, 1000, Infinity]) {
          const built = new BlockMap()
          const reader: BlockFetcher = { get: (cid) => (built.has(cid) ? built.get(cid) : store.get(cid)), has: (cid) => built.has(cid) || store.has(cid) }
          const index = await buildIndex(reader, map, root, { sink: (block) => built.keep([block]), flush: async () => {}, runRows })
          const emptyRoot = (await docTree(new Map())).empty
          expect((index ?? emptyRoot).toString(), `${count} docs, ${runRows} rows a run`).toBe(expected)
        }
      }
    }
  })

  it('answers queries as the documents say and persists the in-memory build’s index root, for random databases', async () => {
    for (const seed of [1, 2, 3]) {
      const dir = tempDir()
      const bodies = await randomDatabase(seed, dir, 'random', 600)
      const db = database('random', { dir })
      const queries: QueryOptions[] = [{}, { key: 3 }, { range: [0, 20] }, { descending: true, limit: 50 }]
      for (const options of queries) {
        const { rows } = await db.query('v', options)
        const expected = expectedRows(bodies, mapper('v'), options)
        expect(rows, `seed ${seed} field v ${JSON.stringify(options)}`).toEqual(options.limit ? expected.slice(0, options.limit) : expected)
      }
      const { rows } = await db.query(tags, { index: 'tags' })
      expect(rows, `seed ${seed} tags`).toEqual(expectedRows(bodies, mapper(tags)))
      await db.close()
      const roots = await persistedRoots(dir, 'random')
      expect(roots.get('field:v')).toBe(await inMemoryIndexRoot(bodies, mapper('v')))
      expect(roots.get('named:tags')).toBe(await inMemoryIndexRoot(bodies, mapper(tags)))
    }
  })

  it('merges sorted runs when the rows exceed one run, with the same results and root', async () => {
    // 300 documents emitting 250 keys each in no particular order: 75 000 rows, more than one run.
    const dir = tempDir()
    const random = seededRandom(99)
    const bodies: Bodies = new Map()
    for (let i = 0; i < 300; i++) bodies.set(`d${i}`, { keys: Array.from({ length: 250 }, () => Math.floor(random() * 1e6)) })
    const many: MapFn = (doc, emit) => {
      for (const key of doc.keys as number[]) emit(key)
    }
    const db = database('runs', { dir, compactEvery: 0 })
    await db.bulk([...bodies].map(([id, body]) => ({ _id: id, ...body })))
    const { rows } = await db.query(many, { index: 'many' })
    expect(rows).toEqual(expectedRows(bodies, mapper(many)))
    await db.close()
    expect((await persistedRoots(dir, 'runs')).get('named:many')).toBe(await inMemoryIndexRoot(bodies, mapper(many)))
    // Committed in several batches: a reopened database with a tiny cache reads it across their files, builds
    // nothing again, and a compaction (which deletes the run trees' files) keeps it answering.
    const files = dataFiles(dir, 'runs').length
    const again = database('runs', { dir, compactEvery: 0, cacheBytes: 64 * 1024 })
    const range: QueryOptions = { range: [250_000, 260_000] }
    expect((await again.query(many, { index: 'many', ...range })).rows).toEqual(expectedRows(bodies, mapper(many), range))
    expect(dataFiles(dir, 'runs')).toHaveLength(files)
    await again.compact()
    expect(dataFiles(dir, 'runs').length).toBeLessThan(files)
    expect((await again.query(many, { index: 'many', descending: true })).rows).toEqual(expectedRows(bodies, mapper(many), { descending: true }))
    await again.close()
  })

  it('reopens the built index without rebuilding it, and updates it after writes and deletes', async () => {
    const dir = tempDir()
    const bodies = await randomDatabase(11, dir, 'again', 500)
    let db = database('again', { dir })
    expect((await db.query('n')).rows).toEqual(expectedRows(bodies, mapper('n')))
    await db.close()
    const files = dataFiles(dir, 'again').length
    db = database('again', { dir })
    expect((await db.query('n', { range: [100, 400] })).rows).toEqual(expectedRows(bodies, mapper('n'), { range: [100, 400] }))
    expect(dataFiles(dir, 'again')).toHaveLength(files)
    const random = seededRandom(12)
    for (let round = 0; round < 4; round++) {
      const ids = [...bodies].filter(([, body]) => body).map(([id]) => id)
      const id = ids[Math.floor(random() * ids.length)]!
      if (round % 2) {
        await db.del(id)
        bodies.set(id, null)
      } else {
        const body = { n: 2000 + round }
        await db.put({ _id: id, ...body })
        bodies.set(id, body)
      }
      await db.put({ _id: `new ✓ ${round}`, n: round })
      bodies.set(`new ✓ ${round}`, { n: round })
      expect((await db.query('n')).rows).toEqual(expectedRows(bodies, mapper('n')))
    }
    await db.close()
    db = database('again', { dir })
    expect((await db.query('n', { descending: true })).rows).toEqual(expectedRows(bodies, mapper('n'), { descending: true }))
    await db.close()
  })

  it('builds an index over a database many times its cache while holding little of it at once (persisted or in memory)', async () => {
    const dir = tempDir()
    const writer = database('large', { dir })
    const body = 'x'.repeat(1000)
    for (let i = 0; i < 20_000; i += 2000) {
      await writer.bulk(Array.from({ length: 2000 }, (_, k) => ({ _id: `d${String(i + k).padStart(6, '0')}`, n: (i + k) % 97, body })))
    }
    await writer.close()
    // ~20 MB of documents, a 1 MiB cache. The map function sees the heap while the build runs.
    const db = database('large', { dir, cacheBytes: 1024 * 1024 })
    await db.get('d000000')
    for (const options of [{ index: 'sampled' }, {}]) {
      gc()
      const before = process.memoryUsage().heapUsed
      let peak = 0
      let mapped = 0
      const sampling: MapFn = (doc, emit) => {
        if (++mapped % 1000 === 0) {
          gc()
          peak = Math.max(peak, process.memoryUsage().heapUsed - before)
        }
        emit(doc.n)
      }
      expect((await db.query(sampling, { ...options, key: 5 })).rows).toHaveLength(207)
      expect(mapped).toBe(20_000)
      // Built from all documents read at once (before), the live heap reached 31 MB here, either way.
      expect(peak, JSON.stringify(options)).toBeLessThan(12 * 1024 * 1024)
    }
    await db.close()
  })

})
