import { Session } from 'node:inspector/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { BlockCache } from '../src/blockstore/block-cache.js'
import { encodeBlock, type Block } from '../src/blockstore/block.js'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'

/**
 * Memory that must not grow with the database (issue 14): the block cache bounds the blocks it keeps by their
 * bytes, but a decoded block costs several times its bytes as objects, so a cache full of decoded documents
 * held ~6x `cacheBytes` of live heap (200 MB at the default 32 MiB, paging or bulk-loading 1M documents).
 */
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const DOCS = 60_000

/** A document of short strings, the costliest to hold decoded (13-31 ASCII characters each). */
function doc(i: number) {
  const id = String(i).padStart(7, '0')
  return {
    _id: `doc-${id}`,
    title: `title of document ${id}`,
    owner: `owner-account-${id}`,
    tags: [`first-tag-of-${id}`, `second-tag-of-${id}`, `third-tag-of-${id}`],
    n: i,
  }
}

/** Writes the documents in a database that is unreachable once closed (its cache is not measured). */
async function load(dir: string): Promise<void> {
  const writer = database('scale', { dir, compactEvery: 0 })
  for (let i = 0; i < DOCS; i += 5000) await writer.bulk(Array.from({ length: 5000 }, (_, k) => doc(i + k)))
  await writer.close()
}

const CACHE = 4 * 1024 * 1024

describe('memory at scale', () => {
  it('pages through a database larger than its cache with the decoded blocks bounded, and reads every document', async () => {
    const dir = tempDir()
    await load(dir)
    const db = database('scale', { dir, cacheBytes: CACHE })
    await db.get('doc-0000000')
    const before = heapAfterGc()
    let seen = 0
    let after: string | undefined
    for (;;) {
      const page = await db.allDocs({ limit: 1000, ...(after ? { after } : {}) })
      if (page.rows.length === 0) break
      for (const row of page.rows) expect(row.value).toEqual(doc(seen++))
      after = page.rows.at(-1)!.key
    }
    expect(seen).toBe(DOCS)
    const grown = heapAfterGc() - before
    // With every cached block decoded (4 MiB of bytes), the heap grew by 20 MB here; 7 MB with the decoded share.
    expect(grown).toBeLessThan(3 * CACHE)
    // Blocks whose decoded value the cache dropped read back the same (decoded again from verified bytes).
    for (const i of [0, 1234, 33_333, DOCS - 1]) expect(await db.get(doc(i)._id)).toMatchObject(doc(i))
    await db.close()
  })

  it('bulk-loads in transactions with the blocks it wrote bounded by the cache', async () => {
    const dir = tempDir()
    const db = database('load', { dir, cacheBytes: CACHE, compactEvery: 0 })
    await db.bulk(Array.from({ length: 1000 }, (_, k) => doc(k)))
    const before = heapAfterGc()
    for (let i = 1000; i < DOCS; i += 1000) await db.bulk(Array.from({ length: 1000 }, (_, k) => doc(i + k)))
    const grown = heapAfterGc() - before
    // Written blocks kept decoded (the writer's objects) until evicted: 17 MB here; 5 MB with the decoded share.
    expect(grown).toBeLessThan(3 * CACHE)
    for (const i of [0, 999, 30_000, DOCS - 1]) expect(await db.get(doc(i)._id)).toMatchObject(doc(i))
    await db.close()
  })

  it('a long-running writer of single puts keeps little per put: what each file names is remembered for recent files only', async () => {
    const dir = tempDir()
    // A small cache, full before the measure: the cache is bounded, what else is kept is measured.
    const db = database('long-writer', { dir, durability: 'process', cacheBytes: 256 * 1024 })
    const put = (i: number) => db.put({ _id: `doc-${i % 500}`, n: i, body: 'x'.repeat(80) })
    for (let i = 0; i < 6000; i++) await put(i)
    const before = heapAfterGc()
    const PUTS = 24_000
    for (let i = 6000; i < 6000 + PUTS; i++) await put(i)
    const perPut = (heapAfterGc() - before) / PUTS
    // Still linear, ~410-450 B a put: every block's location and the file's name (two CID strings and their
    // entries, in the store's locations, its loaded files and the compaction's deleted ones), so that a state
    // merged after a compaction can find and restore the files it deleted. Before, each file's references and
    // an array per location were kept too: ~550 B a put here, 760 MB RSS after 300k puts to 1 000 docs.
    expect(perPut).toBeLessThan(500)
    expect((await db.allDocs()).rows).toHaveLength(500)
    expect((await db.get('doc-499')).n).toBe(6000 + PUTS - 1)
    await db.close()
  }, 120_000)

  it('a cache of small blocks is bounded by what they take in memory, not by their bytes alone', async () => {
    // 20 000 blocks of ~60 B (1.2 MB of bytes) through a 1 MiB cache: counting bytes alone it kept nearly all of
    // them, ~12 MB of heap; each entry's objects count too, so what stays is a few MB.
    const cache = new BlockCache(1024 * 1024, () => {})
    heapAfterGc()
    const before = heapAfterGc()
    for (let i = 0; i < 20_000; i++) {
      const block = await encodeBlock({ i, text: `small block ${i}` })
      cache.addBlock(block.cid.toString(), block, `file-${i}`)
    }
    const grown = heapAfterGc() - before
    expect(cache.stats().blocks).toBeLessThan(5000)
    expect(grown).toBeLessThan(3 * 1024 * 1024)
  })

  it('keeps a block read from a file without keeping the rest of the file', async () => {
    const blocks = await Promise.all(Array.from({ length: 8 }, (_, i) => encodeBlock({ i, text: `block ${i}` })))
    const cache = new BlockCache(1024 * 1024, () => {})
    const plaintext = fileRead(cache, blocks)
    await new Promise((resolve) => setTimeout(resolve, 10))
    heapAfterGc()
    expect(plaintext.deref()).toBeUndefined()
    for (const block of blocks) expect((await cache.read(block.cid.toString()))?.value).toEqual(block.value)
  })
  it('compacts a database many times its cache copying its leaves by their bytes, not decoding them', async () => {
    // A compaction walks every leaf of the database. Decoding them all (each a few times its bytes as objects)
    // was a third of what a 100 000-document bulk load allocated and most of its peak heap: 123 MB allocated
    // compacting these 9.5 MB, 36 MB copying leaves by their bytes (isLinklessLeaf).
    const dir = tempDir()
    await load(dir)
    const db = database('scale', { dir, cacheBytes: CACHE, compactEvery: 0 })
    await db.get('doc-0000000')
    const bytes = (await db.info()).files.bytes
    const session = new Session()
    session.connect()
    await session.post('HeapProfiler.enable')
    await session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    await db.compact()
    const { profile } = await session.post('HeapProfiler.stopSampling')
    session.disconnect()
    type Node = { selfSize: number; children: Node[] }
    const allocated = (node: Node): number => node.children.reduce((sum, child) => sum + allocated(child), node.selfSize)
    expect(allocated(profile.head as Node)).toBeLessThan(6 * bytes)
    for (const i of [0, 1234, 33_333, DOCS - 1]) expect(await db.get(doc(i)._id)).toEqual(doc(i))
    await db.close()
  })
})

/**
 * Caches `blocks` as a file read does: views into the file's plaintext (1 MiB, the blocks at the front; views
 * kept all of it alive while any one of them was cached unread, a 256 KiB compaction file for a 4 KiB block).
 * Synchronous, so no suspended frame keeps a view. Returns a weak reference to the plaintext.
 */
function fileRead(cache: BlockCache, blocks: Block[]): WeakRef<ArrayBufferLike> {
  const plaintext = new Uint8Array(1024 * 1024)
  let at = 0
  for (const { cid, bytes } of blocks) {
    plaintext.set(bytes, at)
    cache.addRaw(cid.toString(), { cid, bytes: plaintext.subarray(at, at + bytes.length) }, 'file')
    at += bytes.length
  }
  cache.trim('file')
  return new WeakRef(plaintext.buffer)
}
